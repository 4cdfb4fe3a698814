"""The HTTP side of our VM server: admission (token, browser refusal), bounded bodies, and dispatch to routes."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

MAX_JSON = 1 << 20
MAX_UPLOAD = 1 << 30
BODY_TIMEOUT = 30.0
"""Seconds a client may stay silent while sending a request (so a lying Content-Length cannot hold a thread)."""
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Route = Callable[["Handler"], tuple]
"""A route answers a request with (status, body, kind); kind is json, png, bytes or text."""


@dataclass(frozen=True)
class Routes:
    get: dict[str, Route]
    post: dict[str, Route]


class Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class RouteServer(ThreadingHTTPServer):
    """A threading HTTP server answering `routes` (path → route) with the admission checks of `Handler`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str | None, roots: list[Path], routes: Routes,
                 body_timeout: float = BODY_TIMEOUT) -> None:
        token = token.strip() if token else None
        token = token or None  # an empty token would let anyone in while looking like protection
        if token is None and not _is_loopback(address[0]):
            raise ValueError(f"refusing to listen on {address[0]} without a token (--token or $KIMI_VM_TOKEN)")
        super().__init__(address, Handler)
        self.routes = routes
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


class Handler(BaseHTTPRequestHandler):
    server: RouteServer
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
        self._dispatch(self.server.routes.get)

    def do_POST(self) -> None:
        self._dispatch(self.server.routes.post)

    def _dispatch(self, routes: dict[str, Route]) -> None:
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


