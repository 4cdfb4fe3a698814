"""Getters that read Chrome's profile files on the machine: Preferences, Bookmarks, History, Cookies.

OSWorld reads `~/.config/google-chrome/Default/…` in its VM. Here Chrome may be Chromium (the
local machine maps `google-chrome` to it, with the profile in `~/.config/chromium`), so the first
profile folder that holds the file is read. Fallback values when a file is missing or unreadable
are OSWorld's, including its odd ones ("Google" from getters that return "true"/"false").
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from environments.tasks.context import TaskContext
from environments.tasks.getters.desktop import home_of, in_cache
from environments.tasks.getters.params import DestParams
from environments.tasks.parameters import NoParams
from environments.tasks.registry import getter

PROFILE_DIRS = (".config/google-chrome", ".config/chromium", "snap/chromium/common/chromium")
"""Chrome's user-data folders under the home folder, in the order they are tried."""
DEFAULT_WEBPREFS = {"default_fixed_font_size": 13, "default_font_size": 16, "minimum_font_size": 13}


def profile_file(context: TaskContext, name: str) -> bytes | None:
    """The bytes of `name` (e.g. "Default/Preferences") from the first profile folder that has it."""
    home = home_of(context)
    for folder in PROFILE_DIRS:
        data = context.machine.read_file(f"{home}/{folder}/{name}")
        if data is not None:
            return data
    return None


def preferences(context: TaskContext) -> dict[str, Any] | None:
    """The default profile's Preferences as JSON, or None when missing or not JSON."""
    data = profile_file(context, "Default/Preferences")
    if data is None:
        return None
    try:
        found = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return found if isinstance(found, dict) else None


def _flag(value: object) -> str:
    return "true" if value else "false"


@getter("default_search_engine")
def get_default_search_engine(context: TaskContext, _params: NoParams) -> str:
    """The default search provider's short name ("Google" when none is set)."""
    prefs = preferences(context) or {}
    provider = prefs.get("default_search_provider_data", {}).get("template_url_data", {})
    return provider.get("short_name", "Google")


@getter("profile_name")
def get_profile_name(context: TaskContext, _params: NoParams) -> str | None:
    return (preferences(context) or {}).get("profile", {}).get("name")


@getter("chrome_font_size")
def get_chrome_font_size(context: TaskContext, _params: NoParams) -> dict[str, Any]:
    """`webkit.webprefs` (font sizes), Chrome's defaults when not set."""
    prefs = preferences(context)
    if prefs is None:
        return {"default_fixed_font_size": 13, "default_font_size": 16}
    return prefs.get("webkit", {}).get("webprefs", dict(DEFAULT_WEBPREFS))


@getter("enable_do_not_track")
def get_enable_do_not_track(context: TaskContext, _params: NoParams) -> str:
    return _flag((preferences(context) or {}).get("enable_do_not_track"))


@getter("enable_safe_browsing")
def get_enable_safe_browsing(context: TaskContext, _params: NoParams) -> str:
    """"true" when standard or enhanced safe browsing is on."""
    safe = (preferences(context) or {}).get("safebrowsing", {})
    return _flag(safe.get("enhanced") or safe.get("enabled"))


@getter("new_startup_page")
def get_new_startup_page(context: TaskContext, _params: NoParams) -> str:
    """"true" when Chrome opens the New Tab page at start-up (no `session`, or restore_on_startup 5)."""
    prefs = preferences(context)
    if prefs is None:
        return "Google"
    if "session" not in prefs:
        return "true"
    return _flag(prefs["session"].get("restore_on_startup") == 5)


@getter("data_delete_automacally")
def get_data_delete_automatically(context: TaskContext, _params: NoParams) -> str:
    """"true" when the profile holds content-setting defaults (OSWorld's sign of auto-delete)."""
    prefs = preferences(context)
    if prefs is None or "profile" not in prefs:
        return "Google"
    return _flag(prefs["profile"].get("default_content_setting_values") is not None)


def _extension_settings(context: TaskContext) -> dict[str, Any] | None:
    prefs = preferences(context)
    return None if prefs is None else prefs.get("extensions", {}).get("settings", {})


@getter("find_unpacked_extension_path")
def get_find_unpacked_extension_path(context: TaskContext, _params: NoParams) -> list[str] | str:
    """The folder of every extension the profile knows."""
    settings = _extension_settings(context)
    try:
        return [entry["path"] for entry in settings.values()] if settings is not None else "Google"
    except (KeyError, TypeError):
        return "Google"


@getter("find_installed_extension_name")
def get_find_installed_extension_name(context: TaskContext, _params: NoParams) -> list[str] | str:
    """The manifest name of every extension the profile knows."""
    settings = _extension_settings(context)
    try:
        return "Google" if settings is None else [entry["manifest"]["name"] for entry in settings.values()]
    except (KeyError, TypeError):
        return "Google"


@getter("bookmarks")
def get_bookmarks(context: TaskContext, _params: NoParams) -> dict[str, Any] | list[Any]:
    """The `roots` of the Bookmarks file ([] when there is no file)."""
    data = profile_file(context, "Default/Bookmarks")
    if not data:
        return []
    return json.loads(data).get("roots", {})


@getter("chrome_appearance_mode_ui")
def get_chrome_appearance_mode(context: TaskContext, _params: NoParams) -> str:
    """"light", "dark" or "system", from the theme preferences.

    OSWorld first probes chrome://settings/appearance and falls back to these preferences; the
    preferences are what the settings page writes, so they are read directly."""
    prefs = preferences(context)
    if prefs is None:
        return "system"
    if prefs.get("extensions", {}).get("theme", {}).get("system_theme") in (0, "0", False):
        return "light"
    theme = prefs.get("browser", {}).get("theme", {})
    raw = theme.get("color_scheme2", theme.get("color_scheme"))
    names = {"system": "system", "default": "system", "0": "system", "light": "light", "1": "light",
             "dark": "dark", "2": "dark"}
    if isinstance(raw, bool) or raw is None:
        return "system"
    key = str(int(raw)) if isinstance(raw, (int, float)) else str(raw).strip().lower()
    return names.get(key, "system")


def _sqlite_rows(context: TaskContext, name: str, dest: str, query: str) -> list[tuple[Any, ...]] | None:
    """Rows of `query` on a copy of the profile's SQLite file `name` (None when it cannot be read)."""
    data = profile_file(context, name)
    if data is None:
        return None
    target = in_cache(context, dest)
    target.write_bytes(data)
    try:
        with sqlite3.connect(target) as connection:
            return connection.execute(query).fetchall()
    except sqlite3.Error:
        return None


@getter("cookie_data", DestParams)
def get_cookie_data(context: TaskContext, params: DestParams) -> list[tuple[Any, ...]] | None:
    """Every row of the Cookies database."""
    return _sqlite_rows(context, "Default/Cookies", params.dest, "SELECT * FROM cookies")


@getter("history", DestParams)
def get_history(context: TaskContext, params: DestParams) -> list[tuple[Any, ...]] | None:
    """(url, title, last_visit_time) of every URL in the History database."""
    query = "SELECT url, title, last_visit_time FROM urls"
    return _sqlite_rows(context, "Default/History", params.dest, query)
