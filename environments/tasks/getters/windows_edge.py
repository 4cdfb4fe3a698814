"""WindowsAgentArena's Microsoft Edge getters (its getters/edge.py and msedge.py): settings read from
Edge's profile files on the VM, with WAA's fallback values when a file is missing or unreadable.

Most ask the guest's platform first, as WAA's do (`env.vm_platform`), then the profile file's path
(Python on the guest prints it), then the file. Errors while reading the file give the getter's fallback,
as in WAA; errors before it (no platform, no path) raise, as in WAA.
"""

from __future__ import annotations

import json
import posixpath
import sqlite3
from typing import Any

from pydantic import JsonValue

from environments.tasks.context import TaskContext
from environments.tasks.errors import SetupError
from environments.tasks.getters.desktop import in_cache
from environments.tasks.getters.windows_controller import (
    WaaController, WaaGetterError, controller, harness_machine,
)
from environments.tasks.getters.windows_params import EdgeCookieParams
from environments.tasks.getters.params import DestParams
from environments.tasks.parameters import NoParams
from environments.tasks.registry import getter

LOCAL_APP_DATA = "import os; print(os.path.join(os.getenv('LOCALAPPDATA'), '{}'))"
HOME = "import os; print(os.path.join(os.getenv('HOME'), '{}'))"
PREFERENCES = LOCAL_APP_DATA.format("Microsoft/Edge/User Data/Default/Preferences")
SEARCH_ENGINES = {
    "485bf7d3-0215-45af-87dc-538868000001": "Bing",
    "485bf7d3-0215-45af-87dc-538868000002": "Yahoo!",
    "485bf7d3-0215-45af-87dc-538868000003": "Google",
    "485bf7d3-0215-45af-87dc-538868000092": "DuckDuckGo",
    "485bf7d3-0215-45af-87dc-538868000015": "Yandex",
}
"""Edge's built-in search providers by `synced_guid`."""
AUTO_DELETE = {"browsing_history": True, "cache": True, "cookies": True, "download_history": True,
               "form_data": True, "hosted_apps_data": False, "passwords": True, "site_settings": True}
"""`browser.clear_data_on_exit` when the task's choice of data is cleared on exit."""
EDGE_HISTORY = {
    "Windows": "import os; print(os.path.join(os.getenv('USERPROFILE'), \"AppData\", \"Local\", "
               '"Microsoft", "Edge", "User Data", "Default", "History"))',
    "Darwin": "import os; print(os.path.join(os.getenv('HOME'), \"Library\", \"Application Support\", "
              '"Microsoft", "Edge", "Default", "History"))',
    "Linux": "import os; print(os.path.join(os.getenv('HOME'), '.config', 'microsoft-edge', 'Default', "
             "'History'))",
}
"""Python that prints where Edge keeps History, by the guest's platform."""
EDGE_HISTORY_CHOWN = "sudo chown -R user:user /home/user/.config/microsoft-edge/Default/History"
"""What WAA runs after uploading Edge's History, whatever the guest (on Windows the shell just fails)."""
DEFAULT_FONT_SIZES = {"default_fixed_font_size": 13, "default_font_size": 16}
UNREADABLE = (TypeError, ValueError, KeyError, AttributeError, sqlite3.Error)
"""What reading a missing (None) or malformed profile file raises; WAA's getters catch any exception."""


def windows_profile_file(vm: WaaController, query: str = PREFERENCES) -> bytes | None:
    """The bytes of the file whose path `query` prints (None when missing), on a Windows guest (WAA
    raises on any other)."""
    system = vm.platform()
    if system != "Windows":
        raise WaaGetterError(f"Unsupported operating system: {system!r}")
    return vm.file(vm.printed_path(query))


def parsed(content: bytes | None) -> Any:
    """`json.loads` as WAA calls it: None raises TypeError, bad text ValueError (the getter catches both)."""
    if content is None:
        raise TypeError("no file")
    return json.loads(content)


@getter("data_delete_automacally_from_edge")
def get_data_delete_automatically_from_edge(context: TaskContext, _params: NoParams) -> float:
    """1.0 when Edge clears exactly the task's kinds of data on exit, else 0.0."""
    content = windows_profile_file(controller(context, "data_delete_automacally_from_edge"))
    try:
        return 1.0 if parsed(content)["browser"].get("clear_data_on_exit", None) == AUTO_DELETE else 0.0
    except UNREADABLE:
        return 0.0


@getter("default_search_engine_from_edge")
def get_default_search_engine_from_edge(context: TaskContext, _params: NoParams) -> str:
    """The name of Edge's default search provider; "Unknown" for any other or an unreadable file."""
    content = windows_profile_file(controller(context, "default_search_engine_from_edge"))
    try:
        guid = parsed(content).get("default_search_provider", {}).get("synced_guid")
        return SEARCH_ENGINES.get(guid) or "Unknown"
    except UNREADABLE:
        return "Unknown"


