"""WindowsAgentArena's client controller as its getters use it: the request each call sends to WAA's
server, and the value it makes of the answer.

WAA's getters call `env.controller.<method>` (desktop_env/controllers/python.py); each method sends
one request and turns the answer into a value: a status other than 200 into None or False, a command's
JSON as it came. The getters in `windows_*.py` call `WaaController` instead, over our `VMClient`, so a
WAA task sends what WAA's harness sends, through the same routes, and reads the answers alike.

Two deliberate differences: no answer at all (`VMUnreachable`) is raised, not turned into WAA's None,
as an unreachable VM is an infrastructure error rather than a state of the task; and a route the server
cannot serve on its platform (`VMUnsupported`: our Linux server and the Windows Explorer checks) raises
`UnsupportedError`, since no answer there says anything about the task.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import JsonValue

from environments.remote.client import VMClient, VMProtocolError, VMUnsupported
from environments.tasks.context import TaskContext
from environments.tasks.errors import UnsupportedError

PYTHON_PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "
"""What WAA's controller puts before every Python command it runs through `/execute`."""
PLATFORM_QUERY = "import platform; print(platform.system())"
"""WAA's `env.vm_platform`, asked again each time a getter reads it."""

T = TypeVar("T")


class WaaGetterError(RuntimeError):
    """WAA's getter raises at this point (its harness then scores the task 0); the message says why."""


@dataclass(frozen=True)
class CommandAnswer:
    """The JSON `/execute` answered with: `output` is None when the server reported an error instead."""

    status: str | None
    output: str | None
    returncode: int | None = None

    def text(self, what: str) -> str:
        """The command's standard output, where WAA's getter reads `answer['output']` (raising if none)."""
        if self.output is None:
            raise WaaGetterError(f"{what}: the VM answered the command with an error ({self.status})")
        return self.output


def output_of(answer: CommandAnswer | None, what: str) -> str:
    """`answer['output']` as WAA's getters read it: raises when the command got no usable answer."""
    if answer is None:
        raise WaaGetterError(f"{what}: the VM's answer to the command was not JSON")
    return answer.text(what)


def controller(context: TaskContext, getter_name: str) -> WaaController:
    """The controller of the task's VM, or `UnsupportedError` on a machine that is not a VM server."""
    client = getattr(context.machine, "client", None)
    if not isinstance(client, VMClient):
        raise UnsupportedError(f"getter {getter_name!r} reads WindowsAgentArena's VM server (Windows state); "
                               "this task runs on the local machine, where it has no meaning")
    return WaaController(client)


def harness_machine() -> str:
    """The machine type of the host running the harness: WAA's Edge and Chrome getters refuse an ARM host
    ("arm" in it) for a Linux guest."""
    return platform.machine()


