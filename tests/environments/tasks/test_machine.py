"""LocalMachine: OSWorld's VM home mapped to a task folder, real commands, real windows on a
VirtualDesktop, the GNOME Terminal stand-in (xterm + a per-task tmux server), clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from environments.tasks.context import TaskContext
from environments.tasks.errors import SetupError
from environments.tasks.machine import VM_HOME, LocalMachine
from environments.tasks.model import SetupStep
from environments.tasks.setup_steps import run_steps
from environments.virtual_desktop import VirtualDesktop
from tests.processes import alive


def wait_until(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def pids_running(marker: str) -> list[int]:
    """Live processes whose command line contains `marker` (zombies left to init do not count)."""
    out = subprocess.run(
        ["ps", "-e", "-o", "pid=,stat=,args="], capture_output=True, text=True, check=False
    ).stdout
    found = []
    for line in out.splitlines():
        pid, stat, args = line.split(None, 2)
        if marker in args and not stat.startswith("Z") and int(pid) != os.getpid():
            found.append(int(pid))
    return found


# --- localize ------------------------------------------------------------------------------------


def test_localize_maps_the_vm_home_and_a_leading_tilde(machine: LocalMachine) -> None:
    home = str(machine.home)
    assert machine.localize(VM_HOME) == home
    assert machine.localize("/home/user/Desktop/a b.txt") == f"{home}/Desktop/a b.txt"
    assert machine.localize("~") == home
    assert machine.localize("~/Desktop/x.txt") == f"{home}/Desktop/x.txt"
    assert machine.localize("file:///home/user/page.html") == f"file://{home}/page.html"
    assert machine.localize("cp /home/user/a /home/user/b") == f"cp {home}/a {home}/b"


@pytest.mark.parametrize("text", ["/tmp/x", "/home/other/x", "~user/x", "a~/b", "relative/path", "", "/home"])
def test_localize_leaves_other_paths_alone(machine: LocalMachine, text: str) -> None:
    assert machine.localize(text) == text


def test_localize_leaves_a_longer_user_name_alone(machine: LocalMachine) -> None:
    assert machine.localize("/home/username/x") == "/home/username/x"


def test_the_home_and_cache_folders_are_created(tmp_path: Path) -> None:
    m = LocalMachine(tmp_path / "a" / "home", tmp_path / "b" / "cache", (640, 480))
    try:
        assert m.home.is_dir() and m.cache_dir.is_dir()
    finally:
        m.close()


# --- execute -------------------------------------------------------------------------------------


def test_execute_returns_code_output_and_error(machine: LocalMachine) -> None:
    result = machine.execute(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.returncode, result.output, result.error) == (3, "out\n", "err\n")


def test_execute_runs_in_the_task_home_with_home_set(machine: LocalMachine) -> None:
    result = machine.execute(["sh", "-c", 'echo "$HOME"; pwd -P; echo "${DISPLAY-unset}"'])
    assert result.returncode == 0
    assert result.output.splitlines() == [str(machine.home), str(machine.home.resolve()), "unset"]


def test_execute_localizes_arguments_and_splits_strings(machine: LocalMachine) -> None:
    (machine.home / "f.txt").write_text("content")
    assert machine.execute(["cat", "/home/user/f.txt"]).output == "content"
    assert machine.execute("cat ~/f.txt").output == "content"
    assert machine.execute("echo 'a  b'").output == "a  b\n"
    # with a shell, the command string is localized and `~` inside it is the task home
    assert machine.execute("cat /home/user/f.txt && cat ~/f.txt", shell=True).output == "contentcontent"
    # a list given with shell=True is joined with quoting: its items stay single words
    assert (
        machine.execute(["echo", "$HOME", "/home/user/x"], shell=True).output == f"$HOME {machine.home}/x\n"
    )


def test_a_missing_program_gives_127(machine: LocalMachine) -> None:
    result = machine.execute(["kimi-no-such-program", "--flag"])
    assert result.returncode == 127 and "kimi-no-such-program" in result.error and result.output == ""


def test_a_command_that_times_out_gives_minus_one(machine: LocalMachine) -> None:
    started = time.monotonic()
    result = machine.execute(["sleep", "30"], timeout=0.3)
    assert result.returncode == -1 and "timed out" in result.error
    assert time.monotonic() - started < 5


def test_an_empty_command_is_refused(machine: LocalMachine) -> None:
    with pytest.raises(SetupError, match="empty command"):
        machine.execute("")


# --- files ---------------------------------------------------------------------------------------


def test_read_file_gives_bytes_or_none(machine: LocalMachine) -> None:
    (machine.home / "d").mkdir()
    (machine.home / "d" / "x.bin").write_bytes(b"\x00\xffdata")
    assert machine.read_file("/home/user/d/x.bin") == b"\x00\xffdata"
    assert machine.read_file("~/d/x.bin") == b"\x00\xffdata"
    assert machine.read_file("/home/user/missing.txt") is None
    assert machine.read_file("/home/user/d") is None  # a folder
    assert machine.read_file("/home/user/d/x.bin/below") is None  # below a file


def test_upload_creates_parent_folders(machine: LocalMachine, tmp_path: Path) -> None:
    source = tmp_path / "src.txt"
    source.write_text("uploaded")
    machine.upload(source, "/home/user/a/b/c/dest.txt")
    assert (machine.home / "a" / "b" / "c" / "dest.txt").read_text() == "uploaded"
    machine.upload(source, "~/Desktop/other.txt")
    assert (machine.home / "Desktop" / "other.txt").read_text() == "uploaded"


# --- processes -----------------------------------------------------------------------------------


def unique_sleep() -> str:
    """A `sleep` argument no other process on this computer uses: the marker of this test's processes."""
    return f"300.{uuid.uuid4().int % 10**9:09d}"