@getter("edge_font_size")
def get_edge_font_size(context: TaskContext, _params: NoParams) -> JsonValue:
    """`webkit.webprefs` (Edge's font sizes); Edge's defaults when not set or unreadable."""
    content = windows_profile_file(controller(context, "edge_font_size"))
    try:
        return parsed(content).get("webkit", {}).get("webprefs", dict(DEFAULT_FONT_SIZES))
    except UNREADABLE:
        return dict(DEFAULT_FONT_SIZES)


@getter("enable_enhanced_safety_browsing_from_edge")
def get_enable_enhanced_safety_browsing_from_edge(context: TaskContext, _params: NoParams) -> float:
    """1.0 when Edge's enhanced security mode (`edge.super_duper_secure_mode.enabled`) is on, else 0.0."""
    content = windows_profile_file(controller(context, "enable_enhanced_safety_browsing_from_edge"))
    try:
        return 1.0 if parsed(content)["edge"]["super_duper_secure_mode"]["enabled"] else 0.0
    except UNREADABLE:
        return 0.0


@getter("enable_do_not_track_from_edge")
def get_enable_do_not_track_from_edge(context: TaskContext, _params: NoParams) -> float:
    content = windows_profile_file(controller(context, "enable_do_not_track_from_edge"))
    try:
        return 1.0 if parsed(content).get("enable_do_not_track", {}) else 0.0
    except UNREADABLE:
        return 0.0


@getter("profile_name_from_edge")
def get_profile_name_from_edge(context: TaskContext, _params: NoParams) -> JsonValue:
    content = windows_profile_file(controller(context, "profile_name_from_edge"))
    try:
        return parsed(content).get("profile", {}).get("name", None)
    except UNREADABLE:
        return None


def _profile_path(vm: WaaController, system: str, windows: str, darwin: str, linux: str) -> str:
    """The profile file's path by the guest's platform, as WAA's getters that know three platforms find it."""
    if system == "Windows":
        return vm.printed_path(windows)
    if system == "Darwin":
        return vm.printed_path(darwin)
    if system == "Linux":
        if "arm" in harness_machine():
            raise WaaGetterError("WAA's getter does not support an ARM host for a Linux guest")
        return vm.printed_path(linux)
    raise WaaGetterError(f"Unsupported operating system: {system!r}")


@getter("favorites")
def get_favorites(context: TaskContext, _params: NoParams) -> JsonValue:
    """The `roots` of Edge's Bookmarks ([] when there is no file; malformed JSON raises, as in WAA)."""
    vm = controller(context, "favorites")
    path = _profile_path(vm, vm.platform(),
                         LOCAL_APP_DATA.format("Microsoft/Edge/User Data/Default/Bookmarks"),
                         HOME.format("Library/Application Support/Microsoft Edge/Default/Bookmarks"),
                         HOME.format(".config/microsoft-edge/Default/Bookmarks"))
    content = vm.file(path)
    if not content:
        return []
    try:
        return json.loads(content).get("roots", {})
    except (ValueError, AttributeError) as err:
        raise WaaGetterError(f"favorites: {path}: {err}") from None


def _rows(context: TaskContext, content: bytes | None, dest: str, query: str) -> list[tuple[Any, ...]] | None:
    """`query`'s rows on the SQLite file written to the cache as `dest`; None when it cannot be read."""
    try:
        if content is None:
            raise TypeError("no file")
        target = in_cache(context, dest)
        target.write_bytes(content)
        with sqlite3.connect(target) as connection:
            rows = connection.execute(query).fetchall()
        connection.close()
    except UNREADABLE:
        return None
    return rows


@getter("history_for_edge", DestParams)
def get_history_for_edge(context: TaskContext, params: DestParams) -> list[tuple[Any, ...]] | None:
    """(url, title, last_visit_time) of every URL in Edge's History; None when it cannot be read."""
    vm = controller(context, "history_for_edge")
    path = _profile_path(vm, vm.platform(), *EDGE_HISTORY.values())
    return _rows(context, vm.file(path), params.dest, "SELECT url, title, last_visit_time FROM urls")


