"""Waiting for the screen to settle after an action, instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from environments.screen import RawFrame, ScreenCapture, Screenshot


@dataclass(frozen=True)
class SettleConfig:
    interval: float = 0.03
    """Seconds between frames."""
    stable_frames: int = 3
    """Consecutive (nearly) equal frames that count as settled: 3 frames span 60 ms."""
    change_grace: float = 0.2
    """While the screen still equals the frame before the action, keep waiting this long for
    the action's effect to begin (an app may take a moment to react)."""
    max_seconds: float = 3.0
    tolerance: float = 0.0
    """Fraction of sampled bytes allowed to differ between 'equal' frames. Exact by default:
    one typed character changes about as many pixels as a caret, and a blinking caret (or a
    clock) leaves stable stretches far longer than the 60 ms that count as settled."""
    sample_stride: int = 7
    """Compare every n-th byte: a stride coprime with 4 samples every colour channel."""


@dataclass(frozen=True)
class Settled:
    seconds: float
    frames: int
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
