"""A VM-side server speaking OSWorld's protocol (and WindowsAgentArena's extra setup routes),
for any Linux X session: `python -m environments.remote.server [--host H] [--port P] [--token T]`.

Secure by default, unlike the reference server: it listens on loopback unless told
otherwise, refuses to listen beyond loopback without a bearer token, checks the token on
every request when one is set, runs no debugger, limits request sizes, and confines the file
routes to `--root` folders (default: the home folder). The execute routes run commands by
design — that is the protocol — which is why the token guards them.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from environments.remote import desktop_ops

MAX_JSON = 1 << 20
MAX_UPLOAD = 1 << 30
COMMAND_TIMEOUT = 120.0


class Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class VMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str | None, roots: list[Path]) -> None:
        if token is None and not _is_loopback(address[0]):
            raise ValueError(f"refusing to listen on {address[0]} without a token (--token or $KIMI_VM_TOKEN)")
        super().__init__(address, _Handler)
        self.token = token
        self.roots = [r.resolve() for r in roots]
        self.launched: list[subprocess.Popen] = []
        self.lock = threading.Lock()

    def confined(self, path: str) -> Path:
        """`path` (with ~ expanded) if it lies inside a root, else a 403."""
        resolved = Path(os.path.expanduser(path)).resolve()
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            raise Refused(HTTPStatus.FORBIDDEN, f"{path} is outside the folders this server serves")
        return resolved


class _Handler(BaseHTTPRequestHandler):
    server: VMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch(GET_ROUTES)

    def do_POST(self) -> None:
        self._dispatch(POST_ROUTES)

    def _dispatch(self, routes: dict[str, Any]) -> None:
        self._body_read = False
        try:
            self._authorize()
            route = routes.get(self.path.split("?", 1)[0].rstrip("/") or "/")
            if route is None:
                raise Refused(HTTPStatus.NOT_FOUND, f"no route {self.command} {self.path}")
            status, body, kind = route(self)
        except Refused as err:
            status, body, kind = err.status, {"status": "error", "message": str(err)}, "json"
        except Exception as err:  # noqa: BLE001  any failure is reported to the client as the protocol's 500
            status, body, kind = HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": f"{type(err).__name__}: {err}"}, "json"
        self._finish_body()
        self._send(status, body, kind)

    def _finish_body(self) -> None:
        """Consume a body the route did not read, so the next request on this connection starts clean;
        a body too large to drain ends the connection instead."""
        if self._body_read:
            return
        length = self._length()
        if length < 0 or length > MAX_JSON:
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def _authorize(self) -> None:
        if self.server.token is None:
            return
        given = self.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
            raise Refused(HTTPStatus.UNAUTHORIZED, "a bearer token is required")

    def _length(self) -> int:
        """The declared body length; -1 when the header is not a whole number >= 0."""
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            return -1
        return length if length >= 0 else -1

    def body(self, limit: int = MAX_JSON) -> bytes:
        length = self._length()
        if length < 0:
            raise Refused(HTTPStatus.BAD_REQUEST, "content-length is not a valid length")
        if length > limit:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {limit} bytes")
        self._body_read = True
        return self.rfile.read(length) if length else b""

    def json(self) -> dict[str, Any]:
        raw = self.body()
        try:
            data = json.loads(raw or b"{}")
        except json.JSONDecodeError as err:
            raise Refused(HTTPStatus.BAD_REQUEST, f"malformed JSON: {err}") from None
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return data

    def form(self, limit: int = MAX_JSON) -> dict[str, bytes]:
        """Fields of a urlencoded or multipart/form-data body (files as bytes)."""
        ctype = self.headers.get("content-type", "")
        raw = self.body(limit)
        if ctype.startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qs

            return {k: v[0].encode() for k, v in parse_qs(raw.decode()).items()}
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(f"content-type: {ctype}\r\n\r\n".encode() + raw)
            return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True) or b""
                    for part in message.iter_parts()}
        raise Refused(HTTPStatus.BAD_REQUEST, "expected a form body")

    def _send(self, status: int, body: Any, kind: str) -> None:
        if kind == "json":
            data, ctype = json.dumps(body).encode(), "application/json"
        elif kind == "png":
            data, ctype = body, "image/png"
        elif kind == "bytes":
            data, ctype = body, "application/octet-stream"
        else:
            data, ctype = str(body).encode(), "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _need(data: dict[str, Any], key: str) -> Any:
    if key not in data or data[key] in (None, "", []):
        raise Refused(HTTPStatus.BAD_REQUEST, f"missing {key!r}")
    return data[key]


def _command(data: dict[str, Any]) -> tuple[Any, bool]:
    command, shell = _need(data, "command"), bool(data.get("shell", False))
    if not isinstance(command, (str, list)) or (isinstance(command, list) and not all(isinstance(c, str) for c in command)):
        raise Refused(HTTPStatus.BAD_REQUEST, "command must be a string or a list of strings")
    if not shell:
        command = desktop_ops.argv(command)
    return command, shell


# --- routes: each returns (status, body, kind) -------------------------------------------------
def screenshot(h: _Handler) -> tuple:
    return HTTPStatus.OK, desktop_ops.screenshot_png(), "png"


def execute(h: _Handler) -> tuple:
    command, shell = _command(h.json())
    try:
        done = subprocess.run(command, shell=shell, capture_output=True, text=True, errors="replace",
                              timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError as err:
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": f"{err.filename}: not found"}, "json"
    except subprocess.TimeoutExpired:
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": f"timed out after {COMMAND_TIMEOUT:g} s"}, "json"
    return HTTPStatus.OK, {"status": "success", "output": done.stdout, "error": done.stderr, "returncode": done.returncode}, "json"


def launch(h: _Handler) -> tuple:
    command, shell = _command(h.json())
    process = subprocess.Popen(command, shell=shell, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    with h.server.lock:
        h.server.launched.append(process)
    return HTTPStatus.OK, f"{command} launched successfully", "text"


def open_file(h: _Handler) -> tuple:
    """Open a file and wait for a window titled with its name (or `window_name`), up to
    `timeout_seconds` (OSWorld's optional fields)."""
    data = h.json()
    path = h.server.confined(_need(data, "path"))
    if not path.exists():
        raise Refused(HTTPStatus.NOT_FOUND, f"{path} does not exist")
    try:
        timeout = float(data.get("timeout_seconds", desktop_ops.OPEN_TIMEOUT))
    except (TypeError, ValueError):
        raise Refused(HTTPStatus.BAD_REQUEST, "timeout_seconds must be a number") from None
    desktop_ops.open_and_wait(path, data.get("window_name"), timeout)
    return HTTPStatus.OK, "File opened and window activated successfully", "text"


def window(action: str):
    def route(h: _Handler) -> tuple:
        data = h.json()
        name = _need(data, "window_name")
        found = desktop_ops.window(action, name, bool(data.get("strict")), bool(data.get("by_class")))
        # As OSWorld's server: a name that matches no window still answers 200 (its tasks rely on it).
        return HTTPStatus.OK, f"window {action}d" if found else f"no window matches {name!r}", "text"
    return route


def upload(h: _Handler) -> tuple:
    fields = h.form(MAX_UPLOAD)
    path = h.server.confined(_need({k: v for k, v in fields.items()}, "file_path").decode())
    path.parent.mkdir(parents=True, exist_ok=True)
    data = fields.get("file_data", b"")
    path.write_bytes(data)
    return HTTPStatus.OK, f"File Uploaded: {len(data)} bytes", "text"


def download_file(h: _Handler) -> tuple:
    data = h.json()
    path = h.server.confined(_need(data, "path"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with httpx.stream("GET", _need(data, "url"), follow_redirects=True, timeout=300) as response:
        response.raise_for_status()
        with path.open("wb") as out:
            for chunk in response.iter_bytes(1 << 16):
                out.write(chunk)
    return HTTPStatus.OK, "File downloaded successfully", "text"


def get_file(h: _Handler) -> tuple:
    raw = h.form().get("file_path")
    if not raw:
        raise Refused(HTTPStatus.BAD_REQUEST, "missing 'file_path'")
    path = h.server.confined(raw.decode())
    if not path.is_file():
        return HTTPStatus.NOT_FOUND, {"status": "error", "message": "File not found"}, "json"
    return HTTPStatus.OK, path.read_bytes(), "bytes"


def list_directory(h: _Handler) -> tuple:
    path = h.server.confined(_need(h.json(), "path"))
    if not path.is_dir():
        raise Refused(HTTPStatus.NOT_FOUND, f"{path} is not a folder")
    return HTTPStatus.OK, {"directory_tree": desktop_ops.tree(path)}, "json"


def screen_size(h: _Handler) -> tuple:
    width, height = desktop_ops.screen_size()
    return HTTPStatus.OK, {"width": width, "height": height}, "json"


def run_python(h: _Handler) -> tuple:
    code = _need(h.json(), "code")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, errors="replace",
                          timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    status = "success" if done.returncode == 0 else "error"
    message = "\n".join(part for part in (done.stdout, done.stderr) if part)
    return HTTPStatus.OK, {"status": status, "message": message, "need_more": False, "output": done.stdout,
                           "error": done.stderr, "return_code": done.returncode}, "json"


def run_bash_script(h: _Handler) -> tuple:
    data = h.json()
    cwd = h.server.confined(data.get("working_dir") or "~")
    done = subprocess.run(["bash", "-c", _need(data, "script")], capture_output=True, text=True, errors="replace",
                          timeout=float(data.get("timeout", COMMAND_TIMEOUT)), cwd=cwd, stdin=subprocess.DEVNULL)
    return HTTPStatus.OK, {"status": "success" if done.returncode == 0 else "error", "output": done.stdout,
                           "error": done.stderr, "returncode": done.returncode}, "json"


def execute_with_verification(h: _Handler) -> tuple:
    data = h.json()
    command, shell = _command(data)
    started = time.monotonic()
    subprocess.Popen(command, shell=shell, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    verification = data.get("verification") or {}
    deadline = started + float(data.get("max_wait_time", 10))
    while True:
        if desktop_ops.verified(verification):
            return HTTPStatus.OK, {"status": "success", "verification": "passed",
                                   "wait_time": round(time.monotonic() - started, 3)}, "json"
        if time.monotonic() > deadline:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": "verification failed",
                                                      "wait_time": round(time.monotonic() - started, 3)}, "json"
        time.sleep(float(data.get("check_interval", 1.0)))


def window_size(h: _Handler) -> tuple:
    raw = h.form().get("app_class_name")
    if not raw:
        raise Refused(HTTPStatus.BAD_REQUEST, "missing 'app_class_name'")
    size = desktop_ops.window_size(raw.decode())
    if size is None:
        raise Refused(HTTPStatus.NOT_FOUND, f"no window of class {raw.decode()!r}")
    return HTTPStatus.OK, {"width": size[0], "height": size[1]}, "json"


def _path_field(data: dict[str, Any]) -> str:
    return _need(data, next((k for k in ("path", "file_path", "folder_path") if k in data), "path"))


def create_folder(h: _Handler) -> tuple:
    h.server.confined(_path_field(h.json())).mkdir(parents=True, exist_ok=True)
    return HTTPStatus.OK, "Folder created", "text"


def create_file(h: _Handler) -> tuple:
    data = h.json()
    path = h.server.confined(_path_field(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(data.get("content", "")), encoding="utf-8")
    return HTTPStatus.OK, "File created", "text"


def recycle(h: _Handler) -> tuple:
    path = h.server.confined(_path_field(h.json()))
    if not path.exists():
        raise Refused(HTTPStatus.NOT_FOUND, f"{path} does not exist")
    desktop_ops.to_trash(path)
    return HTTPStatus.OK, "Moved to the trash", "text"


def exists(kind: str):
    def route(h: _Handler) -> tuple:
        path = h.server.confined(_path_field(h.json()))
        return HTTPStatus.OK, {"exists": path.is_file() if kind == "file" else path.is_dir()}, "json"
    return route


def close_all(h: _Handler) -> tuple:
    desktop_ops.close_all_windows()
    return HTTPStatus.OK, "all windows closed", "text"


def clear_task_files(h: _Handler) -> tuple:
    return HTTPStatus.OK, "no task-file folder is configured; nothing removed", "text"


def unsupported(what: str):
    def route(h: _Handler) -> tuple:
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, f"{what} is not available on this server")
    return route


GET_ROUTES = {
    "/screenshot": screenshot,
    "/platform": lambda h: (HTTPStatus.OK, "Linux", "text"),
    "/cursor_position": lambda h: (HTTPStatus.OK, list(desktop_ops.pointer()), "json"),
    "/terminal": lambda h: (HTTPStatus.OK, {"output": None}, "json"),
    "/accessibility": unsupported("the accessibility tree (AT-SPI)"),
    "/probe": lambda h: (HTTPStatus.OK, {"status": "Probe successful"}, "json"),
    "/obs_winagent": unsupported("WAA's Windows observation (this is a Linux server)"),
}
POST_ROUTES = {
    "/execute": execute, "/setup/execute": execute, "/setup/launch": launch, "/setup/open_file": open_file,
    "/setup/activate_window": window("activate"), "/setup/close_window": window("close"),
    "/setup/upload": upload, "/setup/download_file": download_file, "/file": get_file,
    "/list_directory": list_directory, "/screen_size": screen_size,
    "/desktop_path": lambda h: (HTTPStatus.OK, {"desktop_path": str(Path.home() / "Desktop")}, "json"),
    "/run_python": run_python, "/run_bash_script": run_bash_script,
    "/setup/close_all": close_all, "/setup/clear_task_files": clear_task_files,
    "/start_recording": unsupported("screen recording"), "/end_recording": unsupported("screen recording"),
    "/execute_with_verification": execute_with_verification, "/window_size": window_size,
    "/wallpaper": unsupported("reading the wallpaper"), "/setup/change_wallpaper": unsupported("changing the wallpaper"),
    "/setup/create_folder": create_folder, "/setup/create_file": create_file, "/setup/recycle": recycle,
    "/file_exists": exists("file"), "/folder_exists": exists("folder"),
    "/documents_path": lambda h: (HTTPStatus.OK, {"documents_path": str(Path.home() / "Documents")}, "json"),
    "/execute_windows": unsupported("Windows command execution (this is a Linux server)"),
}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="An OSWorld-protocol VM server for this X session (secure defaults).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument("--token", default=os.environ.get("KIMI_VM_TOKEN"),
                        help="bearer token clients must send (required beyond loopback; default $KIMI_VM_TOKEN)")
    parser.add_argument("--generate-token", action="store_true", help="make a random token and print it")
    parser.add_argument("--root", type=Path, action="append", help="folder the file routes may touch (repeatable; default ~)")
    args = parser.parse_args(argv)
    token = secrets.token_urlsafe(24) if args.generate_token else args.token
    try:
        server = VMServer((args.host, args.port), token, args.root or [Path.home()])
    except ValueError as err:
        parser.error(str(err))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    if args.generate_token:
        print(f"token {token}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for process in server.launched:
            desktop_ops.stop_group(process)


if __name__ == "__main__":
    main()