@getter("cookie_data_for_edge", EdgeCookieParams)
def get_cookie_data_for_edge(context: TaskContext, params: EdgeCookieParams) -> list[tuple[Any, ...]] | None:
    """Every row of Edge's Cookies database, after stopping Edge (which locks it); None when unreadable.

    With `user_data_dir` that profile folder is read instead (no backslash or quote allowed in it)."""
    vm = controller(context, "cookie_data_for_edge")
    system = vm.platform()
    if "user_data_dir" in params.model_fields_set:
        folder = params.user_data_dir
        if folder is None or "\\" in folder or "'" in folder:
            raise WaaGetterError("user_data_dir must be text without backslashes or single quotes")
        path = vm.printed_path(f"import os; print(os.path.join(os.path.expandvars('{folder}'), "
                               "'Default/Network/Cookies'))")
    else:
        path = _profile_path(vm, system,
                             LOCAL_APP_DATA.format("Microsoft/Edge/User Data/Default/Network/Cookies"),
                             HOME.format("Library/Application Support/Microsoft/Edge/Default/Cookies"),
                             HOME.format(".config/microsoft-edge/Default/Cookies"))
    stopped = vm.python("import os; os.system('taskkill /F /IM msedge.exe /T')")
    if stopped is None or stopped.output is None:  # WAA reads its output inside the getter's try
        return None
    return _rows(context, vm.file(path), params.dest, "SELECT * FROM cookies")


@getter("url_shortcuts_on_desktop")
def get_url_shortcuts_on_desktop(context: TaskContext, _params: NoParams) -> dict[str, str] | list[Any]:
    """Name → text of every `.url` file on the Desktop ([] on a guest that is not Windows)."""
    vm = controller(context, "url_shortcuts_on_desktop")
    if vm.platform() != "Windows":
        return []
    desktop = vm.desktop_path()
    tree = vm.directory_tree(desktop)  # type: ignore[arg-type]  # sent even without a path, as WAA does
    if desktop is None or not isinstance(tree, dict):
        raise WaaGetterError("url_shortcuts_on_desktop: the VM server gave no Desktop folder")
    shortcuts: dict[str, str] = {}
    try:
        names = [entry["name"] for entry in tree["children"] if entry["name"].endswith(".url")]  # type: ignore[index,union-attr]
        for name in names:
            content = vm.file(posixpath.join(desktop, name))
            if content is None:
                raise WaaGetterError(f"url_shortcuts_on_desktop: {name} could not be read")
            shortcuts[name] = content.decode("utf-8")
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
        raise WaaGetterError(f"url_shortcuts_on_desktop: {err!r}") from None
    return shortcuts


@getter("edge_home_page")
def get_edge_home_page(context: TaskContext, _params: NoParams) -> JsonValue:
    """Edge's home page without scheme and slashes (from Secure Preferences); "False" when none is set,
    "error" when the file cannot be read. WAA asks no platform here."""
    vm = controller(context, "edge_home_page")
    secure = LOCAL_APP_DATA.format("Microsoft/Edge/User Data/Default/Secure Preferences")
    content = vm.file(vm.printed_path(secure))
    try:
        home = parsed(content).get("homepage", {})
        if home:
            return home.replace("https://", "").replace("http://", "").replace("/", "")
    except UNREADABLE:
        return "error"
    return "False"


@getter("validate_pwa_installed")
def get_validate_pwa_installed(context: TaskContext, _params: NoParams) -> str:
    """"app_installed" when an Appx package's name contains "pwabuilder"; "app_not_installed" when none
    does; "error" when the package list cannot be read."""
    answer = controller(context, "validate_pwa_installed").installed_apps()
    try:
        if answer is None:
            raise TypeError("no answer")
        if answer.output:
            packages = json.loads(answer.output)
            if [package for package in packages if "pwabuilder" in package["Name"].lower()]:
                return "app_installed"
    except UNREADABLE:
        return "error"
    return "app_not_installed"


@getter("edge_default_download_folder")
def get_edge_default_download_folder(context: TaskContext, _params: NoParams) -> JsonValue:
    """Edge's download folder; "False" when not set, "error" when Preferences cannot be read."""
    vm = controller(context, "edge_default_download_folder")
    content = vm.file(vm.printed_path(PREFERENCES))
    try:
        folder = parsed(content).get("download", {}).get("default_directory", {})
        if folder:
            return folder
    except UNREADABLE:
        return "error"
    return "False"


def replace_edge_history(vm: WaaController, database: bytes) -> None:
    """WAA's `update_browse_history_edge` on the VM: find Edge's History by the guest's platform, upload
    `database` over it, then run WAA's `sudo chown` line. Raises `SetupError` where a step fails."""
    try:
        system = vm.platform()
        if system not in EDGE_HISTORY:
            raise SetupError(f"update_browse_history_edge: unsupported guest {system!r}")
        path = vm.printed_path(EDGE_HISTORY[system])
        try:
            vm.client.upload(path, database)
        finally:  # WAA logs a refused upload and still runs its chown line
            vm.client.execute([EDGE_HISTORY_CHOWN], shell=True)
    except SetupError:
        raise
    except RuntimeError as err:  # the VM's errors (VMError) and WAA's (WaaGetterError) alike
        raise SetupError(f"update_browse_history_edge: {err}") from err
