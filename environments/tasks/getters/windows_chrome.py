"""WindowsAgentArena's versions of two Chrome getters (its getters/chrome.py), which read Chrome's
profile on the guest by the guest's platform: enabled chrome://flags experiments and enhanced safe
browsing."""

from __future__ import annotations

from pydantic import JsonValue

from environments.tasks.context import TaskContext
from environments.tasks.getters.windows_controller import WaaGetterError, controller, harness_machine
from environments.tasks.getters.windows_edge import HOME, LOCAL_APP_DATA, UNREADABLE, parsed
from environments.tasks.parameters import NoParams
from environments.tasks.registry import getter


@getter("enabled_experiments")
def get_enabled_experiments(context: TaskContext, _params: NoParams) -> JsonValue:
    """`browser.enabled_labs_experiments` of Chrome's Local State ([] when unset or unreadable)."""
    vm = controller(context, "enabled_experiments")
    system = vm.platform()
    if system == "Windows":
        query = LOCAL_APP_DATA.format("Google/Chrome/User Data/Local State")
    elif system == "Darwin":
        query = HOME.format("Library/Application Support/Google/Chrome/Local State")
    elif system == "Linux" and "arm" not in harness_machine():
        query = HOME.format(".config/google-chrome/Local State")
    else:
        raise WaaGetterError(f"enabled_experiments: unsupported guest {system!r} (or an ARM host)")
    content = vm.file(vm.printed_path(query))
    try:
        return parsed(content).get("browser", {}).get("enabled_labs_experiments", [])  # type: ignore[union-attr]
    except UNREADABLE:
        return []


@getter("enable_enhanced_safety_browsing")
def get_enable_enhanced_safety_browsing(context: TaskContext, _params: NoParams) -> str:
    """"true" when Chrome's enhanced safe browsing is on, else "false"; "Google" when Preferences cannot
    be read (WAA's fallback, kept as it is)."""
    vm = controller(context, "enable_enhanced_safety_browsing")
    system = vm.platform()
    if system == "Windows":
        query = LOCAL_APP_DATA.format("Google/Chrome/User Data/Default/Preferences")
    elif system == "Darwin":
        query = HOME.format("Library/Application Support/Google/Chrome/Default/Preferences")
    elif system == "Linux":
        folder = "snap/chromium/common/chromium" if "arm" in harness_machine() else ".config/google-chrome"
        query = HOME.format(f"{folder}/Default/Preferences")
    else:
        raise WaaGetterError(f"enable_enhanced_safety_browsing: unsupported guest {system!r}")
    content = vm.file(vm.printed_path(query))
    try:
        return "true" if parsed(content).get("safebrowsing", {}).get("enhanced", {}) else "false"  # type: ignore[union-attr]
    except UNREADABLE:
        return "Google"
