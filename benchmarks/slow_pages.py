"""A local web site whose pages finish their updates late, each in a way a browser's screen hides.

    with SlowPages() as site: site.url  # http://127.0.0.1:PORT/

The index page has one control per way (`CASES`); each control starts an update that pauses
before it ends: a timer, a slow fetch, a slow next page with a slow image, a debounced search,
two stages of fetches and timers, a script-driven animation, a slow form submission, and one
instant change. Every visible change a page's script makes records its time (epoch ms) in
`window.__lastRender` (`LAST_RENDER`): the ground truth of when the update really ended, after
which the benchmark (`benchmarks.settle --cases browser`) and the tests check that the settled
screenshot equals one taken seconds later.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from actions.models import Action, Click, Point, TypeText

SIZE = (800, 600)
"""The viewport the controls' positions below are laid out for (CSS px)."""
LAST_RENDER = "window.__lastRender || 0"
MAX_DELAY_MS = 5000

INDEX = """<!doctype html><html><head><title>slow pages</title><style>
body { margin: 0; font: 16px sans-serif; }
.control { position: absolute; left: 20px; width: 160px; height: 36px; }
#out { position: absolute; left: 220px; top: 20px; width: 540px; min-height: 300px; background: #f4f4f4; }
#box { position: absolute; left: 220px; top: 400px; width: 60px; height: 60px; background: #c33; }
</style></head><body>
<button class=control id=instant style="top:20px">instant</button>
<button class=control id=timer style="top:70px">timer</button>
<button class=control id=fetch style="top:120px">fetch</button>
<a class=control id=link style="top:170px" href="/page?ms=400">slow page</a>
<input class=control id=search style="top:220px" placeholder="search">
<button class=control id=stages style="top:270px">two stages</button>
<button class=control id=slide style="top:320px">slide</button>
<form method=post action="/result?ms=300"><button class=control id=submit style="top:370px">submit</button></form>
<div id=out></div><div id=box></div>
<script>
const out = document.getElementById("out");
const mark = () => { window.__lastRender = Date.now(); };
const show = (text) => { out.textContent = text; mark(); };
const list = async (ms, label) => {
  const rows = await (await fetch("/data?ms=" + ms)).json();
  out.innerHTML = "<ul>" + rows.map((r) => "<li>" + label + " " + r + "</li>").join("") + "</ul>";
  mark();
};
let shade = 0;
document.getElementById("instant").onclick = () => {
  shade = (shade + 1) % 2; out.style.background = shade ? "#cde" : "#f4f4f4"; mark(); };
document.getElementById("timer").onclick = () => setTimeout(() => show("the timer fired"), 350);
document.getElementById("fetch").onclick = () => list(500, "fetched");
let debounce = null;
document.getElementById("search").oninput = (e) => {
  clearTimeout(debounce);
  debounce = setTimeout(() => list(200, "result for " + e.target.value), 250);
};
document.getElementById("stages").onclick = async () => {
  await list(200, "first stage");
  setTimeout(() => list(200, "second stage"), 300);
};
document.getElementById("slide").onclick = () => {
  const box = document.getElementById("box"), start = performance.now();
  const step = (t) => {
    const done = Math.min((t - start) / 400, 1);
    box.style.left = (220 + 300 * done) + "px"; mark();
    if (done < 1) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
};
</script></body></html>"""

NEXT_PAGE = """<!doctype html><html><head><title>%(title)s</title></head>
<body style="margin:0;font:16px sans-serif"><h1 style="margin:20px">%(title)s</h1>
<img src="/image?ms=300" width=200 height=100 style="margin:20px" onload="window.__lastRender = Date.now()">
<script>window.__lastRender = Date.now();</script></body></html>"""


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (40, 120, 200)).save(out, format="PNG")
    return out.getvalue()


IMAGE = _png()


class _Handler(BaseHTTPRequestHandler):
    def _delay(self) -> None:
        values = parse_qs(urlsplit(self.path).query).get("ms", ["0"])
        try:
            ms = min(max(int(values[0]), 0), MAX_DELAY_MS)
        except ValueError:
            ms = 0
        time.sleep(ms / 1000)

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        route = urlsplit(self.path).path
        self._delay()
        if route == "/":
            self._send(INDEX.encode(), "text/html")
        elif route == "/page":
            self._send((NEXT_PAGE % {"title": "the slow page"}).encode(), "text/html")
        elif route == "/image":
            self._send(IMAGE, "image/png")
        elif route == "/data":
            self._send(b'["one", "two", "three"]', "application/json")
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._delay()
        self._send((NEXT_PAGE % {"title": "submitted"}).encode(), "text/html")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class SlowPages:
    """The site on 127.0.0.1 (a free port), served from a thread while the block runs."""

    def __enter__(self) -> SlowPages:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def at(x: int, y: int) -> Point:
    return Point(x=x, y=y, space="screen")


@dataclass(frozen=True)
class Case:
    name: str
    actions: tuple[Action, ...]
    """Done in order; the settle measured is the last one's."""
    ends_after_ms: int
    """When the page's update ends at the earliest, from the last action (its delays added up)."""


CASES = (
    Case("instant change", (Click(at=at(100, 38)),), 0),
    Case("timer renders after 350 ms", (Click(at=at(100, 88)),), 350),
    Case("fetch answers after 500 ms", (Click(at=at(100, 138)),), 500),
    Case("slow page, slow image", (Click(at=at(60, 188)),), 700),
    Case("debounced search", (Click(at=at(100, 238)), TypeText(text="kimi")), 450),
    Case("two stages", (Click(at=at(100, 288)),), 700),
    Case("scripted slide", (Click(at=at(100, 338)),), 400),
    Case("slow form submission", (Click(at=at(100, 388)),), 600),
)
