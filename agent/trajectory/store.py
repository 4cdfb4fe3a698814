"""Trajectories on disk: one folder per episode, `trajectory.jsonl` appended and flushed per step.

Layout of an episode folder:
  episode.json      what was asked and how it ended (rewritten atomically at start and end)
  trajectory.jsonl  one `StepRecord` per line, appended and fsync'd as each step ends
  frames/           one image per frame the model saw, referenced by each step line

A run killed at any instant leaves a folder that reads back up to its last finished step:
a torn last line is ignored, and a frame file is written before the line that names it.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from actions.coords import Frame, PointChain
from actions.errors import first_error
from actions.models import Action
from agent.backends.chat import Completion, Message, Sampling
from agent.trajectory.atomic import write_atomic
from agent.trajectory.liveness import WriterProcess, this_process

TRAJECTORY_FILE = "trajectory.jsonl"
EPISODE_FILE = "episode.json"
FRAMES_DIR = "frames"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
"""Format versions `read_trajectory` can read."""

Outcome = Literal["running", "done", "fail", "max_steps", "timeout", "interrupted", "stopped", "error"]
"""`stopped`: a safety guard ended the episode (action budget, runaway, panic key, fail-safe)."""
GuardKind = Literal["policy", "budget", "repeat", "unchanged", "panic", "fail_safe"]
GuardVerdict = Literal["deny", "confirm", "warn", "stop"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Timings(_Record):
    """Seconds spent in each part of a step."""

    capture: float = 0.0
    encode: float = 0.0
    model: float = 0.0
    parse: float = 0.0
    execute: float = 0.0
    settle: float = 0.0

    @property
    def overhead(self) -> float:
        """Everything the framework spent, excluding model time and settle wait."""
        return self.capture + self.encode + self.parse + self.execute


class RequestRecord(_Record):
    """The exact request sent, with each image replaced by the name of its frame file."""

    model: str
    messages: list[Message]
    sampling: Sampling


class Attempt(_Record):
    """A reply that was rejected and fed back to the model (parse error, cut-off, bad point)."""

    response: Completion
    error: str


class ExecutionRecord(_Record):
    ok: bool = True
    error: str | None = None
    executed: int = 0
    """How many of the step's actions were performed."""
    settle_stable: bool | None = None


class GuardEvent(_Record):
    """A safety guard stepping in: a denied or confirmed action, a runaway warning, a stop."""

    kind: GuardKind
    verdict: GuardVerdict
    reason: str
    action: int | None = None
    """Index into the step's actions of the action concerned, if one is."""
    rule: str | None = None
    """The policy rule that decided (None: the policy's default, or not a policy event)."""
    answer: Literal["yes", "no", "nobody"] | None = None
    """For `confirm`: the person's answer, or `nobody` when no person could be asked."""


class TokenRecord(_Record):
    """Prompt-token accounting of the request (estimated with the image-token arithmetic)."""

    prompt: int
    shared_prefix: int
    new: int


class StepRecord(_Record):
    """Everything about one step, in one JSON line."""

    index: int
    started_at: float
    ended_at: float
    screenshot: str
    frame: Frame
    """The screenshot's physical size, the image size the model saw, HiDPI scale and monitor offset."""
    request: RequestRecord
    response: Completion
    attempts: list[Attempt] = Field(default_factory=list)
    thought: str = ""
    intent: str = ""
    actions: list[Action] = Field(default_factory=list)
    coordinates: list[PointChain | None] = Field(default_factory=list)
    """One entry per action: its point in every space, or None for actions without one."""
    execution: ExecutionRecord = ExecutionRecord()
    timings: Timings = Timings()
    tokens: TokenRecord | None = None
    error: str | None = None
    """Why the step produced no actions (every attempt failed), if it did not."""
    guard: list[GuardEvent] = Field(default_factory=list)
    """Every time a safety guard stepped in during this step (empty in older trajectories)."""


