"""`--watch`: a page on 127.0.0.1 showing each running episode's latest frame, intent and actions, live.

The server only reads episode folders under one root (`agent.watch.episodes`); the page polls
`/api/episodes` once a second and draws every string as text. It listens on the loopback
interface only and answers only requests addressed to it by that name (a web page elsewhere
cannot reach it through DNS rebinding), and it serves frames only from episode folders it found.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from agent.trajectory.store import FRAMES_DIR
from agent.watch.episodes import FRAME_NAME, EpisodeWatcher

HOST = "127.0.0.1"
LINGER_SECONDS = 3.0
"""How long the page stays up after the work ends, for an open page to fetch the final state once."""
ASSETS = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/watch.js": ("watch.js", "text/javascript; charset=utf-8"),
    "/watch.css": ("watch.css", "text/css; charset=utf-8"),
}
POLICY = "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'"


class WatchStartError(OSError):
    """The watch page cannot listen (a port in use, one not allowed)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], watcher: EpisodeWatcher, title: str) -> None:
        super().__init__(address, _Handler)
        self.watcher = watcher
        self.title = title
        self.lock = threading.Lock()
        self.polled = threading.Condition()
        self.last_poll = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # a page polling every second is not news
        return

    def do_GET(self) -> None:  # noqa: N802  the name http.server calls
        if not self._addressed_to_us():
            self._send(HTTPStatus.FORBIDDEN, b"wrong Host header", "text/plain")
            return
        url = urlsplit(self.path)
        if url.path in ASSETS:
            name, kind = ASSETS[url.path]
            self._send(HTTPStatus.OK, (resources.files("agent.watch") / "assets" / name).read_bytes(), kind)
        elif url.path == "/api/episodes":
            with self.server.lock:
                cards = self.server.watcher.cards()
            episodes = [c.model_dump(mode="json") for c in cards]
            body = {"title": self.server.title, "now": time.time(), "episodes": episodes}
            self._send(HTTPStatus.OK, json.dumps(body).encode(), "application/json")
            with self.server.polled:
                self.server.last_poll = time.monotonic()
                self.server.polled.notify_all()
        elif url.path == "/frame":
            self._frame(parse_qs(url.query))
        elif url.path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def _frame(self, query: dict[str, list[str]]) -> None:
        episode, name = query.get("episode", [""])[0], query.get("name", [""])[0]
        folder_name, _, file_name = name.partition("/")
        with self.server.lock:
            folder = self.server.watcher.folder_of(episode) if folder_name == FRAMES_DIR else None
        path = folder / FRAMES_DIR / file_name if folder is not None and FRAME_NAME.match(file_name) else None
        try:
            inside = path is not None and path.resolve().is_relative_to(folder.resolve())
            data = path.read_bytes() if inside else None
        except OSError:
            data = None
        if data is None:
            self._send(HTTPStatus.NOT_FOUND, b"no such frame", "text/plain")
            return
        self._send(HTTPStatus.OK, data, mimetypes.guess_type(file_name)[0] or "application/octet-stream",
                   cache="max-age=3600" if file_name[:4].isdigit() else "no-store")

    def _addressed_to_us(self) -> bool:
        host = self.headers.get("Host", "")
        port = self.server.server_address[1]
        return host in (f"{HOST}:{port}", f"localhost:{port}")

    def _send(self, status: HTTPStatus, body: bytes, kind: str, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)


class WatchServer:
    """Serves the watch page for episodes under `root` in a background thread while the `with` block runs."""

    def __init__(self, root: Path, title: str, port: int = 0, since: float | None = None) -> None:
        self.watcher = EpisodeWatcher(root, since if since is not None else time.time())
        try:
            self._server = _Server((HOST, port), self.watcher, title)
        except OSError as err:
            raise WatchStartError(f"cannot serve the watch page on {HOST}:{port}: {err.strerror or err}; "
                                  "choose another --watch-port, or 0 for any free one") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="watch-page", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}/"

    def __enter__(self) -> WatchServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; a page that was polling gets up to `LINGER_SECONDS` to fetch the end first."""
        if self._thread.is_alive():
            self._linger()
            self._server.shutdown()
        self._server.server_close()

    def _linger(self) -> None:
        server = self._server
        ended = time.monotonic()
        with server.polled:
            if ended - server.last_poll > 2 * LINGER_SECONDS:
                return  # nobody is watching
            server.polled.wait_for(lambda: server.last_poll > ended, timeout=LINGER_SECONDS)
