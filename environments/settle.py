"""Waiting for the screen to settle after an action, instead of sleeping a fixed time.

Two rules. `wait_until_idle` (desktops on this machine) watches the applications, not only
the pixels: it ends once the screen and the windows have not changed for `quiet` seconds, the
display's programs are off the CPU, and no program that was just busy is about to wake from a
short timer (`environments.activity`). `wait_until_settled` (any X display) compares frames:
fast, but a UI that pauses 0.3-0.6 s mid-update (a shell starting, LibreOffice's toolbar
timer) fools it; it is the fallback when the display cannot be watched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from environments.activity import DesktopActivity
from environments.screen import RawFrame, ScreenCapture, Screenshot


@dataclass(frozen=True)
class SettleConfig:
    interval: float = 0.03
    """Seconds between frames."""
    stable_frames: int = 3
    """Consecutive (nearly) equal frames that count as settled: 3 frames span 60 ms."""
    change_grace: float = 0.2
    """While the screen still equals the frame before the action (or, watching the desktop, while
    nothing at all has happened), keep waiting this long for the action's effect to begin (an app
    may take a moment to react)."""
    max_seconds: float = 3.0
    tolerance: float = 0.0
    """Fraction of sampled bytes allowed to differ between 'equal' frames. Exact by default:
    one typed character changes about as many pixels as a caret, and a blinking caret (or a
    clock) leaves stable stretches far longer than the 60 ms that count as settled."""
    sample_stride: int = 7
    """Compare every n-th byte: a stride coprime with 4 samples every colour channel."""
    watch: bool = True
    """Watch the desktop's programs (`wait_until_idle`) where possible; False: compare frames only."""
    poll_interval: float = 0.015
    """Seconds between looks at the desktop's activity (a look costs ~1 ms of CPU, no frame)."""
    quiet: float = 0.08
    """Seconds without a screen or window change and without a busy program that count as idle."""
    busy_share: float = 0.1
    """The display's programs using at least this share of one core are busy."""
    timer_horizon: float = 0.35
    """While a program that was just busy waits on a timer due within 0.3 s, keep waiting up to
    this long after the last activity: LibreOffice redraws its toolbars from timers that fire
    0.15-0.35 s after its last burst of work."""
    setup_max_seconds: float = 20.0
    """The cap after a task's setup, before the first observation: a LibreOffice document
    takes seconds to draw after its window maps."""


@dataclass(frozen=True)
class Settled:
    seconds: float
    frames: int
    """Frames grabbed (comparing frames) or looks at the desktop (`wait_until_idle`)."""
    stable: bool
    changed: bool
    """Whether the screen changed at all after the action."""
    capture_seconds: float
    """Time of the last grab and its conversion: what one capture costs."""
    screenshot: Screenshot = field(repr=False)
    signature: np.ndarray = field(repr=False)


def signature(frame: RawFrame, stride: int) -> np.ndarray:
    """A cheap sample of the frame's bytes for (near-)equality tests."""
    return np.frombuffer(frame.bgra, dtype=np.uint8)[::stride]