@dataclass
class WaaController:
    """The subset of WAA's `PythonController` that its getters call, one method per controller method."""

    client: VMClient

    def _answer(self, call: Callable[[], T], route: str, otherwise: T) -> T:
        """`call()`'s value, or WAA's value for a non-200 answer (`otherwise`)."""
        try:
            return call()
        except VMUnsupported as err:
            raise UnsupportedError(f"{route}: this VM server cannot answer it ({err})") from None
        except VMProtocolError:
            return otherwise

    def python(self, command: str) -> CommandAnswer | None:
        """`execute_python_command`: `python -c` with WAA's prefix through `/execute`. A 500 is the server's
        error JSON (no output); an answer that is not JSON is None."""
        argv = ["python", "-c", PYTHON_PREFIX + command]
        try:
            result = self.client.execute(argv, shell=False, route="/execute")
        except VMUnsupported as err:
            raise UnsupportedError(f"/execute: this VM server cannot run it ({err})") from None
        except VMProtocolError as err:
            return None if err.status is None else CommandAnswer("error", None)
        return CommandAnswer(result.status, result.output, result.returncode)

    def shell(self, command: str) -> CommandAnswer | None:
        """`execute_shell_command`: a command line through `/execute`; None for any answer but 200.

        WAA's controller leaves `shell` out of the body; its server reads that as false, which is sent."""
        def run() -> CommandAnswer | None:
            result = self.client.execute(command, shell=False, route="/execute")
            return CommandAnswer(result.status, result.output, result.returncode)

        return self._answer(run, "/execute", None)

    def registry_value(self, key: str, name: str) -> CommandAnswer | None:
        """`get_registry_key`: PowerShell's Get-ItemPropertyValue."""
        return self.shell(f"powershell -Command \"Get-ItemPropertyValue -Path '{key}' -Name '{name}'\"")

    def installed_apps(self) -> CommandAnswer | None:
        """`get_all_installed_apps`: the Appx packages as JSON."""
        return self.shell(
            "powershell -Command \"Get-AppxPackage | Select-Object Name,PackageFullName | ConvertTo-Json\"")

    def platform(self) -> str:
        """`env.vm_platform`: the guest's `platform.system()`; raises, as WAA's does, without output."""
        return output_of(self.python(PLATFORM_QUERY), "vm_platform").strip()

    def printed_path(self, command: str) -> str:
        """A path a Python command prints (WAA's getters find profile files so); raises without output."""
        return output_of(self.python(command), "locating a file on the VM").strip()

    def file(self, path: str) -> bytes | None:
        """`get_file`: the file's bytes; None for any answer but 200."""
        return self._answer(lambda: self.client.file(path), "/file", None)

    def file_text(self, path: str) -> str | None:
        """`get_file_as_text`. WAA's server sends text files as UTF-8 (Flask's `text/*; charset=utf-8`),
        which requests decodes with replacement characters for bad bytes."""
        data = self.file(path)
        return None if data is None else data.decode("utf-8", errors="replace")

    def desktop_path(self) -> str | None:
        return self._answer(self.client.desktop_path, "/desktop_path", None)

    def documents_path(self) -> str | None:
        return self._answer(self.client.documents_path, "/documents_path", None)

    def directory_tree(self, path: str) -> JsonValue:
        """`get_vm_directory_tree`: `/list_directory`'s tree; None for any answer but 200."""
        return self._answer(lambda: self.client.list_directory(path), "/list_directory", None)

    def file_exists(self, file_name: str, path: str | None) -> bool:
        """`get_vm_file_exists_in_path`; a missing path is sent as null, as WAA's controller sends None."""
        return self._answer(lambda: self.client.file_exists(file_name, path), "/file_exists", False)  # type: ignore[arg-type]

    def folder_exists(self, folder_name: str, path: str | None) -> bool:
        return self._answer(lambda: self.client.folder_exists(folder_name, path),  # type: ignore[arg-type]
                            "/folder_exists", False)

    def are_files_sorted_by_modified_time(self, directory: str) -> bool:
        return self._answer(lambda: self.client.are_files_sorted_by_modified_time(directory),
                            "/are_files_sorted_by_modified_time", False)

    def is_details_view(self, path: str) -> bool:
        return self._answer(lambda: self.client.is_details_view(path), "/is_details_view", False)

    def is_directory_read_only_for_user(self, directory: JsonValue, user: JsonValue) -> bool:
        return self._answer(lambda: self.client.is_directory_read_only_for_user(directory, user),  # type: ignore[arg-type]
                            "/is_directory_read_only_for_user", False)

    def are_all_images_tagged(self, directory: JsonValue, tag: JsonValue) -> bool:
        return self._answer(lambda: self.client.are_all_images_tagged(directory, tag),  # type: ignore[arg-type]
                            "/are_all_images_tagged", False)

    def library_folders(self, library_name: str) -> JsonValue:
        return self._answer(lambda: self.client.library_folders(library_name), "/library_folders", None)

    def timer_started(self, hours: JsonValue, minutes: JsonValue, seconds: JsonValue) -> str:
        """`get_vm_check_if_timer_started`: the text "True" or "False"."""
        started = self._answer(lambda: self.client.check_if_timer_started(hours, minutes, seconds),  # type: ignore[arg-type]
                               "/check_if_timer_started", False)
        return str(started)

    def world_clock_exists(self, city: JsonValue, country: JsonValue) -> str:
        exists = self._answer(lambda: self.client.check_if_world_clock_exists(city, country),  # type: ignore[arg-type]
                              "/check_if_world_clock_exists", False)
        return str(exists)
