"""The managed virtual desktop starts on a free display and stops everything it started."""

from __future__ import annotations

import subprocess

import pytest

from environments.virtual_desktop import VirtualDesktop
from tests.processes import alive

pytestmark = pytest.mark.desktop


def session_pids(pgid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True, text=True).stdout
    return [int(p) for p, g, s in (line.split() for line in out.splitlines()) if int(g) == pgid and not s.startswith("Z")]


def test_two_desktops_get_different_displays_and_stop_cleanly() -> None:
    with VirtualDesktop(640, 480) as a, VirtualDesktop(800, 600) as b:
        assert a.display != b.display
        info = subprocess.run(["xdpyinfo"], env=b.env, capture_output=True, text=True).stdout
        assert "800x600 pixels" in info
        app = b.launch(["xterm", "-title", "t"])
        b.wait_for_window("t")
        groups = [p.pid for p in b._processes]
    assert not alive(app.pid)
    for pgid in groups:
        assert session_pids(pgid) == []


def test_stop_is_idempotent() -> None:
    desktop = VirtualDesktop(320, 240).start()
    desktop.stop()
    desktop.stop()


def test_a_desktop_does_not_outlive_a_process_killed_outright() -> None:
    """A SIGKILLed worker runs no cleanup; its Xvfb, window manager and apps must still go."""
    import os
    import signal
    import sys
    import time

    script = (
        "import sys, time\n"
        "from environments.virtual_desktop import VirtualDesktop\n"
        "d = VirtualDesktop(320, 240).start()\n"
        "app = d.launch(['xterm'])\n"
        "print(d.server.pid, app.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(p) for p in pids)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
