"""Recording a human demonstration on the current X display as a trajectory.

pynput reports mouse buttons, wheel clicks and keys as the X server sees them;
`agent.record.input_grouping` turns them into typed actions, one step per group. Each step's frame
is the screen as it was just before the group's first event, from a capture every 40 ms.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from actions.coords import to_screen
from agent.backends.chat import Completion, Sampling
from agent.record.input_grouping import (
    ActionGrouper, Demonstrated, InputEvent, KeyStroke, MouseButton, Wheel, normalize_key,
)
from agent.record.xtest import nudge_until
from agent.trajectory.store import (
    EnvSetup, EpisodeInfo, ExecutionRecord, Outcome, RequestRecord, StepRecord, TrajectoryWriter,
)
from environments.encode import encode_image
from environments.screen import RawFrame, ScreenCapture, frame_for

CAPTURE_INTERVAL = 0.04
BEFORE_MARGIN = 0.02
"""A frame counts as 'before' an event only if grabbed this long before it: the event reaches
us about when the application sees it, so a frame grabbed right then may show its effect."""


class RecentFrames:
    """Grabs the screen every `CAPTURE_INTERVAL` s in a thread and keeps the last few frames."""

    def __init__(self, capture: ScreenCapture) -> None:
        self.capture = capture
        self.error: Exception | None = None
        self._frames: deque[RawFrame] = deque(maxlen=4)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demonstration-capture", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        self._first.wait()
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def before(self, t: float) -> RawFrame:
        """The newest frame grabbed at least `BEFORE_MARGIN` before `t` (else the oldest kept)."""
        with self._lock:
            return next((f for f in reversed(self._frames) if f.captured_at <= t - BEFORE_MARGIN), self._frames[0])

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.capture.grab()
                with self._lock:
                    self._frames.append(frame)
                self._first.set()
                self._stop.wait(CAPTURE_INTERVAL)
        except Exception as err:  # noqa: BLE001  handed to the recording loop, which raises it
            self.error = err
        finally:
            self._first.set()
            self.capture.close()


@dataclass(frozen=True)
class RecordOptions:
    folder: Path
    stop_keys: frozenset[str] = frozenset({"ctrl", "alt", "q"})
    max_seconds: float | None = None
    monitor: int = 1
    instruction: str = "human demonstration"


@dataclass(frozen=True)
class Recording:
    outcome: Outcome
    steps: int
    skipped: list[str]


def record_demonstration(
    options: RecordOptions, on_ready: Callable[[], None] = lambda: None,
    on_step: Callable[[StepRecord], None] = lambda _: None,
) -> Recording:
    """Record input on the current display into `options.folder` until the stop hotkey, the time limit or Ctrl+C."""
    events: queue.Queue[InputEvent] = queue.Queue()
    grouper = ActionGrouper(options.stop_keys)
    info = EpisodeInfo(instruction=options.instruction, model="human", env="desktop", started_at=time.time(),
                       setup=EnvSetup(kind="desktop", monitor=options.monitor))
    with RecentFrames(ScreenCapture(options.monitor)) as frames, _Listeners(events, frames), \
            TrajectoryWriter(options.folder, info) as writer:
        on_ready()
        deadline = None if options.max_seconds is None else time.monotonic() + options.max_seconds
        outcome: Outcome = "interrupted"
        try:
            while not grouper.stopped:
                if frames.error is not None:
                    outcome = "error"
                    raise frames.error
                if deadline is not None and time.monotonic() > deadline:
                    break
                try:
                    event = events.get(timeout=0.05)
                except queue.Empty:
                    continue
                for step in grouper.feed(event):
                    on_step(_write_step(writer, step))
            outcome = "done" if grouper.stopped else "timeout"
        except KeyboardInterrupt:
            pass  # Ctrl+C ends a recording like the stop hotkey does; the outcome says how it ended
        finally:
            for step in grouper.flush():
                on_step(_write_step(writer, step))
            writer.finish(outcome)
    return Recording(outcome, writer.info.steps, grouper.skipped)


def _write_step(writer: TrajectoryWriter, step: Demonstrated) -> StepRecord:
    shot = ScreenCapture.to_screenshot(step.frame)
    frame = frame_for(shot)
    image = encode_image(shot.image, "jpeg")
    index = writer.info.steps
    record = StepRecord(
        index=index, started_at=step.started_at, ended_at=step.ended_at,
        screenshot=writer.write_frame(index, image.data, image.extension), frame=frame,
        request=RequestRecord(model="human", messages=[], sampling=Sampling()), response=Completion(text=""),
        thought=step.description, intent=step.description, actions=list(step.actions),
        coordinates=[to_screen(action, frame)[1] for action in step.actions],
        execution=ExecutionRecord(ok=True, executed=len(step.actions)),
    )
    writer.append(record)
    return record


class _Listeners:
    """pynput's mouse and keyboard listeners, feeding `events`.

    A pynput listener on X says it is ready before its RECORD context is enabled, and only
    notices `stop()` at the next input event; so both are nudged with synthetic events that
    change nothing (a pointer move to where it is, a key with no symbol) until each has
    reported one after starting, and until each has ended after stopping.
    """

    def __init__(self, events: queue.Queue[InputEvent], frames: RecentFrames) -> None:
        self.events, self.frames = events, frames
        self._mouse_live, self._keys_live = threading.Event(), threading.Event()

    def __enter__(self) -> Self:
        from pynput import keyboard, mouse  # needs DISPLAY at import

        self._mouse = mouse.Listener(on_move=lambda *_: self._mouse_live.set(), on_click=self._click, on_scroll=self._scroll)
        self._keys = keyboard.Listener(on_press=lambda k: self._key(k, True), on_release=lambda k: self._key(k, False))
        for listener in (self._mouse, self._keys):
            listener.start()
            listener.wait()
        nudge_until(lambda keys_probed: self._mouse_live.is_set() and (self._keys_live.is_set() or not keys_probed))
        return self

    def __exit__(self, *_: object) -> None:
        for listener in (self._mouse, self._keys):
            listener.stop()
        nudge_until(lambda _: not (self._mouse.is_alive() or self._keys.is_alive()))

    def _click(self, x: int, y: int, button: Any, pressed: bool) -> None:
        if button.name in ("left", "middle", "right"):
            t = time.time()
            self.events.put(MouseButton(t, int(x), int(y), button.name, pressed, self.frames.before(t)))

    def _scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        t = time.time()
        self.events.put(Wheel(t, int(x), int(y), int(dx), int(dy), self.frames.before(t)))

    def _key(self, key: Any, pressed: bool) -> None:
        self._keys_live.set()
        name = normalize_key(getattr(key, "name", None), getattr(key, "char", None))
        if name is not None:
            t = time.time()
            self.events.put(KeyStroke(t, name, pressed, self.frames.before(t)))
