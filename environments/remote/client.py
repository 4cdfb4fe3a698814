"""A typed client for the OSWorld / WindowsAgentArena VM-server protocol (see OSWORLD.md).

Every route has a method; every answer is checked. A refused connection, and 502/503/504, are
retried a bounded number of times; a timeout or a broken answer is retried only for routes that
change nothing (an action or a command sent twice could run twice). Then `VMUnreachable` is
raised; an answer that is not what the protocol says (a 500 included) is `VMProtocolError`. A
bearer token is sent when given (our server requires one beyond loopback; OSWorld's ignores it).
KIMI_AGENT_VM_TIMEOUT and KIMI_AGENT_VM_RETRIES change the defaults (60 s, 3 retries).
A route one of the two servers lacks answers 404 there, and a route a server cannot serve on its
platform answers 501: both are `VMUnsupported`, so a caller can tell "not here" from "failed".
Our server adds `/settle` (neither reference server has it).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from environments.settings import VM_RETRIES, VM_TIMEOUT, number_from_env
from environments.tasks.errors import MachineRequestError

if TYPE_CHECKING:
    from actions.models import Action

DEFAULT_TIMEOUT = 60.0
RETRIES = 3
BACKOFF = 0.5
OPEN_FILE_TIMEOUT = 1810.0
"""/setup/open_file: the server waits up to 1800 s for the window (its default, OSWorld's), plus 10 s."""
EXECUTE_WINDOWS_TIMEOUT = 90.0
"""WAA's client waits 90 s for /execute_windows."""
WAA_CHECK_ROUTES = (
    "/file_exists", "/folder_exists", "/is_details_view", "/are_files_sorted_by_modified_time",
    "/is_directory_read_only_for_user", "/are_all_images_tagged", "/check_if_timer_started",
    "/check_if_world_clock_exists", "/library_folders",
)
"""WAA's checks that answer by status code: 200 yes, 400 no (or a missing field)."""
READ_ONLY_POSTS = frozenset({
    "/screen_size", "/file", "/list_directory", "/desktop_path", "/window_size", "/wallpaper",
    "/documents_path", "/settle", *WAA_CHECK_ROUTES,
})
"""POST routes that only read: safe to send again after a timeout."""
ONE_SERVER_ROUTES = frozenset({
    *WAA_CHECK_ROUTES, "/documents_path", "/probe", "/obs_winagent", "/execute_windows", "/update_computer",
    "/save_state", "/revert_to_snapshot", "/setup/create_folder", "/setup/create_file", "/setup/recycle",
    "/setup/close_all", "/setup/clear_task_files", "/run_python", "/run_bash_script",
    "/execute_with_verification", "/settle", "/act",
})
"""Routes only WAA's server (or only OSWorld's, or only ours) has: there a 404 means the route is missing."""
A11yBackend = Literal["uia", "win32"]
"""pywinauto's two backends, which WAA's Windows server reads its tree with (`?backend=`)."""


class VMError(MachineRequestError):
    """The VM server could not do what was asked."""


class VMUnreachable(VMError):
    """No answer from the VM server after the allowed retries."""


class VMProtocolError(VMError):
    """The VM server answered with an error status or a body the protocol does not allow."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VMUnsupported(VMProtocolError):
    """The server has no such route (404 where only the other server has it) or cannot serve it on
    its platform (501): e.g. OSWorld's server and WAA's checks, or our Linux server and Windows routes."""


class ExecuteResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = "success"
    output: str = ""
    error: str = ""
    returncode: int = 0


class ScreenSize(BaseModel):
    width: int
    height: int


class ServerSettled(BaseModel):
    """Our server's /settle: how long it waited, how often it looked at the desktop, whether the
    applications were idle at the end (else the cap was reached) and whether the screen changed."""

    model_config = ConfigDict(frozen=True)
    seconds: float
    looks: int
    idle: bool
    changed: bool


class WinAgentObservation(BaseModel):
    """WAA's `/obs_winagent`: the active window's picture and title, its rectangle on the screen
    (x0, y0, x1, y1), the open windows' names one a line, the clipboard text its `computer` object
    holds (None until `/update_computer` gives one) and the last human question and answer."""

    image: bytes
    window_title: str
    rect: tuple[int, int, int, int]
    window_names_str: str
    computer_clipboard: str | None = None
    human_input: str | None = None


class VMClient:
    """One VM server at `base_url` (e.g. http://192.168.1.5:5000); None settings come from the environment."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float | None = None,
                 retries: int | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries if retries is not None else int(number_from_env(VM_RETRIES, RETRIES, int))
        timeout = timeout if timeout is not None else number_from_env(VM_TIMEOUT, DEFAULT_TIMEOUT)
        self.timeout = timeout
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, route: str, ok_statuses: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        last: Exception | None = None
        repeatable = method == "GET" or route in READ_ONLY_POSTS
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, route, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as err:  # nothing was sent: always safe to retry
                last = err
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as err:
                if not repeatable:
                    raise VMUnreachable(
                        f"{self.base_url}{route}: no answer ({type(err).__name__}, timeout {self.timeout:g} s); "
                        "not sent again, as it may have run; is the VM server alive?"
                    ) from err
                last = err
            else:
                if response.status_code in ok_statuses:
                    return response
                # 503: the server (or a proxy) refused before running anything; a 502/504 from a proxy
                # may come after the VM ran the request, so only a repeatable one is sent again.
                retry = response.status_code == 503 or (response.status_code in (502, 504) and repeatable)
                if retry and attempt < self.retries:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                status = response.status_code
                unsupported = status == 501 or (status == 404 and route in ONE_SERVER_ROUTES)
                raise (VMUnsupported if unsupported else VMProtocolError)(
                    f"{method} {route}: HTTP {status}: {_message(response)}", status)
            if attempt < self.retries:
                time.sleep(BACKOFF * 2**attempt)
        raise VMUnreachable(
            f"{self.base_url}{route}: no answer after {self.retries + 1} attempts ({type(last).__name__}: {last}); "
            "is the VM server running and reachable?"
        )

    def _json(self, method: str, route: str, model: type[BaseModel] | None = None, **kwargs: Any) -> Any:
        response = self._request(method, route, **kwargs)
        try:
            data = response.json()
            return model.model_validate(data) if model else data
        except (json.JSONDecodeError, ValidationError) as err:
            raise VMProtocolError(f"{method} {route}: unexpected answer: {err}") from None

    # --- observation -------------------------------------------------------------------------
    def screenshot(self) -> bytes:
        """PNG of the whole screen."""
        data = self._request("GET", "/screenshot").content
        if not data.startswith(b"\x89PNG"):
            raise VMProtocolError("GET /screenshot: the answer is not a PNG")
        return data

    def screen_size(self) -> ScreenSize:
        return self._json("POST", "/screen_size", ScreenSize)

    def settle(self, max_seconds: float) -> ServerSettled:
        """Wait until the VM's applications are idle, at most `max_seconds` (up to 20); our server only:
        OSWorld's and WAA's servers lack the route, and ours cannot watch a display without DAMAGE,
        both `VMUnsupported`. The request may take the usual timeout on top of the wait: the first one
        opens the server's watcher, which took 6 s in a guest under TCG."""
        return self._json("POST", "/settle", ServerSettled, json={"max_seconds": max_seconds},
                          timeout=self.timeout + max_seconds)

    def platform(self) -> str:
        return self._request("GET", "/platform").text.strip()

    def cursor_position(self) -> tuple[int, int]:
        x, y = self._json("GET", "/cursor_position")
        return int(x), int(y)

    def accessibility(self, backend: A11yBackend | None = None) -> str | None:
        """The accessibility tree as XML. `backend` is what WAA's getters ask a Windows server for
        (pywinauto's `uia` or `win32`); a Linux server gives its AT-SPI tree whatever the backend."""
        params = {"backend": backend} if backend else None
        return self._json("GET", "/accessibility", params=params).get("AT")

    def terminal(self) -> str | None:
        """The focused terminal's text; None when none is focused, or when the server answers 500 (it
        could not read the desktop), as OSWorld's client gives None for any failed read."""
        response = self._request("GET", "/terminal", ok_statuses=(200, 500))
        if response.status_code != 200:
            return None
        try:
            output = response.json().get("output")
        except (json.JSONDecodeError, AttributeError) as err:
            raise VMProtocolError(f"GET /terminal: unexpected answer: {err}") from None
        return output if isinstance(output, str) else None

    # --- running things ----------------------------------------------------------------------
    def execute(self, command: str | list[str], shell: bool = False, route: str = "/setup/execute") -> ExecuteResult:
        """Run a command and wait; a non-zero exit is a result, not an error."""
        response = self._request("POST", route, ok_statuses=(200, 500), json={"command": command, "shell": shell})
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise VMProtocolError(f"POST {route}: answer is not JSON") from None
        if response.status_code == 500 or data.get("status") == "error":
            raise VMProtocolError(f"POST {route}: {data.get('message') or data.get('error') or data}", response.status_code)
        try:
            return ExecuteResult.model_validate(data)
        except ValidationError as err:
            raise VMProtocolError(f"POST {route}: unexpected answer: {err}") from None

    def act(self, action: Action) -> None:
        """Perform one typed action (its point in screen space); our server only: OSWorld's and WAA's
        answer 404, `VMUnsupported`, and nothing was done."""
        self._request("POST", "/act", json={"action": action.model_dump(mode="json")})

    def run_pyautogui(self, code: str) -> ExecuteResult:
        """Run generated pyautogui source the way OSWorld's harness does."""
        from actions.executors.remote import PREFIX

        result = self.execute(["python", "-c", PREFIX + code], route="/execute")
        if result.returncode != 0:
            raise VMProtocolError(f"the action's code failed on the VM: {result.error.strip()[-500:]}")
        return result

    def launch(self, command: str | list[str], shell: bool = False) -> None:
        self._request("POST", "/setup/launch", json={"command": command, "shell": shell})

    def open_file(self, path: str) -> None:
        """Open `path` and wait for its window: the server waits up to its own bound (OSWorld's: 30 min),
        so this request waits a little longer than that, as OSWorld's client does."""
        self._request("POST", "/setup/open_file", json={"path": path}, timeout=OPEN_FILE_TIMEOUT)

    def window(self, action: str, name: str, strict: bool = False, by_class: bool = False) -> None:
        """`action` is activate or close (/setup/activate_window, /setup/close_window)."""
        self._request("POST", f"/setup/{action}_window", json={"window_name": name, "strict": strict, "by_class": by_class})

    def run_python(self, code: str) -> dict[str, Any]:
        """OSWorld's server only (WAA's has no /run_python: a 404 there, `VMUnsupported`)."""
        return self._json("POST", "/run_python", json={"code": code})

    def run_bash_script(self, script: str, timeout: float = 120, working_dir: str | None = None) -> ExecuteResult:
        return self._json("POST", "/run_bash_script", ExecuteResult,
                          json={"script": script, "timeout": timeout, "working_dir": working_dir})

    def execute_with_verification(self, command: str | list[str], verification: dict[str, Any], shell: bool = False,
                                  max_wait_time: float = 10, check_interval: float = 1.0) -> dict[str, Any]:
        return self._json("POST", "/execute_with_verification", json={
            "command": command, "shell": shell, "verification": verification,
            "max_wait_time": max_wait_time, "check_interval": check_interval})

    def window_size(self, app_class_name: str) -> ScreenSize:
        return self._json("POST", "/window_size", ScreenSize, data={"app_class_name": app_class_name})

    def wallpaper(self) -> bytes:
        return self._request("POST", "/wallpaper").content

    def change_wallpaper(self, path: str) -> None:
        self._request("POST", "/setup/change_wallpaper", json={"path": path})

    def start_recording(self) -> None:
        self._request("POST", "/start_recording")

    def end_recording(self) -> bytes:
        return self._request("POST", "/end_recording").content

    # --- files -------------------------------------------------------------------------------
    def upload(self, path: str, data: bytes) -> None:
        name = path.replace("\\", "/").rsplit("/", 1)[-1] or "file"
        self._request("POST", "/setup/upload", data={"file_path": path}, files={"file_data": (name, data)})

    def download_file(self, url: str, path: str) -> None:
        self._request("POST", "/setup/download_file", json={"url": url, "path": path})

    def file(self, path: str) -> bytes | None:
        """The file's bytes, or None when the VM has no such file."""
        response = self._request("POST", "/file", ok_statuses=(200, 404), data={"file_path": path})
        return response.content if response.status_code == 200 else None

    def list_directory(self, path: str) -> dict[str, Any]:
        return self._json("POST", "/list_directory", json={"path": path})["directory_tree"]

    def desktop_path(self) -> str:
        return self._json("POST", "/desktop_path")["desktop_path"]

    # --- WindowsAgentArena -------------------------------------------------------------------
    def waa_reset(self) -> None:
        """WindowsAgentArena's reset: close every window, remove the task files."""
        self.close_all()
        self._request("POST", "/setup/clear_task_files", json={})

    def close_all(self) -> None:
        self._request("POST", "/setup/close_all", json={})

    def create_folder(self, path: str) -> None:
        self._request("POST", "/setup/create_folder", json={"path": path})

    def create_file(self, path: str, content: str = "") -> None:
        self._request("POST", "/setup/create_file", json={"path": path, "content": content})

    def recycle(self, path: str) -> None:
        self._request("POST", "/setup/recycle", json={"path": path})

    def _check(self, route: str, body: dict[str, Any]) -> bool:
        """A WAA check: 200 is yes, 400 is no (WAA's server answers 400 for "does not exist" and for a
        missing field, which this client always sends); any other status raises."""
        return self._request("POST", route, ok_statuses=(200, 400), json=body).status_code == 200

    def file_exists(self, file_name: str, path: str) -> bool:
        """Whether `path`/`file_name` is a file (WAA's server joins the two)."""
        return self._check("/file_exists", {"file_name": file_name, "path": path})

    def folder_exists(self, folder_name: str, path: str) -> bool:
        """Whether `path`/`folder_name` is a folder."""
        return self._check("/folder_exists", {"folder_name": folder_name, "path": path})

    def documents_path(self) -> str:
        return self._json("POST", "/documents_path")["documents_path"]

    def probe(self) -> bool:
        """True when the server answers its health route (WAA's /probe)."""
        try:
            self._request("GET", "/probe")
        except VMError:
            return False
        return True

    def obs_winagent(self) -> WinAgentObservation:
        """WAA's observation of the active window, which its harness takes with every screenshot."""
        data = self._json("GET", "/obs_winagent")
        try:
            image = base64.b64decode(data["image"], validate=True)
            observation = WinAgentObservation.model_validate({**data, "image": image})
        except (KeyError, TypeError, binascii.Error, ValidationError) as err:
            raise VMProtocolError(f"GET /obs_winagent: unexpected answer: {err}") from None
        if not observation.image.startswith(b"\x89PNG"):
            raise VMProtocolError("GET /obs_winagent: the image is not a PNG")
        return observation

    def execute_windows(self, code: str) -> None:
        """Run Python on WAA's server, with its `computer` and `human` objects in scope: the route
        WAA's Navi agent acts through. For task configuration only, never model output; the server
        reports any exception (or "error" in the printed output) as a 500, raised here."""
        response = self._request("POST", "/execute_windows", ok_statuses=(200, 500), json={"command": code},
                                 timeout=EXECUTE_WINDOWS_TIMEOUT)
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise VMProtocolError("POST /execute_windows: answer is not JSON") from None
        if response.status_code != 200 or data.get("status") != "success":
            raise VMProtocolError(f"POST /execute_windows: {_message(response)}", response.status_code)

    def update_computer(self, rects: list[list[int]], window_rect: list[int], screenshot_png: bytes,
                        scale: tuple[float, float] | list[float], clipboard_content: str | None = None,
                        swap_ctrl_alt: bool = False) -> None:
        """Give WAA's server the marks and picture its `computer` object acts on (`rects` are boxes in
        the screenshot, `window_rect` the window it shows), as WAA's harness does before each action."""
        self._request("POST", "/update_computer", json={
            "rects": rects, "window_rect": window_rect, "scale": list(scale),
            "screenshot": base64.b64encode(screenshot_png).decode(),
            "clipboard_content": clipboard_content, "swap_ctrl_alt": swap_ctrl_alt})

    def save_state(self, name: str) -> None:
        """WAA's server route for a Windows restore point named `name` (its harness never calls it:
        VM snapshots are taken by the VM provider). The name goes as the form field WAA's server checks."""
        self._request("POST", "/save_state", data={"snapshot_name": name})

    def revert_to_snapshot(self, name: str) -> None:
        """WAA's counterpart of `save_state` (its server answers 501; its harness closes every
        window instead, see `waa_reset`)."""
        self._request("POST", "/revert_to_snapshot", data={"snapshot_name": name})

    # --- WindowsAgentArena's checks (Windows Explorer and Clock state; 200 yes, 400 no) ---------
    def is_details_view(self, path: str) -> bool:
        """Whether File Explorer shows `path` in its Details view."""
        return self._check("/is_details_view", {"path": path})

    def are_files_sorted_by_modified_time(self, directory: str) -> bool:
        return self._check("/are_files_sorted_by_modified_time", {"directory": directory})

    def is_directory_read_only_for_user(self, directory: str, user: str) -> bool:
        return self._check("/is_directory_read_only_for_user", {"directory": directory, "user": user})

    def are_all_images_tagged(self, directory: str, tag: str) -> bool:
        return self._check("/are_all_images_tagged", {"directory": directory, "tag": tag})

    def check_if_timer_started(self, hours: int | str, minutes: int | str, seconds: int | str) -> bool:
        """Whether the Clock app runs such a timer (WAA's getter turns it into the text "True"/"False")."""
        body = {"hours": hours, "minutes": minutes, "seconds": seconds}
        return self._check("/check_if_timer_started", body)

    def check_if_world_clock_exists(self, city: str, country: str) -> bool:
        return self._check("/check_if_world_clock_exists", {"city": city, "country": country})

    def library_folders(self, library_name: str) -> list[Any] | None:
        """The folders of a Windows library; None when there is no such library (WAA's 400)."""
        response = self._request("POST", "/library_folders", ok_statuses=(200, 400),
                                 json={"library_name": library_name})
        if response.status_code != 200:
            return None
        try:
            return response.json()["output"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise VMProtocolError(f"POST /library_folders: unexpected answer: {err}") from None


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except json.JSONDecodeError:
        return response.text[:300]
    return str(data.get("message") or data.get("error") or data)[:300] if isinstance(data, dict) else str(data)[:300]
