"""Replaying a recorded trajectory: the same typed actions, step by step, on a fresh environment.

Before each step the live screen is compared with the frame recorded before that step
(`agent.replay.similarity`); below the threshold the step has diverged, and replay stops or warns.
Actions are never re-grounded: each is performed as recorded, through `env.perform`, which
resolves its point against the live frame and waits for the screen to settle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from actions.coords import Frame, point_of, with_point
from actions.models import MAX_WAIT_SECONDS, Action, Point, Wait
from agent.episode.loop import AgentEnv
from agent.replay.divergence import save_divergence
from agent.replay.similarity import DEFAULT_THRESHOLD, Similarity, compare
from agent.trajectory.store import EPISODE_FILE, StepRecord, Trajectory, read_trajectory

OnDivergence = Literal["stop", "warn"]
RECHECK_SECONDS = 0.1


class ReplayError(RuntimeError):
    """The trajectory cannot be replayed (no episode there, no steps in the range asked for)."""


@dataclass(frozen=True)
class ReplayOptions:
    threshold: float = DEFAULT_THRESHOLD
    """Similarity (fraction of matching screen blocks, 0..1) below which a step has diverged."""
    on_divergence: OnDivergence = "stop"
    speed: float | None = None
    """Divide the recorded time between step starts by this and wait that long; None: no waits beyond settling."""
    patience: float = 1.0
    """Seconds to keep re-checking a screen that does not match yet (a slow application) before calling it diverged."""
    first: int = 1
    """First step to replay, 1-based (as `run` prints them)."""
    last: int | None = None
    evidence: Path | None = None
    """Folder for the side-by-side image of each diverged step (recorded | live); None: none saved."""


@dataclass(frozen=True)
class StepReplay:
    """How one step went: the screen's similarity before it, and what its actions did."""

    number: int
    similarity: Similarity
    diverged: bool
    actions: list[Action]
    performed: int = 0
    error: str | None = None
    evidence: Path | None = None
    """The recorded and live frames side by side, if it diverged and `ReplayOptions.evidence` is set."""


@dataclass
class ReplayReport:
    steps: list[StepReplay] = field(default_factory=list)
    stopped_at: int | None = None
    """The step number replay stopped at because it diverged."""

    @property
    def diverged(self) -> list[StepReplay]:
        return [s for s in self.steps if s.diverged]

    @property
    def failed(self) -> StepReplay | None:
        return next((s for s in self.steps if s.error is not None), None)

    @property
    def exit_status(self) -> int:
        """0: every step matched and ran; 3: stopped at a divergence; 1: divergences warned about or an action failed."""
        if self.stopped_at is not None:
            return 3
        return 1 if self.diverged or self.failed else 0


def load_episode(folder: Path) -> Trajectory:
    """The episode in `folder`, or in its only episode sub-folder (as `run --record DIR` leaves it)."""
    if not (folder / EPISODE_FILE).exists():
        episodes = sorted(p.parent for p in folder.glob(f"*/{EPISODE_FILE}"))
        if len(episodes) != 1:
            found = f"{len(episodes)} episode folders" if episodes else "no episode"
            raise ReplayError(f"{folder}: {found} there; give the folder that holds {EPISODE_FILE}")
        folder = episodes[0]
    return read_trajectory(folder)


def selected_steps(trajectory: Trajectory, first: int, last: int | None) -> list[StepRecord]:
    """Steps `first`..`last` (1-based, inclusive); raises `ReplayError` when none are in range."""
    steps = [s for s in trajectory.steps if first <= s.index + 1 <= (last or len(trajectory.steps))]
    if not steps:
        raise ReplayError(f"no steps {first}..{last or len(trajectory.steps)} in {trajectory.folder} "
                          f"({len(trajectory.steps)} recorded)")
    return steps


