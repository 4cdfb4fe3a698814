"""A VM-side server speaking OSWorld's protocol (and WindowsAgentArena's extra setup routes),
for any Linux X session: `python -m environments.vm_server.server [--host H] [--port P] [--token T]`.

Secure by default, unlike the reference server: it listens on loopback unless told
otherwise, refuses to listen beyond loopback without a bearer token, checks the token on
every request when one is set, runs no debugger, limits request sizes and how long a body may
take to arrive, and confines the file routes to `--root` folders (default: the home folder).
It refuses requests made by web browsers (an `Origin` or `Sec-Fetch-Site` header, or, without a
token, a `Host` that is not loopback), so a web page open on the same machine cannot reach it
by cross-site requests or DNS rebinding. The execute routes run commands by design — that is
the protocol — which is why the token guards them.
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
from urllib.parse import parse_qs

import httpx

import environments.vm_server.desktop_ops as desktop_ops

MAX_JSON = 1 << 20
MAX_UPLOAD = 1 << 30
COMMAND_TIMEOUT = 120.0
MAX_WAIT = 3600.0
"""Upper bound of the waiting times a request may ask for (timeouts, verification waits)."""
CLOSE_WAIT = 3.0
"""Seconds /setup/close_all waits for the windows it asked to close."""
BODY_TIMEOUT = 30.0
"""Seconds a client may stay silent while sending a request (so a lying Content-Length cannot hold a thread)."""
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class VMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str | None, roots: list[Path],
                 body_timeout: float = BODY_TIMEOUT) -> None:
        token = token.strip() if token else None
        token = token or None  # an empty token would let anyone in while looking like protection
        if token is None and not _is_loopback(address[0]):
            raise ValueError(f"refusing to listen on {address[0]} without a token (--token or $KIMI_VM_TOKEN)")
        super().__init__(address, _Handler)
        self.token = token
        self.roots = [r.resolve() for r in roots]
        self.body_timeout = body_timeout
        self.launched: list[subprocess.Popen] = []
        self.lock = threading.Lock()

    def confined(self, path: object) -> Path:
        """`path` (with ~ expanded, symlinks followed) if it lies inside a root, else a 403."""
        if not isinstance(path, str) or not path or "\x00" in path:
            raise Refused(HTTPStatus.BAD_REQUEST, f"a path must be a non-empty string without NUL bytes, got {path!r:.80}")
        try:
            resolved = Path(os.path.expanduser(path)).resolve()
        except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop
            raise Refused(HTTPStatus.BAD_REQUEST, f"{path!r:.200} cannot be resolved: {err}") from None
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            raise Refused(HTTPStatus.FORBIDDEN, f"{path} is outside the folders this server serves")
        return resolved


class _Handler(BaseHTTPRequestHandler):
    server: VMServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # a request line without a version is answered with a status line too
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle + delayed ACK adds 40 ms to each answer

    def setup(self) -> None:
        self.timeout = self.server.body_timeout  # StreamRequestHandler applies it to the socket
        super().setup()

    # HTTP/0.9 answers have no status line or headers, so a client cannot tell a refusal from data
    # (found by the fuzzer): such requests are refused, and every refusal carries a status line.
    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/0.9 is not spoken here; use HTTP/1.1")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if self.request_version == "HTTP/0.9":
            self.request_version, self.close_connection = "HTTP/1.1", True
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch(GET_ROUTES)

    def do_POST(self) -> None:
        self._dispatch(POST_ROUTES)

    def _dispatch(self, routes: dict[str, Any]) -> None:
        self._body_read = False
        try:
            self._admit()
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
        if length < 0 or length > MAX_JSON or self.headers.get("transfer-encoding"):
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def _admit(self) -> None:
        """Refuse browsers (cross-site requests, DNS rebinding) and, when a token is set, anyone without it."""
        if self.headers.get("origin") is not None or self.headers.get("sec-fetch-site") is not None:
            raise Refused(HTTPStatus.FORBIDDEN, "requests from web pages are refused (an Origin or Sec-Fetch-Site "
                                                "header was sent); use an HTTP client such as VMClient")
        if self.server.token is None:
            host = _host_name(self.headers.get("host"))
            if host is not None and not _is_loopback(host):
                raise Refused(HTTPStatus.FORBIDDEN, f"Host {host!r} is not a loopback name; without a token this "
                                                    "server only answers requests addressed to localhost")
            return
        given = self.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
            raise Refused(HTTPStatus.UNAUTHORIZED, "a bearer token is required")

    def _length(self) -> int:
        """The declared body length; -1 when the header is not a whole number >= 0 or is given twice, differently."""
        declared = {value.strip() for value in self.headers.get_all("content-length") or ["0"]}
        if len(declared) != 1:
            return -1
        value = declared.pop()
        # digits only: int() would also take "+5", "1_0" or " 5", which other HTTP parsers read differently
        return int(value) if value.isascii() and value.isdigit() else -1

    def body(self, limit: int = MAX_JSON) -> bytes:
        if self.headers.get("transfer-encoding"):
            self.close_connection = True
            raise Refused(HTTPStatus.LENGTH_REQUIRED, "chunked or encoded bodies are not accepted; send the body "
                                                      "with a Content-Length header")
        length = self._length()
        if length < 0:
            raise Refused(HTTPStatus.BAD_REQUEST, "content-length is not a valid length")
        if length > limit:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {limit} bytes")
        self._body_read = True
        if not length:
            return b""
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            raise Refused(HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within {self.server.body_timeout:g} s; "
                                                      "is content-length larger than the body?") from None
        if len(raw) < length:
            self.close_connection = True
            raise Refused(HTTPStatus.BAD_REQUEST, f"the body ended after {len(raw)} of its {length} declared bytes")
        return raw

    def _content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is an empty object."""
        raw = self.body()
        if not raw:
            return {}
        if self._content_type() not in JSON_TYPES:
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                          f"this route takes application/json, not {self._content_type() or 'a body without a type'}")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as err:  # JSONDecodeError, bad UTF-8, over-long numbers, deep nesting
            raise Refused(HTTPStatus.BAD_REQUEST, f"malformed JSON: {str(err) or type(err).__name__}") from None
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return data

    def form(self, limit: int = MAX_JSON) -> dict[str, bytes]:
        """Fields of a urlencoded or multipart/form-data body (files as bytes)."""
        ctype = self.headers.get("content-type", "")
        if self._content_type() not in FORM_TYPES:
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"this route takes a form body ({' or '.join(FORM_TYPES)}), "
                                                             f"not {self._content_type() or 'a body without a type'}")
        raw = self.body(limit)
        try:
            if self._content_type() == FORM_TYPES[0]:
                return {k: v[0].encode() for k, v in parse_qs(raw.decode(), max_num_fields=100).items()}
            message = BytesParser(policy=HTTP).parsebytes(f"content-type: {ctype}\r\n\r\n".encode() + raw)
            if not message.is_multipart():
                raise Refused(HTTPStatus.BAD_REQUEST, "malformed multipart body: no parts (check the boundary)")
            fields = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if isinstance(name, str):
                    fields[name] = part.get_payload(decode=True) or b""
            return fields
        except (ValueError, LookupError) as err:  # bad UTF-8, too many fields, an unknown charset
            raise Refused(HTTPStatus.BAD_REQUEST, f"malformed form body: {str(err) or type(err).__name__}") from None

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


