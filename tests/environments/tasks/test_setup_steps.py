"""OSWorld's setup steps run for real: commands, downloads through the host cache (file://,
a local HTTP server, offline mode), uploads, and Chromium tabs through Playwright and DevTools."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from environments.chromium import CHROMIUM_ARGS, chromium_path
from environments.tasks.context import OfflineError, TaskContext
from environments.tasks.errors import SetupError, UnsupportedError
from environments.tasks.machine import LocalMachine
from environments.tasks.model import SetupStep
from environments.tasks.registry import SETUP_STEPS
from environments.tasks.setup_steps import placeholders, run_steps
from environments.tasks.tabs import DevToolsTabs, PageTabs, same_url


def steps(*items: tuple[str, dict[str, Any]]) -> list[SetupStep]:
    return [SetupStep(type=kind, parameters=params) for kind, params in items]


def wait_until(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture
def context(machine: LocalMachine, tmp_path: Path) -> TaskContext:
    return TaskContext(machine, tmp_path / "cache", tmp_path / "downloads", task_dir=tmp_path / "task")


def test_every_osworld_step_type_used_here_is_registered() -> None:
    assert {
        "execute",
        "command",
        "launch",
        "open",
        "download",
        "upload_file",
        "sleep",
        "activate_window",
        "close_window",
        "chrome_open_tabs",
        "chrome_close_tabs",
    } <= set(SETUP_STEPS)


# --- execute ---------------------------------------------------------------------------------------


def test_placeholders_in_strings_and_lists(tmp_path: Path) -> None:
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1921, 1081), password="s3cret")
    try:
        ctx = TaskContext(m, tmp_path / "cache", tmp_path / "downloads")
        text = (
            "echo {CLIENT_PASSWORD} {SCREEN_WIDTH}x{SCREEN_HEIGHT} {SCREEN_WIDTH_HALF},{SCREEN_HEIGHT_HALF}"
        )
        assert placeholders(text, ctx) == "echo s3cret 1921x1081 960,540"
        assert placeholders(
            ["xdotool", "mousemove", "{SCREEN_WIDTH_HALF}", "{SCREEN_HEIGHT_HALF}", "{X}"], ctx
        ) == ["xdotool", "mousemove", "960", "540", "{X}"]
        run_steps(
            steps(
                ("execute", {"command": ["echo", "{CLIENT_PASSWORD}", "{SCREEN_WIDTH}"], "stdout": "o.txt"})
            ),
            ctx,
        )
        assert (tmp_path / "cache" / "o.txt").read_text() == "s3cret 1921\n"
    finally:
        m.close()


def test_execute_saves_stdout_and_stderr_into_the_cache(context: TaskContext) -> None:
    run_steps(
        steps(
            (
                "execute",
                {
                    "command": ["sh", "-c", "echo hello; echo oops >&2"],
                    "stdout": "out.txt",
                    "stderr": "err.txt",
                },
            )
        ),
        context,
    )
    assert (context.cache_dir / "out.txt").read_text() == "hello\n"
    assert (context.cache_dir / "err.txt").read_text() == "oops\n"


def test_execute_and_command_run_in_the_task_home(context: TaskContext) -> None:
    run_steps(
        steps(
            ("execute", {"command": "touch /home/user/made-by-execute", "shell": True}),
            ("command", {"command": ["touch", "~/made-by-command"]}),
        ),
        context,
    )
    assert (context.machine.home / "made-by-execute").exists()
    assert (context.machine.home / "made-by-command").exists()


def test_a_failing_command_is_not_a_failing_step(context: TaskContext) -> None:
    run_steps(
        steps(("execute", {"command": ["false"]}), ("execute", {"command": ["kimi-no-such-program"]})),
        context,
    )


@pytest.mark.parametrize(
    ("command", "until"),
    [
        ('echo x >> ~/count; echo "lines $(wc -l < ~/count)"', {"stdout": "lines 3"}),
        ('echo x >> ~/count; echo "lines $(wc -l < ~/count)" >&2', {"stderr": "lines 3"}),
        ('echo x >> ~/count; test "$(wc -l < ~/count)" -ge 3', {"returncode": 0}),
    ],
)
def test_execute_until_repeats_the_command_until_the_condition_holds(
    context: TaskContext, command: str, until: dict[str, Any]
) -> None:
    run_steps(
        steps(("execute", {"command": command, "shell": True, "until": until, "stdout": "last.txt"})), context
    )
    assert (context.machine.home / "count").read_text() == "x\n" * 3
    assert (context.cache_dir / "last.txt").exists()


def test_execute_until_gives_up_after_five_missing_programs(context: TaskContext) -> None:
    started = time.monotonic()
    run_steps(
        steps(("execute", {"command": ["kimi-no-such-program"], "until": {"stdout": "never"}})), context
    )
    assert 1.0 <= time.monotonic() - started < 5


def test_an_unknown_step_type_is_reported_by_name(context: TaskContext) -> None:
    with pytest.raises(UnsupportedError, match="'teleport'"):
        run_steps(steps(("sleep", {"seconds": 0}), ("teleport", {"to": "mars"})), context)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (("launch", {"command": ["kimi-no-such-program"]}), "command not found"),
        (
            ("upload_file", {"files": [{"local_path": "missing.txt", "path": "/home/user/x"}]}),
            "does not exist",
        ),
        (("sleep", {}), "seconds"),
        (("execute", {"command": ""}), "empty command"),
        (("download", {"files": [{"url": "file:///x"}]}), "needs url and path"),
        (("open", {"path": "/home/user/missing.txt"}), "does not exist"),
        (("activate_window", {"window_name": "Chromium"}), "no windows"),
        (("close_window", {"window_name": "Chromium"}), "no windows"),
    ],
)
def test_a_failing_step_is_named_by_index_and_type(
    context: TaskContext, bad: tuple[str, dict], message: str
) -> None:
    with pytest.raises(SetupError, match=rf"setup step 2 \({bad[0]}\) failed: .*{message}"):
        run_steps(steps(("sleep", {"seconds": 0}), bad), context)


def test_sleep(context: TaskContext) -> None:
    started = time.monotonic()
    run_steps(steps(("sleep", {"seconds": 0.25})), context)
    assert time.monotonic() - started >= 0.25


def test_launch_returns_at_once_and_the_program_stops_with_the_machine(context: TaskContext) -> None:
    started = time.monotonic()
    run_steps(
        steps(("launch", {"command": "sh -c 'echo started > ~/launched; exec sleep 30'", "shell": True})),
        context,
    )
    assert time.monotonic() - started < 5
    wait_until(lambda: (context.machine.home / "launched").exists())
    context.machine.close()  # returns only once the program has stopped


# --- upload_file and download ----------------------------------------------------------------------


def test_upload_file_resolves_paths_against_the_task_folder(context: TaskContext, tmp_path: Path) -> None:
    (tmp_path / "task" / "files").mkdir(parents=True)
    (tmp_path / "task" / "files" / "a.txt").write_text("A")
    absolute = tmp_path / "elsewhere.txt"
    absolute.write_text("B")
    run_steps(
        steps(
            (
                "upload_file",
                {
                    "files": [
                        {"local_path": "files/a.txt", "path": "/home/user/Desktop/a.txt"},
                        {"local_path": str(absolute), "path": "~/b.txt"},
                    ]
                },
            )
        ),
        context,
    )
    assert (context.machine.home / "Desktop" / "a.txt").read_text() == "A"
    assert (context.machine.home / "b.txt").read_text() == "B"


def test_download_from_a_file_url_and_a_relative_path(context: TaskContext, tmp_path: Path) -> None:
    source = tmp_path / "source dir" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(bytes(range(256)) * 4)
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "rel.txt").write_text("relative")
    run_steps(
        steps(
            (
                "download",
                {
                    "files": [
                        {"url": source.as_uri(), "path": "/home/user/Downloads/data.bin"},
                        {"url": "rel.txt", "path": "~/rel.txt"},
                    ]
                },
            )
        ),
        context,
    )
    assert (context.machine.home / "Downloads" / "data.bin").read_bytes() == source.read_bytes()
    assert (context.machine.home / "rel.txt").read_text() == "relative"


def test_download_of_a_missing_file_url_fails_the_step(context: TaskContext, tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=r"setup step 1 \(download\).*no such file"):
        run_steps(
            steps(("download", {"files": [{"url": (tmp_path / "nope.bin").as_uri(), "path": "~/x"}]})),
            context,
        )


class Server:
    """A local HTTP server in a thread that counts the requests for each path."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: Counter[str] = Counter()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests[self.path] += 1
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server({"/files/report.xlsx": b"PK\x03\x04 spreadsheet bytes" * 100})
    yield s
    s.stop()


