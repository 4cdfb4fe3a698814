"""What a desktop is doing right now, beyond its pixels: X DAMAGE and window events, and the CPU
and pending timers of the programs on the display.

A screen that has stopped changing is not a finished application: a new xterm maps its window
at once but its shell draws the prompt 0.3-0.45 s later, and LibreOffice redraws toolbars from
a timer 0.15-0.6 s after its last visible change (benchmarks/settle.py). Those gaps are visible
here: the shell is on the CPU while the screen is quiet, and LibreOffice's main thread sleeps in
poll() with a timeout of a few tens of milliseconds. `DesktopActivity.poll()` reads these
signals (and programs starting or ending); `environments.settle` turns them into a rule.

The display's programs are the processes whose environment names this DISPLAY, outside this
process's own session (the agent itself, and helpers it spawned such as a benchmark's watcher),
plus the display's X server. Everything is read from /proc of this machine: a remote display's
programs are not visible, and `DesktopActivity.open` says so.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

CARET_WIDTH, CARET_HEIGHT = 3, 48
"""A damaged rectangle at most this narrow and short is a text caret blinking (GTK's and
LibreOffice's are 1-2 px wide, up to one line tall), not the application changing."""
X_SERVERS = frozenset({"Xvfb", "Xorg", "X", "Xvnc", "Xwayland", "Xephyr"})
"""Other displays' servers are not this display's programs. This display's own server is (found
through the X-Resource extension): an application waiting on a busy server is at work, and
settling grabs no frame while it watches."""
WAIT_SYSCALLS = {"x86_64": {7: 2, 232: 3, 281: 3}, "aarch64": {22: 3}}
"""Per machine: the numbers of the waiting calls whose timeout (ms, an int) is an argument, and
its index in /proc/PID/syscall: poll, epoll_wait, epoll_pwait (GLib and LibreOffice use poll)."""


SETSID_GRACE = 0.5
"""Seconds a new process in this process's session is looked at again: a program started in a
session of its own (every desktop program here) is in ours only between its fork and setsid()."""
STARVED_SHARE = 0.5
"""A program that waited for a CPU at least this share of the time between two looks is at work,
however little it ran (a timer tick queues for a few ms at most)."""
MIN_WORK_NS = 1_000_000
"""CPU time (ns) between two looks below which a program's wake-up is not work: an idle
LibreOffice ticks for ~0.2 ms, a caret blink costs ~0.5 ms."""


class ActivityUnavailable(RuntimeError):
    """The display cannot be watched (no DAMAGE extension, not a local X display, no /proc)."""


@dataclass(frozen=True)
class Reading:
    """One look at the desktop, at `at` (time.monotonic())."""

    at: float
    changed: bool
    """The screen (apart from a caret) or a window's shape, place or mapping changed since the last look."""
    cpu_share: float
    """CPU the display's programs used or waited for since the last look, as a share of one core
    over that time."""
    timer_due: bool
    """A program that was busy lately was seen sleeping in a wait that ends within `timer_soon` s,
    and that wait (plus `timer_margin`) has not run out yet."""
    spawned: int
    """Programs on the display that started or ended since the last look (a shell script at work:
    its short-lived commands may start, run and end between two looks, their CPU time unseen)."""


def _display_number(display: str) -> str:
    """':5', ':5.0' and 'unix:5.0' all name display 5 (its screen does not matter here)."""
    return display.rsplit(":", 1)[-1].split(".", 1)[0]


@dataclass
class _Process:
    on_display: bool | None
    """None: in this process's session for now (a child between fork and setsid), look again."""
    first_seen: float = 0.0
    cpu_ns: int = 0
    waited_ns: int = 0
    busy_at: float = float("-inf")
    waiting: bytes = b""
    """What its main thread was doing at the last look (/proc/PID/syscall), to tell a new wait from the same one."""


@dataclass
class DesktopActivity:
    """Watches one X display: `open(display)`, then `poll()` between looks, `close()` at the end."""

    display_name: str
    busy_share: float = 0.1
    """A program using at least this share of a core counts as busy (an idle LibreOffice wakes to
    use ~1 %, a blinking caret ~3 %)."""
    timer_soon: float = 0.3
    """A wait ending within this many seconds counts as a pending timer."""
    recent: float = 1.0
    """Only a program busy within this many seconds is watched for timers (a clock's tick is not)."""
    timer_margin: float = 0.1
    """A timer counts as pending this long past its deadline: the program still has to draw."""
    _xlib: object = field(default=None, repr=False)
    _processes: dict[int, _Process] = field(default_factory=dict, repr=False)
    _last_at: float = 0.0
    _session: int = field(default_factory=lambda: os.getsid(0))
    _server_pid: int | None = None
    _timer_until: float = float("-inf")
    _waits: dict[int, int] = field(default_factory=dict, repr=False)
    _seen_change: bool = False
    """A change `peek_changed` drained from the X events, still to be reported by the next `poll`."""

    @classmethod
    def open(cls, display: str | None = None, **kwargs: float) -> DesktopActivity:
        from Xlib import X, display as xdisplay, error as xerror
        from Xlib.ext import damage

        name = display or os.environ.get("DISPLAY", "")
        host = name.rsplit(":", 1)[0]
        if not name or host not in ("", "unix", "localhost"):
            raise ActivityUnavailable(f"{name or 'no DISPLAY'}: a remote display's programs are out of sight")
        if not Path("/proc/self/stat").exists():
            raise ActivityUnavailable("no /proc to read the programs' CPU time from")
        try:
            connection = xdisplay.Display(name)
        except (xerror.DisplayError, OSError) as err:
            raise ActivityUnavailable(f"cannot open {name}: {err}") from err
        if not connection.query_extension("DAMAGE").present:
            connection.close()
            raise ActivityUnavailable(f"{name} has no DAMAGE extension")
        connection.damage_query_version()
        root = connection.screen().root
        root.damage_create(damage.DamageReportRawRectangles)
        root.change_attributes(event_mask=X.SubstructureNotifyMask)
        connection.sync()
        watcher = cls(name, **kwargs)
        watcher._xlib = connection
        watcher._server_pid = _server_pid(connection)
        watcher._waits = WAIT_SYSCALLS.get(platform.machine(), {})
        watcher.poll()  # the baseline: every program's CPU time so far, events so far drained
        return watcher

    def peek_changed(self) -> bool:
        """Whether the screen changed since the last poll, without ending the poll's interval: the
        change is reported again by the next `poll`."""
        self._seen_change |= self._drain_events()
        return self._seen_change

    def poll(self) -> Reading:
        """What happened since the last poll (drains the X events, reads /proc)."""
        changed = self._drain_events() or self._seen_change
        self._seen_change = False
        now = time.monotonic()
        elapsed = max(now - self._last_at, 1e-3)
        self._last_at = now
        used_ns, started = 0, 0
        alive = _pids()
        baseline = not self._processes
        for pid in alive:
            process = self._processes.get(pid)
            if process is None or process.on_display is None:
                seen_before = process is not None
                first_seen = process.first_seen if process is not None else now
                found = pid == self._server_pid or self._on_display(pid)
                if found is None and now - first_seen > SETSID_GRACE:
                    found = False  # it stays in this process's session
                process = self._processes[pid] = _Process(found, first_seen=first_seen)
                if not process.on_display:
                    continue
                if baseline and not seen_before:
                    process.cpu_ns, process.waited_ns = _cpu_ns(pid)
                    continue
                started += 1  # new since the last look: all its CPU time is new too
            elif not process.on_display:
                continue
            ran_ns, waited_ns = _cpu_ns(pid)
            ran = max(ran_ns - process.cpu_ns, 0)
            wanted = max(ran_ns + waited_ns - process.cpu_ns - process.waited_ns, 0)
            process.cpu_ns, process.waited_ns = ran_ns, waited_ns
            # A program at work on a loaded machine waits for a CPU as much as it runs: count that
            # wait, but not for a wake-up too short to be work (a timer tick, a caret's blink) —
            # unless it waited most of the time (a starting program starved of CPU: measured 77 µs
            # run and 32 ms queued between two looks at load 5).
            if ran >= MIN_WORK_NS or wanted - ran >= STARVED_SHARE * elapsed * 1e9:
                used_ns += wanted
                if wanted >= self.busy_share * elapsed * 1e9:
                    process.busy_at = now
            if now - process.busy_at <= self.recent:
                # Looked at on every look, not only once the last timer has run out: a program that
                # fires one timer and at once arms the next (LibreOffice: 150 then 114 ms, then a
                # toolbar redraw) may be caught running, or between the two, by a single look.
                waiting, timeout = self._wait(pid)
                if ran or waiting != process.waiting:  # a wait begun since the last look
                    process.waiting = waiting
                    if timeout is not None:
                        self._timer_until = max(self._timer_until, now + timeout + self.timer_margin)
        ended = 0
        for gone in self._processes.keys() - alive:
            ended += self._processes.pop(gone).on_display is True
        timer_due = now < self._timer_until
        return Reading(now, changed, used_ns / (elapsed * 1e9), timer_due, started + ended)

    def _drain_events(self) -> bool:
        changed = False
        connection = self._xlib
        while connection.pending_events():
            event = connection.next_event()
            if type(event).__name__ == "DamageNotify":
                area = event.area
                changed |= area.width > CARET_WIDTH or area.height > CARET_HEIGHT
            else:  # create, map, unmap, configure, reparent, destroy of a top-level window
                changed = True
        return changed

    def _on_display(self, pid: int) -> bool | None:
        """Whether `pid` is one of the display's programs; None while it is in this process's session."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            comm = stat[stat.index("(") + 1: stat.rindex(")")]
            session = int(stat.rsplit(")", 1)[1].split()[3])
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, ValueError, IndexError):
            return False
        if session == self._session:
            return None
        if comm in X_SERVERS:
            return False
        ours = _display_number(self.display_name)
        for entry in environ.split(b"\0"):
            if entry.startswith(b"DISPLAY="):
                return _display_number(entry[8:].decode(errors="replace")) == ours
        return False

    def _wait(self, pid: int) -> tuple[bytes, float | None]:
        """What the main thread of `pid` is doing (its /proc/PID/syscall line), and the timeout in seconds
        if it sleeps in poll()/epoll_wait() with one of at most `timer_soon` (a timer of the program's
        main loop about to fire: LibreOffice's toolbar updates), else None. The line names the call and
        its arguments, timeout included, as they were when the call began: it changes when a new wait begins."""
        try:
            line = _read(f"/proc/{pid}/syscall")
        except OSError:
            return b"", None
        fields = line.split()
        if len(fields) < 7 or not fields[0].isdigit():
            return line, None  # "running" (its CPU time shows it) or not in a call
        index = self._waits.get(int(fields[0]))
        if index is None:
            return line, None
        timeout = int(fields[1 + index], 16) & 0xFFFFFFFF
        timeout_ms = timeout - (1 << 32) if timeout >= 1 << 31 else timeout
        return line, timeout_ms / 1000 if 0 <= timeout_ms <= self.timer_soon * 1000 else None

    def close(self) -> None:
        if self._xlib is not None:
            self._xlib.close()
            self._xlib = None


def _server_pid(connection: object) -> int | None:
    """The X server's process id (X-Resource names it as client 0), if the server tells."""
    from Xlib.ext import res

    if not connection.query_extension("X-Resource").present:
        return None
    ids = connection.res_query_client_ids([{"client": 0, "mask": res.LocalClientPIDMask}]).ids
    return next((int(i.value[0]) for i in ids if i.spec.client == 0 and i.value), None)


def _pids() -> set[int]:
    """Every process id (a pid freed and reused between two polls, ~20 ms apart, is not expected)."""
    return {int(name) for name in os.listdir("/proc") if name[0].isdigit()}


def _cpu_ns(pid: int) -> tuple[int, int]:
    """(time on a CPU, time runnable in a run queue) of every thread of `pid` so far, in ns
    (schedstat: finer than stat's 10 ms ticks)."""
    ran = waited = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for task in tasks:
        try:
            on_cpu, queued = _read(f"/proc/{pid}/task/{task}/schedstat").split()[:2]
        except (OSError, ValueError):
            continue
        ran, waited = ran + int(on_cpu), waited + int(queued)
    return ran, waited


def _read(path: str) -> bytes:
    """A small /proc file (os.read: a poll reads dozens, pathlib's overhead would double its cost)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)
