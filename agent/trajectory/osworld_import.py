"""Import a reference-harness result folder (OSWorld's `lib_run_single`) as our trajectory.

The reference layout, per task: `traj.jsonl` (one line per executed action: step_num,
action_timestamp, action, response, reward, done, info, screenshot_file), the screenshots
`step_<n>_<timestamp>.png` taken *after* each action, and `result.txt`. Actions are
pyautogui source (read with our parser, never run), `WAIT`/`DONE`/`FAIL`, or computer_13
dicts. The screen the model saw at step N is the one saved after step N−1; the first step's
is not saved by that harness, so it shows the screen after its own action (its `error` says so).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from actions.coords import Frame, locate, point_of
from actions.errors import ActionError
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    TypeText, Wait,
)
from actions.parser import parse_code
from agent.backends.chat import Completion, Sampling
from agent.trajectory.store import EpisodeInfo, ExecutionRecord, RequestRecord, StepRecord, TrajectoryWriter

FIRST_FRAME_NOTE = "the reference harness does not save the first screen: this frame is the screen after the action"


class ImportError_(ValueError):
    """The folder is not a reference-harness result folder; the message says what is missing."""


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as err:
            raise ImportError_(f"{path}:{number}: not JSON ({err})") from None


def _computer_13(action: dict[str, Any]) -> list[Action]:
    kind = str(action.get("action_type", "")).upper()
    params = action.get("parameters") or {k: v for k, v in action.items() if k != "action_type"}
    at = Point(x=params["x"], y=params["y"], space="screen") if "x" in params and "y" in params else None
    simple: dict[str, Action] = {"DONE": Done(), "FAIL": Fail(), "WAIT": Wait(seconds=1.0)}
    if kind in simple:
        return [simple[kind]]
    table = {
        "CLICK": lambda: Click(at=at, button=params.get("button", "left"), clicks=params.get("num_clicks", 1)),
        "RIGHT_CLICK": lambda: Click(at=at, button="right"),
        "DOUBLE_CLICK": lambda: Click(at=at, clicks=2),
        "MOVE_TO": lambda: MoveTo(at=at),
        "DRAG_TO": lambda: Drag(to=at),
        "MOUSE_DOWN": lambda: MouseDown(button=params.get("button", "left")),
        "MOUSE_UP": lambda: MouseUp(button=params.get("button", "left")),
        "SCROLL": lambda: Scroll(dx=params.get("dx", 0), dy=params.get("dy", 0)),
        "TYPING": lambda: TypeText(text=params["text"]),
        "PRESS": lambda: Press(keys=(params["key"],)),
        "KEY_DOWN": lambda: KeyDown(key=params["key"]),
        "KEY_UP": lambda: KeyUp(key=params["key"]),
        "HOTKEY": lambda: Hotkey(keys=tuple(params["keys"])),
    }
    if kind not in table:
        raise ActionError(f"unknown computer_13 action {kind!r}")
    return [table[kind]()]


def to_actions(action: Any) -> list[Action]:
    """One reference action as typed actions (raises ActionError if it cannot be read)."""
    if isinstance(action, dict):
        return _computer_13(action)
    text = str(action).strip()
    bare = {"DONE": [Done()], "FAIL": [Fail()], "WAIT": [Wait(seconds=1.0)]}
    return bare[text] if text in bare else parse_code(text)


def import_reference(source: Path, dest: Path, instruction: str = "", model: str = "", env: str = "osworld",
                     task_id: str | None = None, domain: str | None = None) -> Path:
    """Write `source` (a reference task folder) as a trajectory folder `dest`; returns `dest`."""
    traj = source / "traj.jsonl"
    if not traj.exists():
        raise ImportError_(f"{source}: no traj.jsonl (not a reference-harness result folder)")
    lines = list(_lines(traj))
    steps: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        steps.setdefault(int(line.get("step_num", len(steps) + 1)), []).append(line)
    score = _score(source / "result.txt")
    info = EpisodeInfo(instruction=instruction or "(imported: instruction unknown)", model=model or "unknown",
                       env=env, started_at=0.0, task_id=task_id or source.name, domain=domain or source.parent.name)
    writer = TrajectoryWriter(dest, info)
    previous_shot: Path | None = None
    last: list[Action] = []
    with writer:
        for index, (_, group) in enumerate(sorted(steps.items())):
            shot = source / str(group[-1].get("screenshot_file", ""))
            seen = previous_shot or shot
            if not seen.is_file():
                raise ImportError_(f"{source}: screenshot {seen.name} is missing")
            name = f"frames/{index:04d}.png"
            shutil.copyfile(seen, dest / name)
            with Image.open(seen) as image:
                frame = Frame.of_size(*image.size)
            actions: list[Action] = []
            errors = [FIRST_FRAME_NOTE] if previous_shot is None else []
            for line in group:
                try:
                    actions += to_actions(line.get("action"))
                except (ActionError, KeyError, TypeError, ValueError) as err:
                    errors.append(f"action not readable: {err}")
            stamp = _timestamp(group[0].get("action_timestamp"))
            writer.append(StepRecord(
                index=index, started_at=stamp, ended_at=stamp, screenshot=name, frame=frame,
                request=RequestRecord(model=info.model, messages=[], sampling=Sampling()),
                response=Completion(text=str(group[0].get("response") or "")),
                actions=actions,
                coordinates=[locate(p, frame) if (p := point_of(a)) is not None else None for a in actions],
                execution=ExecutionRecord(ok=True, executed=len(actions)),
                error="; ".join(errors) or None,
            ))
            previous_shot, last = shot, actions
        outcome = "done" if any(isinstance(a, Done) for a in last) else "fail" if any(isinstance(a, Fail) for a in last) else "max_steps"
        writer.finish(outcome)
        if score is not None:
            writer.record_score(score)
    return dest


def _score(path: Path) -> float | None:
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _timestamp(stamp: Any) -> float:
    """The harness writes %Y%m%d@%H%M%S%f (older releases: %Y%m%d@%H%M%S); anything else becomes 0."""
    from datetime import datetime

    text = str(stamp)
    layout = "%Y%m%d@%H%M%S%f" if len(text) > len("20260101@000000") else "%Y%m%d@%H%M%S"
    try:
        return datetime.strptime(text, layout).timestamp()
    except ValueError:
        return 0.0