def download_step(url: str, path: str) -> list[SetupStep]:
    return steps(("download", {"files": [{"url": url, "path": path}]}))


def test_download_over_http_is_cached_and_verified(server: Server, tmp_path: Path) -> None:
    url, body = server.url + "/files/report.xlsx", server.files["/files/report.xlsx"]
    downloads = tmp_path / "downloads"
    machines = []
    try:
        for run in range(3):
            m = LocalMachine(tmp_path / f"run{run}" / "home", tmp_path / f"run{run}" / "cache", (1280, 800))
            machines.append(m)
            ctx = TaskContext(m, m.cache_dir, downloads)
            if run == 2:  # a corrupted cache entry is fetched again
                [cached] = [p for p in downloads.iterdir() if p.name.endswith("_report.xlsx")]
                cached.write_bytes(b"corrupted")
            run_steps(download_step(url, "/home/user/Desktop/report.xlsx"), ctx)
            assert (m.home / "Desktop" / "report.xlsx").read_bytes() == body
            assert server.requests["/files/report.xlsx"] == (1 if run < 2 else 2)
    finally:
        for m in machines:
            m.close()
    assert sorted(p.name.split("_", 1)[1] for p in downloads.iterdir()) == [
        "report.xlsx",
        "report.xlsx.sha256",
    ]