class EnvSetup(_Record):
    """What the environment was started with, so `replay` can start the same one (a changed
    launch command, size or page diverges at the first step). Never holds a token."""

    kind: str
    size: tuple[int, int] | None = None
    """Screen of an xvfb desktop or viewport of a browser page (CSS px)."""
    scale: float = 1.0
    monitor: int = 1
    launch: list[list[str]] = Field(default_factory=list)
    """Programs an xvfb desktop started, each as argv."""
    url: str | None = None
    """The page a browser opened first."""
    vm_url: str | None = None
    vm_image: str | None = None
    """The base image a `vm` environment booted (absolute path): replay boots a VM from it again."""


class EpisodeInfo(_Record):
    """What the episode was asked to do, with what, and how it ended.

    Fields after `domain` were added later; episodes written before them still load (they default to None).
    """

    format_version: int = FORMAT_VERSION
    instruction: str
    model: str
    env: str
    started_at: float
    ended_at: float | None = None
    outcome: Outcome = "running"
    answer: str | None = None
    steps: int = 0
    error: str | None = None
    score: float | None = None
    task_id: str | None = None
    domain: str | None = None
    setup: EnvSetup | None = None
    """How the environment was started (`run`); None for task episodes, whose task sets them up."""
    writer: WriterProcess | None = None
    """Who writes the episode: an episode still `running` whose writer is gone was killed (`liveness`)."""
    stand_in: str | None = None
    """What answered instead of a model (the scripted stand-in), when replies came from one."""
    final_frame: str | None = None
    """The frame captured after the last action, when the episode got that far."""
    vnc: str | None = None
    """Where a person can watch the episode's VM (HOST:PORT of a VNC server), when the environment has one."""