def kill_leftovers(marker: str) -> None:
    """SIGKILL the processes this test started (by the marker in their command line) that outlived it."""
    for pid in pids_running(f"sleep {marker}"):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_close_stops_launched_programs_and_their_children(machine: LocalMachine) -> None:
    marker = unique_sleep()
    try:
        machine.launch(f'sh -c "sleep {marker} & sleep {marker}"')
        # its background child and its foreground one (and the shell, unless it exec'd the last command)
        pids = wait_until(lambda: (p := pids_running(f"sleep {marker}")) and len(p) >= 2 and p)
        machine.close()
        wait_until(lambda: not any(alive(pid) for pid in pids), timeout=5)
        assert pids_running(f"sleep {marker}") == []
    finally:
        kill_leftovers(marker)


def test_close_stops_children_that_ignore_sigterm(machine: LocalMachine) -> None:
    marker = unique_sleep()
    try:
        machine.launch(["sh", "-c", f"(trap '' TERM; sleep {marker}) & sleep {marker}"])
        wait_until(lambda: len(pids_running(f"sleep {marker}")) >= 2)
        machine.close()
        wait_until(lambda: not pids_running(f"sleep {marker}"), timeout=1)
    finally:
        kill_leftovers(marker)


def test_a_timed_out_command_leaves_no_process_behind(machine: LocalMachine) -> None:
    marker = unique_sleep()
    try:
        result = machine.execute(["sh", "-c", f"sleep {marker}; echo done"], timeout=0.3)
        assert result.returncode == -1
        machine.close()
        wait_until(lambda: not pids_running(f"sleep {marker}"), timeout=1)
    finally:
        kill_leftovers(marker)


def test_launch_of_a_missing_program_raises(machine: LocalMachine) -> None:
    with pytest.raises(SetupError, match="kimi-no-such-program: command not found"):
        machine.launch(["kimi-no-such-program"])


def test_no_terminal_and_no_windows_without_a_desktop(machine: LocalMachine) -> None:
    assert machine.terminal_output() is None
    with pytest.raises(SetupError, match="no windows"):
        machine.window_command("activate", "anything")


# --- on a virtual desktop ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1280, 800) as d:
        yield d


@pytest.fixture
def desk_machine(tmp_path: Path, desktop: VirtualDesktop) -> Iterator[LocalMachine]:
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800), display_env=desktop.env)
    yield m
    m.close()


def window_titles(m: LocalMachine) -> list[str]:
    lines = m.execute(["wmctrl", "-l"]).output.splitlines()
    return [line.split(None, 3)[3] if len(line.split(None, 3)) == 4 else "" for line in lines]


def active_window_name(m: LocalMachine) -> str:
    return m.execute(["xdotool", "getactivewindow", "getwindowname"]).output.strip()