def test_offline_mode_uses_the_cache_and_refuses_what_it_lacks(server: Server, tmp_path: Path) -> None:
    url = server.url + "/files/report.xlsx"
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800))
    try:
        offline = TaskContext(m, m.cache_dir, tmp_path / "downloads", offline=True)
        with pytest.raises(SetupError, match="report.xlsx is not in the download cache") as refused:
            run_steps(download_step(url, "~/report.xlsx"), offline)
        assert isinstance(refused.value.__cause__, OfflineError)
        assert server.requests["/files/report.xlsx"] == 0 and not (m.home / "report.xlsx").exists()
        # local files need no network: they are fine offline
        local = tmp_path / "local.txt"
        local.write_text("local")
        run_steps(download_step(local.as_uri(), "~/local.txt"), offline)
        assert (m.home / "local.txt").read_text() == "local"
        # once cached (online), offline runs use the cached copy without a request
        run_steps(download_step(url, "~/report.xlsx"), TaskContext(m, m.cache_dir, tmp_path / "downloads"))
        (m.home / "report.xlsx").unlink()
        run_steps(download_step(url, "~/report.xlsx"), offline)
        assert (m.home / "report.xlsx").read_bytes() == server.files["/files/report.xlsx"]
        assert server.requests["/files/report.xlsx"] == 1
        # a corrupted entry offline is refused rather than used
        [cached] = [p for p in (tmp_path / "downloads").iterdir() if p.name.endswith("_report.xlsx")]
        cached.write_bytes(b"truncated")
        with pytest.raises(SetupError, match="offline"):
            run_steps(download_step(url, "~/report.xlsx"), offline)
    finally:
        m.close()


def test_an_http_error_fails_the_step_after_retries_and_leaves_no_partial_file(
    server: Server, context: TaskContext
) -> None:
    with pytest.raises(SetupError, match=r"setup step 1 \(download\) failed: could not download .*404"):
        run_steps(download_step(server.url + "/missing.bin", "~/missing.bin"), context)
    assert server.requests["/missing.bin"] == 3
    assert list(context.downloads.iterdir()) == []
    assert not (context.machine.home / "missing.bin").exists()


# --- Chromium tabs ---------------------------------------------------------------------------------


def test_same_url() -> None:
    assert same_url("HTTP://Example.com/a/", "http://example.com/a")
    assert same_url("file:///tmp/x.html", "file:///tmp/x.html")
    assert not same_url("http://example.com/a?x=1", "http://example.com/a?x=2")
    assert not same_url("http://example.com/a", "https://example.com/a")
    assert not same_url("http://example.com/a", "http://example.com/b")


