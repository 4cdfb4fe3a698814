"""WindowsAgentArena's Settings getters (its getters/settings.py): registry values read with PowerShell,
decoded as WAA decodes them. Most answer text ("True"/"False") that its tasks compare with `exact_match`."""

from __future__ import annotations

import json

from pydantic import JsonValue

from environments.tasks.context import TaskContext
from environments.tasks.getters.windows_controller import CommandAnswer, WaaGetterError, controller
from environments.tasks.parameters import NoParams
from environments.tasks.registry import getter

NIGHT_LIGHT_KEY = (r"HKCU:\Software\Microsoft\Windows\CurrentVersion\CloudStore\Store\DefaultAccount\Current"
                   r"\default$windows.data.bluelightreduction.settings\windows.data.bluelightreduction.settings")
STORAGE_POLICY_KEY = r"HKCU:\Software\Microsoft\Windows\CurrentVersion\StorageSense\Parameters\StoragePolicy"
WALLPAPER_KEY = r"HKCU:Control Panel\Desktop"
NOTIFICATIONS_KEY = r"HKCU:Software\Microsoft\Windows\CurrentVersion\PushNotifications"
TIMEZONE_COMMAND = ("powershell -Command \"Get-TimeZone | Select-Object -Property DisplayName, StandardName "
                    "| ConvertTo-Json\"")


def _answered(answer: CommandAnswer | None, what: str) -> CommandAnswer:
    """The answer where WAA's getter indexes it outside any error handling (None raises there)."""
    if answer is None:
        raise WaaGetterError(f"{what}: the VM did not run the PowerShell command")
    return answer


def clock_text(hour: int, minute: int) -> str:
    """WAA's 12-hour time: noon is "00:00 PM", midnight "00:00 AM"."""
    half = "AM" if hour < 12 else "PM"
    return f"{hour if hour < 12 else hour - 12:02d}:{minute:02d} {half}"


@getter("night_light_state")
def get_night_light_state(context: TaskContext, _params: NoParams) -> JsonValue:
    """[True, start, end] when night light is on with a schedule, [True] on without one, else False.

    PowerShell prints the registry blob one byte a line: byte 24 is 1 when on, byte 28 the start hour
    (202: no schedule); a non-zero byte 29 marks a start minute in byte 30, which shifts the end hour
    from byte 33 to 35; the end minute follows the same way."""
    answer = _answered(controller(context, "night_light_state").registry_value(NIGHT_LIGHT_KEY, "Data"),
                       "night_light_state")
    lines = answer.text("night_light_state").split("\n")
    try:
        if lines[24] != "1":
            return False
        start_hour = int(lines[28])
        if start_hour == 202:
            return [True]
        start_minute = int(lines[30] if lines[29] != "0" else "0")
        end = 33 if start_minute == 0 else 35
        end_hour = int(lines[end])
        end_minute = int(lines[end + 2] if lines[end + 1] != "0" else "0")
    except (IndexError, ValueError) as err:
        raise WaaGetterError(f"night_light_state: unexpected registry value ({err})") from None
    return [True, clock_text(start_hour, start_minute), clock_text(end_hour, end_minute)]


@getter("storage_sense_run_frequency")
def get_storage_sense_run_frequency(context: TaskContext, _params: NoParams) -> str | None:
    """Storage Sense's run frequency (registry value 2048) when it is on (value 01 is exactly "1\\n"),
    else None."""
    vm = controller(context, "storage_sense_run_frequency")
    enabled = _answered(vm.registry_value(STORAGE_POLICY_KEY, "01"), "storage_sense_run_frequency")
    if enabled.status == "success" and enabled.output == "1\n":
        frequency = _answered(vm.registry_value(STORAGE_POLICY_KEY, "2048"), "storage_sense_run_frequency")
        if frequency.status == "success":
            return frequency.text("storage_sense_run_frequency").split("\n")[0]
    return None


@getter("system_timezone")
def get_system_timezone(context: TaskContext, _params: NoParams) -> str:
    """The time zone's display name, e.g. "(UTC-08:00) Pacific Time (US & Canada)"; WAA's texts when
    it cannot be read ("Error getting the timezone") or a name is missing ("Unable to get time zone")."""
    answer = controller(context, "system_timezone").shell(TIMEZONE_COMMAND)
    try:
        data = json.loads(_answered(answer, "system_timezone").text("system_timezone"))
        display, standard = data.get("DisplayName", None), data.get("StandardName", None)
    except (WaaGetterError, ValueError, AttributeError):
        return "Error getting the timezone"
    return display if display and standard else "Unable to get time zone"


@getter("desktop_background")
def get_desktop_background(context: TaskContext, _params: NoParams) -> str:
    """"True" when no wallpaper picture is set (the registry value is empty), else "False"."""
    answer = _answered(controller(context, "desktop_background").registry_value(WALLPAPER_KEY, "WallPaper"),
                       "desktop_background")
    return "True" if answer.text("desktop_background").replace("\n", "") == "" else "False"


@getter("system_notifications")
def get_system_notifications(context: TaskContext, _params: NoParams) -> str | None:
    """"True" when notifications are off (ToastEnabled is 0); "False" when the value is empty or the
    command failed; None for any other value (WAA's getter falls through without a return)."""
    answer = controller(context, "system_notifications").registry_value(NOTIFICATIONS_KEY, "ToastEnabled")
    if answer is None or not answer.output:
        return "False"
    return "True" if answer.output.replace("\n", "") == "0" else None