@pytest.mark.desktop
def test_gnome_terminal_is_an_xterm_on_a_tmux_server_of_the_task(desk_machine: LocalMachine) -> None:
    m = desk_machine
    m.launch("gnome-terminal")  # returns once the shell has drawn its prompt
    assert (m.terminal_output() or "").strip()
    window = wait_until(
        lambda: m.execute(["xdotool", "search", "--onlyvisible", "--class", "xterm"]).output.split()
    )
    m.execute(["xdotool", "windowactivate", "--sync", window[0]])
    m.execute(["xdotool", "type", "--delay", "10", "echo hi-$((20+22))"])
    m.execute(["xdotool", "key", "Return"])
    wait_until(lambda: "hi-42" in (m.terminal_output() or ""))
    # the shell in the terminal has the task's HOME
    m.execute(["xdotool", "type", "--delay", "10", 'echo "home=$HOME"'])
    m.execute(["xdotool", "key", "Return"])
    wait_until(lambda: f"home={m.home}" in (m.terminal_output() or "").replace("\n", ""))
    session = m.terminal_session
    assert m.execute(["tmux", "-L", session, "ls"]).returncode == 0
    m.close()
    assert m.execute(["tmux", "-L", session, "ls"]).returncode != 0
    assert m.terminal_output() is None
    wait_until(
        lambda: not m.execute(["xdotool", "search", "--onlyvisible", "--class", "xterm"]).output.strip(),
        timeout=5,
    )


@pytest.mark.desktop
def test_activate_and_close_windows_by_title(desk_machine: LocalMachine) -> None:
    m = desk_machine
    m.launch(["xterm", "-T", "kimi-title"])
    wait_until(lambda: "kimi-title" in window_titles(m))
    m.launch(["xterm", "-T", "other-title"])
    wait_until(lambda: "other-title" in window_titles(m) and active_window_name(m) == "other-title")

    m.window_command("activate", "kimi-title")
    wait_until(lambda: active_window_name(m) == "kimi-title")
    m.window_command("activate", "other-title", strict=True)
    wait_until(lambda: active_window_name(m) == "other-title")
    # -F: the full title only; no match is not an error (as on OSWorld's server), just False
    assert m.window_command("activate", "kimi-tit", strict=True) is False

    m.window_command("close", "kimi-title")
    wait_until(lambda: "kimi-title" not in window_titles(m), timeout=5)
    assert "other-title" in window_titles(m)
    assert m.window_command("close", "kimi-title") is False

    # the same through OSWorld's setup steps
    context = TaskContext(m, m.cache_dir, m.cache_dir.parent / "downloads")
    run_steps(
        [SetupStep(type="close_window", parameters={"window_name": "other-title", "strict": True})], context
    )
    wait_until(lambda: "other-title" not in window_titles(m), timeout=5)
    # a window that is not there: the step goes on, as OSWorld's server lets it
    run_steps([SetupStep(type="activate_window", parameters={"window_name": "other-title"})], context)


@pytest.mark.desktop
def test_open_a_text_file_in_mousepad_and_wait_for_its_window(desk_machine: LocalMachine) -> None:
    m = desk_machine
    (m.home / "Desktop").mkdir()
    (m.home / "Desktop" / "kimi-notes.txt").write_text("some notes\n")
    started = time.monotonic()
    m.open("/home/user/Desktop/kimi-notes.txt")
    assert any("kimi-notes" in title for title in window_titles(m))
    assert time.monotonic() - started < 30
    with pytest.raises(SetupError, match="does not exist"):
        m.open("~/Desktop/missing.txt")
    m.close()
    wait_until(lambda: not any("kimi-notes" in title for title in window_titles(m)), timeout=5)


# --- the Chrome alias --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def devtools_answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/json/version", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.browser
def test_google_chrome_is_debian_chromium_with_its_devtools_port(machine: LocalMachine) -> None:
    port = free_port()
    (machine.home / "p.html").write_text("<title>local page</title>")
    machine.launch(
        ["google-chrome", "--headless", f"--remote-debugging-port={port}", "file:///home/user/p.html"]
    )
    assert machine.devtools_port == port
    wait_until(lambda: devtools_answers(port), timeout=20)
    # the profile lives in the task home; the URL was localized
    assert (machine.home / ".config" / "chromium").is_dir()
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API: a thread of its own
        tabs = wait_until(lambda: pool.submit(lambda: machine.tabs().all()).result(), timeout=10)
    assert [t.url for t in tabs] == [f"{machine.home.as_uri()}/p.html"]
    machine.close()
    assert not devtools_answers(port)
