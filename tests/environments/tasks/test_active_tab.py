"""`active_tab_info` as OSWorld reads it: the active tab's URL loaded again in a new page of a fresh
browser context, with real Chromium (our Playwright browser, and a Chromium reached over DevTools)
against a real local HTTP server that counts requests and sets a cookie."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from environments.chromium import CHROMIUM_ARGS, chromium_path
from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks.context import TaskContext
from environments.tasks.machine import LocalMachine
from environments.tasks.registry import GETTERS
from environments.tasks.scoring import PreparedGetter
from environments.tasks.tabs import LOAD_TIMEOUT_TITLE, PageTabs

pytestmark = pytest.mark.browser


class Site(BaseHTTPRequestHandler):
    """/shop: says whether the visitor's cookie came back, and sets it; /slow: a page whose image
    never arrives in time, so `load` does not fire."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).requests.append(self.path)
        if self.path == "/hang.png":
            time.sleep(4)
            self.send_response(404)
            self.end_headers()
            return
        returning = "visited=1" in (self.headers.get("Cookie") or "")
        if self.path.startswith("/shop"):
            body = f"<title>Kimi Shop</title><p id=who>{'returning' if returning else 'first visit'}</p>"
        else:
            body = "<title>Slow page</title><p>slow body</p><img src='/hang.png'>"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Set-Cookie", "visited=1; Path=/")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


def pages_since(count: int) -> list[str]:
    """Pages requested after the first `count` requests (the browser's favicon requests left out)."""
    return [path for path in Site.requests[count:] if path != "/favicon.ico"]


def active_tab_info(context: TaskContext) -> Any:
    entry = GETTERS["active_tab_info"]
    return PreparedGetter(entry, entry.params.model_validate({}))(context)


def test_active_tab_info_reads_a_fresh_load_of_the_active_url(chromium: Any, site: str,
                                                               tmp_path: Path) -> None:
    pages = chromium.new_context()
    try:
        observed = pages.new_page()
        observed.goto(f"{site}/shop?q=1")
        observed.reload()  # the user's tab now has the cookie: it shows "returning"
        assert observed.inner_text("#who") == "returning"
        observed.evaluate("document.title = 'edited by the user'")
        machine = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800),
                               tabs_factory=lambda: PageTabs(pages, lambda: observed))
        context = TaskContext(machine, machine.cache_dir, tmp_path / "downloads")
        before = len(Site.requests)
        info = active_tab_info(context)
        # loaded again (one more request), in a context without the user's cookie, not the edited DOM
        assert pages_since(before) == ["/shop?q=1"]
        assert info["title"] == "Kimi Shop" and info["url"] == f"{site}/shop?q=1"
        assert "first visit" in info["content"] and "returning" not in info["content"]
        # the user's tabs are as they were: no tab added, the observed one untouched
        assert pages.pages == [observed] and observed.title() == "edited by the user"
        observed.close()
        assert active_tab_info(context) is None  # no tab open
    finally:
        pages.close()


def test_reload_reports_a_load_timeout_and_an_unreachable_page(chromium: Any, site: str,
                                                                tmp_path: Path) -> None:
    pages = chromium.new_context()
    try:
        tabs = PageTabs(pages, lambda: None)
        tab, html = tabs.reload(f"{site}/slow", timeout_ms=1500)
        assert tab.title == LOAD_TIMEOUT_TITLE and tab.url == f"{site}/slow" and "slow body" in html
        assert tabs.reload("http://127.0.0.1:9/unreachable", timeout_ms=5000) is None
        assert pages.pages == []
    finally:
        pages.close()


@pytest.fixture
def devtools_chromium(tmp_path: Path) -> Iterator[int]:
    """A headless Chromium with a DevTools port (Chromium picks it: port 0) and its own profile."""
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [chromium_path(), *CHROMIUM_ARGS, "--headless", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().split("\n")[0].strip().isdigit()):
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.1)
        yield int(active.read_text().split("\n")[0])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Playwright's sync API runs one driver per thread: DevTools calls get a thread of their own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def test_active_tab_info_over_devtools(devtools_chromium: int, site: str, tmp_path: Path) -> None:
    machine = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800),
                           devtools_port=devtools_chromium)
    context = TaskContext(machine, machine.cache_dir, tmp_path / "downloads")
    try:
        in_thread(lambda: machine.tabs().open([f"{site}/shop?via=devtools"]))
        in_thread(lambda: machine.tabs().open([f"{site}/shop?via=devtools"]))  # the cookie is set now
        before = len(Site.requests)
        info = in_thread(active_tab_info, context)
        assert pages_since(before) == ["/shop?via=devtools"]
        assert info["title"] == "Kimi Shop" and "first visit" in info["content"]
        # the new page went with its context: the browser's tabs are the two it had
        assert [t.url for t in in_thread(lambda: machine.tabs().all())] == [f"{site}/shop?via=devtools"] * 2
    finally:
        machine.close()


def test_active_tab_info_without_a_browser_is_none(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        unused = sock.getsockname()[1]
    machine = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800), devtools_port=unused)
    context = TaskContext(machine, machine.cache_dir, tmp_path / "downloads")
    assert in_thread(active_tab_info, context) is None