class TrajectoryWriter:
    """Writes one episode folder; each method leaves the folder readable if the process dies."""

    def __init__(self, folder: Path, info: EpisodeInfo) -> None:
        self.folder = folder
        self.info = info if info.writer is not None else info.model_copy(update={"writer": this_process()})
        (folder / FRAMES_DIR).mkdir(parents=True, exist_ok=True)
        write_atomic(folder / EPISODE_FILE, self.info.model_dump_json(indent=2))
        self._lines = open(folder / TRAJECTORY_FILE, "a", encoding="utf-8")

    @classmethod
    def create(cls, root: Path, info: EpisodeInfo) -> TrajectoryWriter:
        """A new, uniquely named episode folder under `root`."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(info.started_at))
        slug = re.sub(r"[^a-z0-9]+", "-", info.instruction.lower()).strip("-")[:40] or "episode"
        for n in range(1000):
            folder = root / f"{stamp}-{slug}" if n == 0 else root / f"{stamp}-{slug}-{n}"
            try:
                folder.mkdir(parents=True)
                return cls(folder, info)
            except FileExistsError:
                continue
        raise FileExistsError(f"no free episode folder name under {root}")

    def write_frame(self, index: int, data: bytes, extension: str) -> str:
        """Store a frame's encoded bytes; returns the path to put in the step line."""
        name = f"{FRAMES_DIR}/{index:04d}.{extension}"
        with open(self.folder / name, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return name

    def append(self, record: StepRecord) -> None:
        """Append one step line and make it durable before returning."""
        self._lines.write(record.model_dump_json() + "\n")
        self._lines.flush()
        os.fsync(self._lines.fileno())
        self.info = self.info.model_copy(update={"steps": record.index + 1})

    def write_final_frame(self, data: bytes, extension: str) -> str:
        """Store the frame captured after the last action (named in `episode.json` by `finish`)."""
        name = f"{FRAMES_DIR}/final.{extension}"
        with open(self.folder / name, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return name

    def note(self, stand_in: str | None = None, vnc: str | None = None) -> EpisodeInfo:
        """Add what was learnt while running (a stand-in answering, a VM's VNC address) to `episode.json`."""
        found = (("stand_in", stand_in), ("vnc", vnc))
        update = {k: v for k, v in found if v is not None and getattr(self.info, k) != v}
        if update:
            self.info = self.info.model_copy(update=update)
            write_atomic(self.folder / EPISODE_FILE, self.info.model_dump_json(indent=2))
        return self.info

    def finish(
        self, outcome: Outcome, answer: str | None = None, error: str | None = None,
        final_frame: str | None = None,
    ) -> EpisodeInfo:
        """Record how the episode ended and close the folder."""
        self.info = self.info.model_copy(
            update={"outcome": outcome, "answer": answer, "error": error, "ended_at": time.time(),
                    "final_frame": final_frame}
        )
        write_atomic(self.folder / EPISODE_FILE, self.info.model_dump_json(indent=2))
        self._lines.close()
        return self.info

    def record_score(self, score: float) -> EpisodeInfo:
        """Add the evaluator's score to a finished episode."""
        self.info = self.info.model_copy(update={"score": score})
        write_atomic(self.folder / EPISODE_FILE, self.info.model_dump_json(indent=2))
        return self.info

    def close(self) -> None:
        if not self._lines.closed:
            self._lines.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class TrajectoryVersionError(ValueError):
    """An episode folder written in a format version this reader does not support."""

    def __init__(self, folder: Path, found: object) -> None:
        self.folder = folder
        self.found = found
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        newer = isinstance(found, int) and found > max(SUPPORTED_VERSIONS)
        advice = "upgrade kimi-desktop-agent to read it" if newer else "no kimi-agent writes that version"
        super().__init__(
            f"{folder}: trajectory format_version {found!r} is not supported (this reader supports "
            f"version {supported}); {advice}"
        )


class TrajectoryReadError(ValueError):
    """An episode folder that cannot be read as given (bad episode.json, a frame outside the folder)."""


class Trajectory(BaseModel):
    """An episode folder read back."""

    folder: Path
    info: EpisodeInfo
    steps: list[StepRecord]
    torn_lines: int = 0
    """Lines that could not be read (at most a last line cut by a kill)."""

    def frame_path(self, step: StepRecord) -> Path:
        """The step's frame file; a name or symlink leading out of the episode folder is refused,
        since a folder from someone else could otherwise make the viewer embed any file."""
        return self._inside(step.screenshot, f"step {step.index} names the frame")

    def final_frame_path(self) -> Path | None:
        """The frame after the last action, if one was recorded (same refusal as `frame_path`)."""
        if self.info.final_frame is None:
            return None
        return self._inside(self.info.final_frame, "episode.json names the final frame")

    def _inside(self, name: str, what: str) -> Path:
        path = self.folder / name
        if not path.resolve().is_relative_to(self.folder.resolve()):
            raise TrajectoryReadError(
                f"{self.folder}: {what} {name!r}, which is outside the "
                "episode folder; this folder was not written by kimi-agent as is and is not read"
            )
        return path


def read_trajectory(folder: Path) -> Trajectory:
    """Read an episode folder, up to its last complete step line.

    Raises `TrajectoryVersionError` when `episode.json` names a format version not in
    `SUPPORTED_VERSIONS` (a newer writer may have changed what the fields mean).
    """
    try:
        text = (folder / EPISODE_FILE).read_text(encoding="utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # bad UTF-8, bad JSON, over-deep nesting
        raise TrajectoryReadError(f"{folder / EPISODE_FILE}: not readable JSON ({str(err) or type(err).__name__})") from None
    found = raw.get("format_version", FORMAT_VERSION) if isinstance(raw, dict) else FORMAT_VERSION
    if isinstance(found, bool) or found not in SUPPORTED_VERSIONS:
        raise TrajectoryVersionError(folder, found)
    try:
        info = EpisodeInfo.model_validate_json(text)
    except ValidationError as err:
        problem = first_error(err, top="the document")
        raise TrajectoryReadError(f"{folder / EPISODE_FILE}: {problem}") from None
    steps: list[StepRecord] = []
    torn = 0
    for line in _lines(folder / TRAJECTORY_FILE):
        try:
            steps.append(StepRecord.model_validate_json(line))
        except ValidationError:
            torn += 1
    return Trajectory(folder=folder, info=info, steps=steps, torn_lines=torn)


def _lines(path: Path) -> Iterator[str]:
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                yield line
