"""GNOME Terminal's stand-in (environments/terminals.py) on a real Xvfb + openbox with real xterm and
tmux: every launch its own session, and the terminal read back is the focused one, as OSWorld's
/terminal reads GNOME Terminal's — on the task machine (the `vm_terminal_output` getter) and through
our VM server's /terminal, reached with VMClient."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from environments.chromium import chromium_path
from environments.debian_programs import debian_program
from environments.program_shims import SHIMMED, ShimError, shim_folder
from environments.remote.client import VMClient
from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks.context import TaskContext
from environments.tasks.machine import LocalMachine
from environments.tasks.registry import GETTERS
from environments.tasks.scoring import PreparedGetter
from environments.terminals import Terminals
from environments.virtual_desktop import VirtualDesktop
from tests.environments.remote.conftest import ROOT, VM


def wait_until(check: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)
    return value


def xdotool(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def xterm_windows(env: dict[str, str]) -> list[str]:
    return xdotool(env, "search", "--onlyvisible", "--class", "xterm").split()


def active_window(env: dict[str, str]) -> str:
    return xdotool(env, "getactivewindow")


def type_line(env: dict[str, str], text: str) -> None:
    """Type into the focused window (xterm ignores synthetic events sent to a window)."""
    xdotool(env, "type", "--delay", "10", text)
    xdotool(env, "key", "Return")


def focus(env: dict[str, str], window: str) -> None:
    xdotool(env, "windowactivate", "--sync", window)
    wait_until(lambda: active_window(env) == window)


def tmux_sessions(server: str) -> list[str]:
    done = subprocess.run(["tmux", "-L", server, "list-sessions", "-F", "#{session_name}"],
                          capture_output=True, text=True, check=False)
    return done.stdout.split() if done.returncode == 0 else []


# --- no display needed ---------------------------------------------------------------------------


def test_gnome_terminal_options_map_to_xterm_and_tmux() -> None:
    terminals = Terminals("kimi-test-options")
    first = terminals.window(["--maximize", "--working-directory=/tmp/w d"])
    second = terminals.window(["--working-directory", "/srv", "--", "bash", "-c", "echo hi"])
    assert first.session != second.session  # one session per window: launches never clash
    assert first.argv[0] == "xterm" and "-maximized" in first.argv
    assert first.argv[first.argv.index("-c") + 1] == "/tmp/w d"
    assert second.argv[second.argv.index("-c") + 1] == "/srv" and "-maximized" not in second.argv
    assert second.argv[second.argv.index("/srv") + 1:][:3] == ["bash", "-c", "echo hi"]
    assert all(["-L", "kimi-test-options"] == w.argv[w.argv.index("-L"):][:2] for w in (first, second))


def test_google_chrome_and_gnome_terminal_map_alike_for_both_owners(tmp_path: Path) -> None:
    terminals = Terminals("kimi-test-aliases")
    argv = ["google-chrome", "--remote-debugging-port=1337", "https://x.test"]
    chrome = debian_program(argv, tmp_path, terminals)
    assert chrome.argv[0] == chromium_path() and chrome.devtools_port == 1337
    assert f"--user-data-dir={tmp_path / '.config' / 'chromium'}" in chrome.argv
    assert chrome.argv[-2:] == ["--remote-debugging-port=1337", "https://x.test"]
    terminal = debian_program(["/usr/bin/gnome-terminal"], tmp_path, terminals)
    assert terminal.terminal is not None and terminal.argv == terminal.terminal.argv
    assert debian_program(["mousepad", "a.txt"], tmp_path, terminals).argv == ["mousepad", "a.txt"]


def test_the_shim_folder_is_reused_and_refused_if_others_can_write(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = shim_folder()
    assert sorted(p.name for p in folder.iterdir()) == sorted(SHIMMED) == ["gnome-terminal", "google-chrome",
                                                                           "google-chrome-stable"]
    assert shim_folder() == folder
    folder.chmod(0o777)
    with pytest.raises(ShimError, match="remove it"):
        shim_folder()


# --- on the task machine -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1024, 700) as d:
        yield d


@pytest.fixture
def machine(tmp_path: Path, desktop: VirtualDesktop) -> Iterator[LocalMachine]:
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1024, 700), display_env=desktop.env)
    yield m
    m.close()


def terminal_getter(machine: LocalMachine) -> str | None:
    """The `vm_terminal_output` getter, run as the scorer runs it."""
    entry = GETTERS["vm_terminal_output"]
    context = TaskContext(machine, machine.cache_dir, machine.cache_dir.parent / "downloads")
    return PreparedGetter(entry, entry.params.model_validate({}))(context)


@pytest.mark.desktop
def test_the_getter_reads_the_focused_one_of_two_terminals(machine: LocalMachine,
                                                           desktop: VirtualDesktop) -> None:
    env = desktop.env
    machine.launch(["gnome-terminal"])  # returns once the prompt shows and the window has the focus
    [first] = xterm_windows(env)
    assert active_window(env) == first
    type_line(env, "echo first-$((40+2))")
    wait_until(lambda: "first-42" in (terminal_getter(machine) or ""))

    machine.launch(["gnome-terminal"])  # a second launch in the same task: its own session, no clash
    [second] = [w for w in xterm_windows(env) if w != first]
    assert active_window(env) == second
    assert len(tmux_sessions(machine.terminal_session)) == 2
    type_line(env, "echo second-$((50+5))")
    text = wait_until(lambda: "second-55" in (terminal_getter(machine) or "") and terminal_getter(machine))
    assert "first-42" not in text and text == text.rstrip()

    focus(env, first)
    text = terminal_getter(machine)
    assert text is not None and "first-42" in text and "second-55" not in text
    focus(env, second)
    assert "second-55" in (terminal_getter(machine) or "")


@pytest.mark.desktop
def test_no_terminal_focused_reads_none(machine: LocalMachine, desktop: VirtualDesktop) -> None:
    env = desktop.env
    assert terminal_getter(machine) is None  # nothing launched yet
    machine.launch(["gnome-terminal"])
    [terminal] = xterm_windows(env)
    assert (terminal_getter(machine) or "").strip()

    machine.launch(["xmessage", "-name", "kimi-note", "not a terminal"])
    note = wait_until(lambda: xdotool(env, "search", "--onlyvisible", "--name", "kimi-note").split())[0]
    focus(env, note)
    assert terminal_getter(machine) is None

    machine.launch(["xterm", "-T", "kimi-plain-xterm"])  # an xterm, but not one of the task's terminals
    plain = wait_until(lambda: xdotool(env, "search", "--onlyvisible", "--name", "kimi-plain").split())[0]
    focus(env, plain)
    assert terminal_getter(machine) is None

    focus(env, terminal)
    assert (terminal_getter(machine) or "").strip()


@pytest.mark.desktop
def test_execute_opens_a_terminal_in_the_asked_folder_and_close_stops_it(machine: LocalMachine,
                                                                         desktop: VirtualDesktop) -> None:
    env = desktop.env
    (machine.home / "work dir").mkdir()
    started = time.monotonic()
    # OSWorld's tasks also run gnome-terminal through `execute`: it returns once the window is open.
    result = machine.execute(["gnome-terminal", "--working-directory=/home/user/work dir"])
    assert result.returncode == 0 and time.monotonic() - started < 15
    type_line(env, "pwd")
    wait_until(lambda: f"{machine.home}/work dir" in (terminal_getter(machine) or ""))
    server = machine.terminal_session
    assert tmux_sessions(server)
    machine.close()
    assert not tmux_sessions(server)
    wait_until(lambda: not xterm_windows(env), timeout=5)
    assert machine.terminal_output() is None


OSWORLD_TERMINAL_LINE = ("export DBUS_SESSION_BUS_ADDRESS='unix:path=/run/user/1000/bus'\n"
                         "gnome-terminal --maximize --working-directory=/home/user/")
"""How seven of OSWorld's multi_apps tasks open a terminal: inside an `execute` shell line."""