def replayable_actions(step: StepRecord) -> list[Action]:
    """The actions the recording performed, with `image`-space points made relative to the recorded frame.

    Relative and screen points replay as they are; an `image` point is pixels of the image the
    model saw, which only the recorded frame knows, so it becomes the same fraction of it.
    A step whose execution failed part-way replays only the actions that were performed.
    """
    actions = step.actions if step.execution.ok else step.actions[: step.execution.executed]
    return [_relative_to(action, step.frame) for action in actions]


def _relative_to(action: Action, frame: Frame) -> Action:
    point = point_of(action)
    if point is None or point.space != "image":
        return action
    relative = Point(x=point.x / frame.image_width, y=point.y / frame.image_height, space="relative")
    return with_point(action, relative)


def replay(
    env: AgentEnv, trajectory: Trajectory, options: ReplayOptions,
    on_step: Callable[[StepReplay], None] = lambda _: None,
) -> ReplayReport:
    """Replay the selected steps of `trajectory` on `env` (already reset); the report says how far it got."""
    report = ReplayReport()
    previous: tuple[StepRecord, float] | None = None
    for step in selected_steps(trajectory, options.first, options.last):
        if previous is not None and options.speed:
            recorded_gap = (step.started_at - previous[0].started_at) / options.speed
            _pause(env, recorded_gap - (time.monotonic() - previous[1]))
        previous = (step, time.monotonic())
        recorded = recorded_frame(trajectory, step)
        similarity = _matching_screen(env, recorded, options)
        actions = replayable_actions(step)
        diverged = similarity.score < options.threshold
        evidence = None
        if diverged and options.evidence is not None:
            live = env.last_screenshot.image
            try:
                evidence = save_divergence(options.evidence, recorded, live, step.index + 1, similarity)
            except OSError as err:
                raise ReplayError(f"step {step.index + 1} diverged, and its frames cannot be saved into "
                                  f"{options.evidence}: {err.strerror or err}; give --evidence DIR") from None
        if diverged and options.on_divergence == "stop":
            result = StepReplay(step.index + 1, similarity, True, actions, evidence=evidence)
            report.steps.append(result)
            report.stopped_at = result.number
            on_step(result)
            return report
        result = _perform(env, step.index + 1, actions, similarity, diverged, evidence)
        report.steps.append(result)
        on_step(result)
        if result.error is not None:
            break
    return report


def recorded_frame(trajectory: Trajectory, step: StepRecord) -> Image.Image:
    """The frame recorded before `step`, read into memory; `ReplayError` if it cannot be read."""
    path = trajectory.frame_path(step)
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as err:
        raise ReplayError(f"step {step.index + 1}: cannot read its frame {path}: {err}") from err


def _matching_screen(env: AgentEnv, recorded: Image.Image, options: ReplayOptions) -> Similarity:
    """The live screen's similarity to `recorded`, re-checked for up to `patience` s while it is below the threshold."""
    deadline = time.monotonic() + options.patience
    similarity = compare(env.last_screenshot.image, recorded)
    while similarity.score < options.threshold and time.monotonic() < deadline:
        env.perform(Wait(seconds=RECHECK_SECONDS))  # sleeps, then settles and captures a fresh frame
        similarity = compare(env.last_screenshot.image, recorded)
    return similarity


def _perform(
    env: AgentEnv, number: int, actions: list[Action], similarity: Similarity, diverged: bool,
    evidence: Path | None,
) -> StepReplay:
    for performed, action in enumerate(actions):
        outcome = env.perform(action)
        if not outcome.ok:
            error = outcome.error or "failed"
            return StepReplay(number, similarity, diverged, actions, performed, error, evidence)
    return StepReplay(number, similarity, diverged, actions, len(actions), evidence=evidence)


def _pause(env: AgentEnv, seconds: float) -> None:
    """Wait `seconds` through the environment, so the screen it reports afterwards is current."""
    while seconds > 0:
        chunk = min(seconds, MAX_WAIT_SECONDS)
        env.perform(Wait(seconds=chunk))
        seconds -= chunk
