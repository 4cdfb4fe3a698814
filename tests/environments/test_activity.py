"""`DesktopActivity` with real X clients: damage and window events, the CPU of the display's
programs (not this process's session), programs starting and ending, and pending short timers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from environments.activity import DesktopActivity, Reading

pytestmark = pytest.mark.desktop

BUSY = "while :; do :; done"


@pytest.fixture
def activity(x_display) -> Iterator[DesktopActivity]:
    watcher = DesktopActivity.open(x_display.display)
    yield watcher
    watcher.close()


def readings(activity: DesktopActivity, seconds: float, interval: float = 0.02) -> list[Reading]:
    found, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(interval)
        found.append(activity.poll())
    return found


def quiet(activity: DesktopActivity, timeout: float = 10.0) -> None:
    """Wait until the desktop is idle for 0.3 s (earlier tests' programs settle down)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = readings(activity, 0.3)
        if not any(r.changed or r.spawned or r.cpu_share >= 0.1 for r in seen):
            return
    raise AssertionError("the desktop never went quiet")


def test_a_busy_program_on_the_display_counts_and_one_in_this_session_does_not(
        x_display, activity: DesktopActivity, started: list[subprocess.Popen]) -> None:
    quiet(activity)
    # In this process's session (the agent itself, a benchmark's watcher): never the app's work.
    started.append(subprocess.Popen(["sh", "-c", BUSY], env=x_display.env))
    assert max(r.cpu_share for r in readings(activity, 0.5)) < 0.1
    ours = started.pop()
    ours.kill()
    ours.wait()
    started.append(x_display.launch(["sh", "-c", BUSY]))
    shares = [r.cpu_share for r in readings(activity, 0.6)[5:]]
    assert sum(shares) / len(shares) >= 0.1  # on a loaded machine it may miss a 20 ms slice


def test_an_idle_terminal_is_quiet(x_display, activity: DesktopActivity,
                                   started: list[subprocess.Popen]) -> None:
    started.append(x_display.launch(["xterm", "-geometry", "40x5+700+500", "-title", "idle-term",
                                     "-e", "sleep", "60"]))
    x_display.wait_for_window("idle-term")
    quiet(activity)
    seen = readings(activity, 1.0)
    assert not any(r.changed or r.spawned or r.timer_due for r in seen)
    assert max(r.cpu_share for r in seen) < 0.1


def test_commands_started_and_ended_by_a_script_are_counted(x_display, activity: DesktopActivity) -> None:
    quiet(activity)
    x_display.launch(["sh", "-c", "sleep 0.1; sleep 0.1"])
    assert sum(r.spawned for r in readings(activity, 0.6)) >= 3  # sh, the first sleep ending, the second


def test_window_changes_count_and_a_caret_sized_redraw_does_not(x_display, activity: DesktopActivity) -> None:
    from Xlib import display as xdisplay

    connection = xdisplay.Display(x_display.display)
    screen = connection.screen()
    window = screen.root.create_window(50, 50, 300, 200, 0, screen.root_depth,
                                       background_pixel=screen.white_pixel)
    gc = window.create_gc(foreground=screen.black_pixel)
    try:
        window.map()
        connection.sync()
        assert any(r.changed for r in readings(activity, 0.3))
        quiet(activity)
        window.fill_rectangle(gc, 100, 50, 2, 20)  # a caret's bar
        connection.sync()
        assert not any(r.changed for r in readings(activity, 0.2))
        window.fill_rectangle(gc, 100, 50, 40, 20)
        connection.sync()
        assert any(r.changed for r in readings(activity, 0.2))
        window.configure(x=80)
        connection.sync()
        assert any(r.changed for r in readings(activity, 0.2))
    finally:
        window.destroy()
        connection.sync()
        connection.close()


TIMER_PROGRAM = """
import select, sys, time
started = time.monotonic()
while time.monotonic() - started < 0.3:
    pass
while True:
    select.poll().poll(int(sys.argv[1]))
"""


@pytest.mark.parametrize("timeout_ms, due", [(150, True), (5000, False)])
def test_a_program_that_just_worked_and_waits_on_a_short_timer_is_seen(
        x_display, activity: DesktopActivity, started: list[subprocess.Popen], timeout_ms: int,
        due: bool) -> None:
    quiet(activity)
    started.append(x_display.launch([sys.executable, "-c", TIMER_PROGRAM, str(timeout_ms)]))
    seen = readings(activity, 1.0)
    assert any(r.timer_due for r in seen) is due


CHAINED_TIMERS_PROGRAM = """
import select, sys, time
started = time.monotonic()
while time.monotonic() - started < 0.3:
    pass
open(sys.argv[1], "w").write(repr(time.monotonic()))  # when the work ended (one clock for the machine)
select.poll().poll(200)
select.poll().poll(80)
time.sleep(5)
"""


def test_a_short_timer_armed_while_another_is_pending_keeps_it_due(
        x_display, activity: DesktopActivity, started: list[subprocess.Popen], tmp_path) -> None:
    """A program that works, then waits 200 ms and at once 80 ms more (LibreOffice's timers before a
    toolbar redraw), then sleeps: the second timer is seen when it is armed, so a timer stays due until
    it has run out plus the margin, even though the program sleeps in a call that is no timer by then.
    (Read only once the first timer had run out, at 0.3 s, the program was asleep: no timer was due.)"""
    quiet(activity)
    ended = tmp_path / "worked-until"
    started.append(x_display.launch([sys.executable, "-c", CHAINED_TIMERS_PROGRAM, str(ended)]))
    seen = readings(activity, 1.5, interval=0.01)
    end = float(ended.read_text())
    assert any(r.cpu_share >= activity.busy_share for r in seen), "the program's work was not seen"
    due_until = end + 0.2 + 0.08 + activity.timer_margin
    chain = [r for r in seen if end + 0.03 <= r.at <= due_until - 0.03]
    assert chain and all(r.timer_due for r in chain), [(round(r.at - end, 3), r.timer_due) for r in chain]
    assert not any(r.timer_due for r in seen if r.at > due_until + 0.1)