@pytest.mark.desktop
def test_a_shell_line_naming_gnome_terminal_opens_the_stand_in(machine: LocalMachine,
                                                               desktop: VirtualDesktop) -> None:
    env = desktop.env
    result = machine.execute(OSWORLD_TERMINAL_LINE, shell=True)
    assert result.returncode == 0, result.error
    [window] = xterm_windows(env)
    assert active_window(env) == window
    type_line(env, "pwd; echo shell-$((6*7))")
    text = wait_until(lambda: "shell-42" in (terminal_getter(machine) or "") and terminal_getter(machine))
    assert str(machine.home) in [line.rstrip("/") for line in text.splitlines()]  # pwd: the asked folder
    assert machine.execute("command -v google-chrome", shell=True).output.strip().endswith("/google-chrome")
    machine.close()
    wait_until(lambda: not xterm_windows(env), timeout=5)


# --- through our VM server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1024, 700) as d:
        yield d


@pytest.fixture
def vm(server_desktop: VirtualDesktop, tmp_path: Path) -> Iterator[VM]:
    server = VM(server_desktop, tmp_path)
    yield server
    # The server's terminals are on a tmux server named after its process (desktop_ops.TERMINALS).
    Terminals(f"kimi-vm-server-{server.process.pid}").stop()
    server.stop()


