"""What the live page shows of each episode, read from the files its writer leaves (never from process state).

Evaluation runs episodes in worker processes or Ray actors; all of them write episode folders
(`agent.trajectory.store`): `episode.json` at start and end, a frame before the model is asked,
a step line when the step ends. Reading only those files makes one watcher work for `run`,
the local pool and Ray workers alike (with a shared folder).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from actions.describe import describe_action
from agent.trajectory.liveness import EpisodeStatus, episode_status
from agent.trajectory.store import EPISODE_FILE, FRAMES_DIR, TRAJECTORY_FILE, EpisodeInfo, StepRecord

MAX_DEPTH = 4
"""Episode folders are found this deep under the watched folder (RESULTS/domain/task/trajectory is 3)."""
SKIPPED = frozenset({FRAMES_DIR, "work", "replay-diverged", "__pycache__"})
FRAME_NAME = re.compile(r"^(\d{4}|final)\.(jpg|jpeg|png|webp)$")
TAIL_CHUNK = 65536
ELSEWHERE_STALE_SECONDS = 600.0
"""An episode written on another host (a Ray actor) counts as running while its files changed this
recently: that host's processes cannot be checked from here, and a model may think for minutes."""


class EpisodeCard(BaseModel):
    """One episode as the page draws it (sent as JSON; every string is shown as text)."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The episode folder relative to the watched folder."""
    instruction: str
    task: str | None = None
    status: str
    """The outcome once finished, else `running`, `killed` or `unfinished` (`agent.trajectory.liveness`)."""
    status_detail: str = ""
    live: bool
    model: str
    stand_in: str | None = None
    env: str
    vnc: str | None = None
    steps: int
    """Steps finished."""
    frame: str | None = None
    """The latest frame's name in the episode folder (`frames/0003.jpg`, `frames/final.jpg`)."""
    thinking_since: float | None = None
    """When the model was asked about the latest frame (its file's time), while it has not answered."""
    intent: str = ""
    actions: list[str] = []
    error: str | None = None
    answer: str | None = None
    score: float | None = None
    started_at: float
    updated_at: float


@dataclass
class _Cached:
    key: tuple[int, int]
    step: StepRecord | None


@dataclass
class EpisodeWatcher:
    """Finds episode folders under `root` and turns each into a card; unchanged step files are not re-read."""

    root: Path
    since: float
    """Episodes that started before this are shown only while they run."""
    _last_steps: dict[Path, _Cached] = field(default_factory=dict)

    def cards(self) -> list[EpisodeCard]:
        """Running episodes first, then the rest, newest first."""
        cards = [card for folder in self.folders() if (card := self.card(folder)) is not None]
        shown = [c for c in cards if c.live or c.started_at >= self.since]
        return sorted(shown, key=lambda c: (not c.live, -c.started_at))

    def folders(self) -> list[Path]:
        """Every folder holding an `episode.json`, at most `MAX_DEPTH` below the root."""
        found: list[Path] = []
        pending = [(self.root, 0)]
        while pending:
            folder, depth = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            if any(e.name == EPISODE_FILE for e in entries):
                found.append(Path(folder))
                continue
            if depth < MAX_DEPTH:
                pending += [(Path(e.path), depth + 1) for e in entries if e.name not in SKIPPED
                            and not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
        return found

    def folder_of(self, episode_id: str) -> Path | None:
        """The episode folder an id names, only if it is one this watcher finds (never an arbitrary path)."""
        return next((f for f in self.folders() if self._id(f) == episode_id), None)

    def card(self, folder: Path) -> EpisodeCard | None:
        try:
            info = EpisodeInfo.model_validate_json((folder / EPISODE_FILE).read_bytes())
        except (OSError, ValidationError):
            return None  # being replaced, or not ours: the next poll sees it
        status = episode_status(info)
        step = self._last_step(folder)
        finished = status.state == "finished"
        frame, frame_time = latest_frame(folder, final=info.final_frame if finished else None)
        updated = max(frame_time or 0.0, step.ended_at if step else info.started_at)
        elsewhere = status.state == "unknown" and info.writer is not None
        if elsewhere and info.writer is not None and time.time() - updated < ELSEWHERE_STALE_SECONDS:
            status = EpisodeStatus("running", "running", f"on {info.writer.host} (pid {info.writer.pid}), "
                                                         "judged from its files changing")
        finished_steps = step.index + 1 if step is not None else 0
        thinking = (status.state == "running" and frame is not None and frame != info.final_frame
                    and _frame_index(frame) == finished_steps)
        chains = step.coordinates + [None] * (len(step.actions) - len(step.coordinates)) if step else []
        return EpisodeCard(
            id=self._id(folder), instruction=info.instruction,
            task=f"{info.domain}/{info.task_id}" if info.domain and info.task_id else info.task_id,
            status=status.label, status_detail=status.detail, live=status.state == "running",
            model=info.model, stand_in=info.stand_in, env=info.env, vnc=info.vnc, steps=finished_steps,
            frame=frame, thinking_since=frame_time if thinking else None,
            intent=step.intent if step else "",
            actions=[describe_action(a, c) for a, c in zip(step.actions, chains)] if step else [],
            error=info.error or (step.error if step else None), answer=info.answer, score=info.score,
            started_at=info.started_at, updated_at=updated,
        )

    def _id(self, folder: Path) -> str:
        return folder.relative_to(self.root).as_posix() if folder != self.root else "."

    def _last_step(self, folder: Path) -> StepRecord | None:
        path = folder / TRAJECTORY_FILE
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._last_steps.get(folder)
        if cached is None or cached.key != key:
            cached = _Cached(key, last_step(path))
            self._last_steps[folder] = cached
        return cached.step


def latest_frame(folder: Path, final: str | None = None) -> tuple[str | None, float | None]:
    """The newest frame's name (`final` when given and present) and its file's modification time."""
    if final is not None and (folder / final).is_file():
        return final, (folder / final).stat().st_mtime
    try:
        names = [e.name for e in os.scandir(folder / FRAMES_DIR) if FRAME_NAME.match(e.name)]
    except OSError:
        return None, None
    numbered = sorted(n for n in names if not n.startswith("final"))
    if not numbered:
        return None, None
    name = f"{FRAMES_DIR}/{numbered[-1]}"
    try:
        return name, (folder / name).stat().st_mtime
    except OSError:
        return None, None


def last_step(path: Path) -> StepRecord | None:
    """The last complete step line of a `trajectory.jsonl`, read from its end (a torn line is skipped)."""
    try:
        with open(path, "rb") as f:
            position = f.seek(0, os.SEEK_END)
            tail = b""
            while position > 0:
                start = max(0, position - TAIL_CHUNK)
                f.seek(start)
                tail = f.read(position - start) + tail
                position = start
                lines = tail.split(b"\n")
                whole = lines[1:] if position > 0 else lines  # the first may be cut by the chunk
                for line in reversed(whole):
                    if line.strip():
                        try:
                            return StepRecord.model_validate_json(line)
                        except ValidationError:
                            continue
    except OSError:
        return None
    return None


def _frame_index(name: str) -> int | None:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else None