def write_pages(home: Path, names: list[str]) -> list[str]:
    """Pages in the task home; their OSWorld-style URLs (under /home/user)."""
    for name in names:
        (home / f"{name}.html").write_text(f"<title>{name} page</title><h1>{name}</h1>")
    return [f"file:///home/user/{name}.html" for name in names]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.mark.browser
def test_chrome_open_and_close_tabs_on_playwright_pages(chromium: Any, tmp_path: Path) -> None:
    browser_context = chromium.new_context()
    observed = browser_context.new_page()
    m = LocalMachine(
        tmp_path / "home",
        tmp_path / "cache",
        (1280, 800),
        tabs_factory=lambda: PageTabs(browser_context, lambda: observed),
    )
    try:
        ctx = TaskContext(m, m.cache_dir, tmp_path / "downloads")
        a, b, c = write_pages(m.home, ["alpha", "beta", "gamma"])
        run_steps(steps(("chrome_open_tabs", {"urls_to_open": [a, b, c]})), ctx)
        home_url = m.home.as_uri()
        # the first URL replaces the blank observed page, the others open new tabs
        assert observed.url == f"{home_url}/alpha.html"
        assert [p.url for p in browser_context.pages] == [
            f"{home_url}/{n}.html" for n in ("alpha", "beta", "gamma")
        ]
        assert [t.title for t in m.tabs().all()] == ["alpha page", "beta page", "gamma page"]
        run_steps(
            steps(("chrome_close_tabs", {"urls_to_close": [b, "file:///home/user/not-open.html"]})), ctx
        )
        assert [p.url for p in browser_context.pages] == [f"{home_url}/alpha.html", f"{home_url}/gamma.html"]
        with pytest.raises(SetupError, match=r"setup step 1 \(chrome_open_tabs\)"):
            run_steps(steps(("chrome_open_tabs", {})), ctx)
    finally:
        m.close()
        browser_context.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def devtools_chromium(tmp_path: Path) -> Iterator[int]:
    """A headless Chromium with a DevTools port (chosen by Chromium: port 0) and its own profile."""
    profile = Path(tempfile.mkdtemp(prefix="kimi-devtools-", dir=tmp_path))
    process = subprocess.Popen(
        [
            chromium_path(),
            *CHROMIUM_ARGS,
            "--headless",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        active = profile / "DevToolsActivePort"
        wait_until(
            lambda: active.exists() and active.read_text().split("\n")[0].strip().isdigit(), timeout=20
        )
        yield int(active.read_text().split("\n")[0])
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Playwright's sync API runs one driver per thread: DevTools calls get a thread of their own,
    apart from any Playwright driver this thread holds."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.mark.browser
def test_chrome_open_and_close_tabs_over_devtools(devtools_chromium: int, tmp_path: Path) -> None:
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800), devtools_port=devtools_chromium)
    try:
        ctx = TaskContext(m, m.cache_dir, tmp_path / "downloads")
        a, b = write_pages(m.home, ["one", "two"])
        assert isinstance(m.tabs(), DevToolsTabs)
        in_thread(run_steps, steps(("chrome_open_tabs", {"urls_to_open": [a, b]})), ctx)
        home_url = m.home.as_uri()
        tabs = in_thread(lambda: m.tabs().all())
        # the blank start page is reused for the first URL
        assert sorted(t.url for t in tabs) == [f"{home_url}/one.html", f"{home_url}/two.html"]
        assert sorted(t.title for t in tabs) == ["one page", "two page"]
        in_thread(run_steps, steps(("chrome_close_tabs", {"urls_to_close": [a]})), ctx)
        assert [t.url for t in in_thread(lambda: m.tabs().all())] == [f"{home_url}/two.html"]
    finally:
        m.close()


@pytest.mark.browser
def test_chrome_tabs_without_a_browser_fail_the_step(tmp_path: Path) -> None:
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800), devtools_port=free_port())
    try:
        ctx = TaskContext(m, m.cache_dir, tmp_path / "downloads")
        started = time.monotonic()
        with pytest.raises(
            SetupError, match=r"setup step 1 \(chrome_open_tabs\) failed: no Chromium answers"
        ):
            in_thread(run_steps, steps(("chrome_open_tabs", {"urls_to_open": ["about:blank"]})), ctx)
        assert time.monotonic() - started < 15
    finally:
        m.close()