def _need_text(data: dict[str, Any], key: str) -> str:
    value = _need(data, key)
    if not isinstance(value, str):
        raise Refused(HTTPStatus.BAD_REQUEST, f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _seconds(data: dict[str, Any], key: str, default: float) -> float:
    """A waiting time from the request: a number from 0 to `MAX_WAIT`, else a 400."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_WAIT:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{key} must be a number of seconds from 0 to {MAX_WAIT:g}, got {value!r:.40}")
    return float(value)


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
    window_name = _need_text(data, "window_name") if data.get("window_name") is not None else None
    desktop_ops.open_and_wait(path, window_name, _seconds(data, "timeout_seconds", desktop_ops.OPEN_TIMEOUT))
    return HTTPStatus.OK, "File opened and window activated successfully", "text"


def window(action: str):
    def route(h: _Handler) -> tuple:
        data = h.json()
        name = _need_text(data, "window_name")
        found = desktop_ops.window(action, name, bool(data.get("strict")), bool(data.get("by_class")))
        # As OSWorld's server: a name that matches no window still answers 200 (its tasks rely on it).
        return HTTPStatus.OK, f"window {action}d" if found else f"no window matches {name!r}", "text"
    return route


def _form_text(fields: dict[str, bytes], key: str) -> str:
    """A form field as text: present, non-empty UTF-8, else a 400."""
    try:
        return _need(fields, key).decode()
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{key!r} is not UTF-8 text") from None


def upload(h: _Handler) -> tuple:
    fields = h.form(MAX_UPLOAD)
    path = h.server.confined(_form_text(fields, "file_path"))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = fields.get("file_data", b"")
    path.write_bytes(data)
    return HTTPStatus.OK, f"File Uploaded: {len(data)} bytes", "text"


def download_file(h: _Handler) -> tuple:
    data = h.json()
    path = h.server.confined(_need(data, "path"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with httpx.stream("GET", _need_text(data, "url"), follow_redirects=True, timeout=300) as response:
        response.raise_for_status()
        with path.open("wb") as out:
            for chunk in response.iter_bytes(1 << 16):
                out.write(chunk)
    return HTTPStatus.OK, "File downloaded successfully", "text"


def get_file(h: _Handler) -> tuple:
    path = h.server.confined(_form_text(h.form(), "file_path"))
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
    code = _need_text(h.json(), "code")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, errors="replace",
                          timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    status = "success" if done.returncode == 0 else "error"
    message = "\n".join(part for part in (done.stdout, done.stderr) if part)
    return HTTPStatus.OK, {"status": status, "message": message, "need_more": False, "output": done.stdout,
                           "error": done.stderr, "return_code": done.returncode}, "json"


def run_bash_script(h: _Handler) -> tuple:
    data = h.json()
    cwd = h.server.confined(data.get("working_dir") or "~")
    done = subprocess.run(["bash", "-c", _need_text(data, "script")], capture_output=True, text=True, errors="replace",
                          timeout=_seconds(data, "timeout", COMMAND_TIMEOUT), cwd=cwd, stdin=subprocess.DEVNULL)
    return HTTPStatus.OK, {"status": "success" if done.returncode == 0 else "error", "output": done.stdout,
                           "error": done.stderr, "returncode": done.returncode}, "json"


def execute_with_verification(h: _Handler) -> tuple:
    data = h.json()
    command, shell = _command(data)
    max_wait, interval = _seconds(data, "max_wait_time", 10.0), max(_seconds(data, "check_interval", 1.0), 0.05)
    verification = data.get("verification") or {}
    if not isinstance(verification, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, "verification must be an object such as {\"window_exists\": \"title\"}")
    started = time.monotonic()
    subprocess.Popen(command, shell=shell, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = started + max_wait
    while True:
        if desktop_ops.verified(verification):
            return HTTPStatus.OK, {"status": "success", "verification": "passed",
                                   "wait_time": round(time.monotonic() - started, 3)}, "json"
        if time.monotonic() > deadline:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": "verification failed",
                                                      "wait_time": round(time.monotonic() - started, 3)}, "json"
        time.sleep(interval)


def window_size(h: _Handler) -> tuple:
    name = _form_text(h.form(), "app_class_name")
    size = desktop_ops.window_size(name)
    if size is None:
        raise Refused(HTTPStatus.NOT_FOUND, f"no window of class {name!r}")
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
    """Ask every window to close, and answer once they are gone (windows close asynchronously)
    or after `CLOSE_WAIT` seconds, naming those still open (a window may ask to save first)."""
    before = _window_ids()
    desktop_ops.close_all_windows()
    deadline = time.monotonic() + CLOSE_WAIT
    while (left := before & _window_ids()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return HTTPStatus.OK, "all windows closed" if not left else f"{len(left)} window(s) did not close", "text"


def _window_ids() -> set[str]:
    listed = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


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


def _host_name(header: str | None) -> str | None:
    """The name in a Host header (`name`, `name:port`, `[v6]:port`), without the port."""
    if header is None:
        return None
    header = header.strip()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
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