@pytest.mark.desktop
def test_the_vm_servers_terminal_route_reads_the_focused_terminal(vm: VM,
                                                                  server_desktop: VirtualDesktop) -> None:
    env, client = server_desktop.env, vm.client()
    tmux_server = f"kimi-vm-server-{vm.process.pid}"
    assert client.terminal() is None  # no terminal at all
    client.launch(["gnome-terminal"])  # answered once the prompt shows
    [first] = xterm_windows(env)
    assert active_window(env) == first
    type_line(env, "echo vm-first-$((3*7))")
    wait_until(lambda: "vm-first-21" in (client.terminal() or ""))

    assert client.execute(["gnome-terminal"]).returncode == 0  # a second one, from /setup/execute: no clash
    [second] = [w for w in xterm_windows(env) if w != first]
    assert len(tmux_sessions(tmux_server)) == 2
    type_line(env, "echo vm-second-$((4*8))")
    text = wait_until(lambda: "vm-second-32" in (client.terminal() or "") and client.terminal())
    assert "vm-first-21" not in text and text == text.rstrip()
    focus(env, first)
    text = client.terminal()
    assert text is not None and "vm-first-21" in text and "vm-second-32" not in text

    client.launch(["xmessage", "-name", "kimi-vm-note", "not a terminal"])
    note = wait_until(lambda: xdotool(env, "search", "--onlyvisible", "--name", "kimi-vm-note").split())[0]
    focus(env, note)
    answer = httpx.get(f"{vm.url}/terminal", timeout=30)
    assert answer.status_code == 200 and answer.json()["output"] is None

    client.close_all()  # closing the windows ends their sessions, and the tmux server with the last one
    wait_until(lambda: not tmux_sessions(tmux_server), timeout=10)

    # OSWorld's tasks also name gnome-terminal inside a shell line
    home = Path.home()
    assert client.execute(OSWORLD_TERMINAL_LINE.replace("/home/user/", str(home)), shell=True).returncode == 0
    [window] = xterm_windows(env)
    type_line(env, "pwd; echo vm-shell-$((6*7))")
    text = wait_until(lambda: "vm-shell-42" in (client.terminal() or "") and client.terminal())
    assert str(home) in [line.rstrip("/") for line in text.splitlines()]
    client.close_all()
    wait_until(lambda: not tmux_sessions(tmux_server), timeout=10)


@pytest.mark.desktop
def test_the_terminal_route_answers_500_when_it_cannot_read(server_desktop: VirtualDesktop,
                                                            tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "environments.vm_server.server", "--port", "0", "--root", str(tmp_path)],
        env={**server_desktop.env, "PATH": str(tmp_path)}, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )
    try:
        url = process.stdout.readline().split()[-1]
        answer = httpx.get(f"{url}/terminal", timeout=30)
        assert answer.status_code == 500
        body = answer.json()
        assert body["status"] == "error" and "xdotool is missing" in body["message"]
        assert VMClient(url, timeout=30, retries=0).terminal() is None  # as OSWorld's client
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
