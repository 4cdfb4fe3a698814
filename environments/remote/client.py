"""A typed client for the OSWorld / WindowsAgentArena VM-server protocol (see OSWORLD.md).

Every route has a method; every answer is checked. A refused connection, and 502/503/504, are
retried a bounded number of times; a timeout or a broken answer is retried only for routes that
change nothing (an action or a command sent twice could run twice). Then `VMUnreachable` is
raised; an answer that is not what the protocol says (a 500 included) is `VMProtocolError`. A
bearer token is sent when given (our server requires one beyond loopback; OSWorld's ignores it).
KIMI_AGENT_VM_TIMEOUT and KIMI_AGENT_VM_RETRIES change the defaults (60 s, 3 retries).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from environments.settings import VM_RETRIES, VM_TIMEOUT, number_from_env

DEFAULT_TIMEOUT = 60.0
RETRIES = 3
BACKOFF = 0.5
OPEN_FILE_TIMEOUT = 1810.0
"""/setup/open_file: the server waits up to 1800 s for the window (its default, OSWorld's), plus 10 s."""
READ_ONLY_POSTS = frozenset({
    "/screen_size", "/file", "/list_directory", "/desktop_path", "/window_size", "/wallpaper",
    "/file_exists", "/folder_exists", "/documents_path",
})
"""POST routes that only read: safe to send again after a timeout."""


class VMError(RuntimeError):
    """The VM server could not do what was asked."""


class VMUnreachable(VMError):
    """No answer from the VM server after the allowed retries."""


class VMProtocolError(VMError):
    """The VM server answered with an error status or a body the protocol does not allow."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ExecuteResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = "success"
    output: str = ""
    error: str = ""
    returncode: int = 0


class ScreenSize(BaseModel):
    width: int
    height: int


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
                raise VMProtocolError(f"{method} {route}: HTTP {response.status_code}: {_message(response)}",
                                      response.status_code)
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

    def platform(self) -> str:
        return self._request("GET", "/platform").text.strip()

    def cursor_position(self) -> tuple[int, int]:
        x, y = self._json("GET", "/cursor_position")
        return int(x), int(y)

    def accessibility(self) -> str | None:
        return self._json("GET", "/accessibility").get("AT")

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

    def file_exists(self, path: str) -> bool:
        return bool(self._json("POST", "/file_exists", json={"path": path}).get("exists"))

    def folder_exists(self, path: str) -> bool:
        return bool(self._json("POST", "/folder_exists", json={"path": path}).get("exists"))

    def documents_path(self) -> str:
        return self._json("POST", "/documents_path")["documents_path"]

    def probe(self) -> bool:
        """True when the server answers its health route (WAA's /probe)."""
        try:
            self._request("GET", "/probe")
        except VMError:
            return False
        return True

    def obs_winagent(self) -> dict[str, Any]:
        """WAA's combined observation (Windows servers only)."""
        return self._json("GET", "/obs_winagent")

    def execute_windows(self, command: str, shell: bool = True) -> ExecuteResult:
        """WAA's PowerShell/cmd execution route (Windows servers only)."""
        return self.execute(command, shell=shell, route="/execute_windows")


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except json.JSONDecodeError:
        return response.text[:300]
    return str(data.get("message") or data.get("error") or data)[:300] if isinstance(data, dict) else str(data)[:300]