def _differs(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    if a.shape != b.shape:
        return True
    return np.count_nonzero(a != b) > tolerance * a.size


def wait_until_settled(capture: ScreenCapture, before: np.ndarray | None, config: SettleConfig) -> Settled:
    """Grab frames until `stable_frames` in a row are nearly equal, or `max_seconds` pass.

    `before` is the signature of the frame before the action. The last frame grabbed is
    returned as the new screenshot, so the caller need not capture again.
    """
    started = time.monotonic()
    grab_started = time.perf_counter()
    frame = capture.grab()
    grab_seconds = time.perf_counter() - grab_started
    previous = signature(frame, config.sample_stride)
    changed = before is not None and _differs(previous, before, config.tolerance)
    frames, run = 1, 1
    while True:
        elapsed = time.monotonic() - started
        waiting_for_change = not changed and before is not None and elapsed < config.change_grace
        stable = run >= config.stable_frames and not waiting_for_change
        if stable or elapsed >= config.max_seconds:
            convert_started = time.perf_counter()
            shot = capture.to_screenshot(frame)
            capture_seconds = grab_seconds + time.perf_counter() - convert_started
            return Settled(elapsed - grab_seconds, frames, stable, changed, capture_seconds, shot, previous)
        time.sleep(config.interval)
        grab_started = time.perf_counter()
        frame = capture.grab()
        grab_seconds = time.perf_counter() - grab_started
        current = signature(frame, config.sample_stride)
        frames += 1
        if _differs(current, previous, config.tolerance):
            run = 1
        else:
            run += 1
        if before is not None and not changed and _differs(current, before, config.tolerance):
            changed = True
        previous = current


def load_stretch() -> float:
    """How much longer a quiet gap must last on this machine now: the load average per core,
    between 1 and 4. Where programs queue for a CPU, an application at work goes quiet for
    longer between its steps (at a load of 3 per core a terminal's output paused for 0.1-0.2 s)."""
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 1.0
    return min(max(per_core, 1.0), 4.0)


def wait_until_idle(capture: ScreenCapture, activity: DesktopActivity, config: SettleConfig,
                    max_seconds: float | None = None,
                    on_candidate: Callable[[Screenshot], None] | None = None) -> Settled:
    """Look at the desktop every `poll_interval` s until it is idle (see the module's docstring),
    or `max_seconds` (default `config.max_seconds`) pass; then grab the frame. The quiet gap and
    the timer horizon (and the wait for an effect to begin) are stretched by `load_stretch()`.

    Nothing at all happening for `change_grace` s also counts as idle (an action without effect).
    A change seen while the frame was grabbed means the frame may be torn: look again.

    With `on_candidate`, the frame is grabbed once the desktop has been quiet for half the gap (or,
    while nothing has happened, half a gap before the wait for an effect ends) and offered to it
    (the agent encodes it while this still waits); if nothing changes before the desktop counts as
    idle, that very screenshot is returned and no second frame is grabbed.
    """
    started = time.monotonic()
    cap = config.max_seconds if max_seconds is None else max_seconds
    stretch = load_stretch()
    quiet, horizon = config.quiet * stretch, config.timer_horizon * stretch
    last_activity: float | None = None
    changed = False
    looks = 0
    candidate: tuple[RawFrame, Screenshot, float] | None = None
    while True:
        reading = activity.poll()
        looks += 1
        changed |= reading.changed
        if reading.changed:
            candidate = None
        if reading.changed or reading.spawned or reading.cpu_share >= config.busy_share:
            last_activity = reading.at
        elapsed = reading.at - started
        if last_activity is None:
            idle = elapsed >= config.change_grace * stretch
            near = elapsed >= config.change_grace * stretch - quiet / 2
        else:
            quiet_for = reading.at - last_activity
            idle = quiet_for >= quiet and (not reading.timer_due or quiet_for >= horizon)
            near = quiet_for >= quiet / 2
        if on_candidate is not None and candidate is None and not idle and near:
            candidate = _candidate(capture, activity)
            if candidate is not None:
                on_candidate(candidate[1])
        if idle and candidate is not None:
            frame, shot, capture_seconds = candidate  # grabbed while waiting: all of it is the wait
            return Settled(time.monotonic() - started, looks, idle, changed, capture_seconds, shot,
                           signature(frame, config.sample_stride))
        if idle or elapsed >= cap:
            grab_started = time.perf_counter()
            frame = capture.grab()
            grab_seconds = time.perf_counter() - grab_started
            if idle and activity.poll().changed and time.monotonic() - started < cap:
                changed, last_activity = True, time.monotonic()
                continue
            convert_started = time.perf_counter()
            shot = capture.to_screenshot(frame)
            capture_seconds = grab_seconds + time.perf_counter() - convert_started
            seconds = time.monotonic() - started - capture_seconds
            sample = signature(frame, config.sample_stride)
            return Settled(seconds, looks, idle, changed, capture_seconds, shot, sample)
        time.sleep(config.poll_interval)


def _candidate(capture: ScreenCapture, activity: DesktopActivity) -> tuple[RawFrame, Screenshot, float] | None:
    """A frame grabbed now and converted, with what that cost; None if the screen changed meanwhile.
    The change is not lost: the next poll of `activity` still reports it."""
    started = time.perf_counter()
    frame = capture.grab()
    shot = capture.to_screenshot(frame)
    seconds = time.perf_counter() - started
    return None if activity.peek_changed() else (frame, shot, seconds)


@dataclass(frozen=True)
class Polled:
    """The last of a series of encoded screenshots, and how the series went."""

    data: bytes
    frames: int
    stable: bool
    grab_seconds: float
    """What the last grab cost."""


def poll_until_identical(grab: Callable[[], bytes], interval: float, deadline: float) -> Polled:
    """Grab encoded screenshots every `interval` s until two in a row are byte-identical, or
    `deadline` (time.monotonic) passes. For screens whose grab is the slow part (a browser's
    or a VM's screenshot), where comparing whole encodings is cheaper than decoding."""
    started = time.perf_counter()
    previous = grab()
    grab_seconds = time.perf_counter() - started
    frames = 1
    while time.monotonic() < deadline:
        time.sleep(interval)
        started = time.perf_counter()
        current = grab()
        grab_seconds = time.perf_counter() - started
        frames += 1
        if current == previous:
            return Polled(current, frames, True, grab_seconds)
        previous = current
    return Polled(previous, frames, False, grab_seconds)
