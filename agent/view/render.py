"""One self-contained static HTML page for a trajectory, rendered with Jinja2.

Everything from the trajectory (thoughts, replies, typed text, answers) is untrusted model
output: the templates are autoescaped, and the page's Content-Security-Policy allows only
its own script (by hash), so text that looks like HTML is shown as text and never runs.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from actions.coords import PointChain
from actions.describe import describe_action
from actions.models import Action
from agent.backends.chat import Message
from agent.safety.guards import held_back, holds_back
from agent.trajectory.liveness import episode_status
from agent.trajectory.store import GuardEvent, StepRecord, Timings, Trajectory
from agent.view.overlay import (
    COLOURS, TAG_STEP, ArrowShape, Corner, Mark, arrow_shape, badge_offset, caption_corner, episode_marks,
    marker_radius,
)
from agent.view.scored import score_view

TIMING_PARTS = ("capture", "encode", "model", "parse", "execute", "settle")
TIMING_COLOURS = dict(zip(TIMING_PARTS, ("#8b8d98", "#0090ff", "#8e4ec6", "#30a46c", "#f76b15", "#e5a000")))


@dataclass(frozen=True)
class ActionRow:
    """One action as the step panel lists it, numbered like its mark on the frame."""

    number: int
    kind: str
    text: str
    where: str


@dataclass(frozen=True)
class Tag:
    """A mark's label over the frame, placed in percent of the frame so it scales with it."""

    label: str
    style: str


@dataclass(frozen=True)
class StepView:
    """Everything the template shows for one step."""

    record: StepRecord
    src: str | None
    marks: list[Mark]
    arrows: list[tuple[Mark, ArrowShape]]
    radius: float
    tags: list[Tag]
    corner: Corner
    """Where the captions (keys, typed text, end of task) go on the frame."""
    actions: list[ActionRow]
    offset: float
    """Seconds from the episode's start to the step's start."""
    request: list[tuple[str, str]]
    """(role, text) of each request message, images shown by their file name."""
    guards: list[GuardRow]

    @property
    def held_back(self) -> bool:
        """Whether a guard kept the step's actions from being performed."""
        return held_back([row.event for row in self.guards])

    @property
    def stopped(self) -> bool:
        """Whether a guard ended the episode at this step."""
        return any(row.event.verdict == "stop" for row in self.guards)


@dataclass(frozen=True)
class GuardRow:
    """A guard event as the page words it: what happened, in plain words."""

    event: GuardEvent
    label: str
    alarm: bool
    """Shown in red: the guard held the step back or stopped the episode."""


def guard_row(event: GuardEvent) -> GuardRow:
    if event.verdict == "confirm":
        answers = {"yes": "confirmed by a person", "no": "refused by a person"}
        label = answers.get(event.answer or "", "refused: nobody to confirm")
        return GuardRow(event, f"{event.kind} · {label}", holds_back(event))
    label = {"deny": "denied", "warn": "warning", "stop": "stopped the episode"}[event.verdict]
    alarm = holds_back(event) or event.verdict == "stop"
    return GuardRow(event, f"{event.kind.replace('_', ' ')} · {label}", alarm)


def render_html(trajectory: Trajectory, out: Path, frames_beside: bool = False) -> Path:
    """Write the page for `trajectory` to `out`; frames are embedded unless `frames_beside`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = _frame_sources(trajectory, out, frames_beside)
    final = trajectory.final_frame_path()
    shown = final is not None and final.is_file()
    final_src = _source(final, trajectory, out, frames_beside) if shown else None
    started = trajectory.info.started_at
    status = episode_status(trajectory.info)
    steps = [
        _step_view(step, marks, sources.get(step.index), started)
        for step, marks in zip(trajectory.steps, episode_marks(trajectory.steps))
    ]
    env = _environment()
    script = env.get_template("viewer.js").render()
    style = env.get_template("style.css").render()
    html = env.get_template("page.html.j2").render(
        info=trajectory.info, trajectory=trajectory, steps=steps, style=Markup(style),
        script=Markup(script), script_hash=_csp_hash(script), colours=COLOURS, timing_colours=TIMING_COLOURS,
        totals=_totals(trajectory.steps), duration=_duration(trajectory), started=_clock(started),
        badge_offset=badge_offset, status=status, stand_in=stand_in(trajectory),
        final_src=final_src, scored=score_view(trajectory, status),
    )
    out.write_text(html, encoding="utf-8")
    return out


def _environment() -> Environment:
    # autoescape on for every template, whatever its file name: all trajectory text is untrusted
    env = Environment(loader=PackageLoader("agent.view", "templates"), autoescape=True,
                      undefined=StrictUndefined)
    env.filters["seconds"] = _seconds
    return env


def _step_view(step: StepRecord, marks: list[Mark], src: str | None, started: float) -> StepView:
    width, height = step.frame.image_width, step.frame.image_height
    radius = marker_radius(width, height)
    chains = step.coordinates + [None] * (len(step.actions) - len(step.coordinates))
    return StepView(
        record=step, src=src, marks=marks, radius=radius,
        arrows=[(m, arrow_shape(m, radius)) for m in marks if m.is_arrow],
        tags=[_tag(m, radius, width, height) for m in marks if m.tag],
        corner=caption_corner(marks, width, height),
        actions=[_action_row(n, a, c, m) for n, (a, c, m) in enumerate(zip(step.actions, chains, marks), 1)],
        offset=step.started_at - started, request=[_message_text(m) for m in step.request.messages],
        guards=[guard_row(event) for event in step.guard],
    )


def _tag(mark: Mark, radius: float, width: int, height: int) -> Tag:
    x, y = mark.to or mark.at or (0.0, 0.0)
    y += mark.slot * TAG_STEP * radius
    if mark.tag_side == "below":
        top = 100 * (y + 2.2 * radius) / height
        place = f"left: {100 * x / width:.2f}%; top: {top:.2f}%; translate: -50% 0"
    elif mark.tag_side == "left":
        place = f"right: {100 * (width - x + 2 * radius) / width:.2f}%; top: {100 * y / height:.2f}%"
    else:
        place = f"left: {100 * (x + 2 * radius) / width:.2f}%; top: {100 * y / height:.2f}%"
    return Tag(mark.label, place)


def _action_row(number: int, action: Action, chain: PointChain | None, mark: Mark) -> ActionRow:
    where = ""
    if chain is not None:
        ix, iy = chain.image
        where = f"image ({ix:.0f}, {iy:.0f}) px · screen ({chain.screen[0]}, {chain.screen[1]})"
    return ActionRow(number=number, kind=mark.kind, text=describe_action(action), where=where)


def _message_text(message: Message) -> tuple[str, str]:
    if isinstance(message.content, str):
        return message.role, message.content
    parts = [p.text if p.type == "text" else f"[image {p.image_url.url[:80]}]" for p in message.content]
    return message.role, "\n".join(parts)


def stand_in(trajectory: Trajectory) -> str | None:
    """What answered instead of the model, if anything did: the episode's note, else any step's reply."""
    replies = (s.response.stand_in for s in trajectory.steps if s.response.stand_in)
    return trajectory.info.stand_in or next(replies, None)


def _frame_sources(trajectory: Trajectory, out: Path, beside: bool) -> dict[int, str]:
    """The `src` of each step's frame: a data URL, or a path relative to the page."""
    sources: dict[int, str] = {}
    for step in trajectory.steps:
        path = trajectory.frame_path(step)
        if path.is_file():
            sources[step.index] = _source(path, trajectory, out, beside)
    return sources


def _source(path: Path, trajectory: Trajectory, out: Path, beside: bool) -> str:
    """One frame's `src`: a data URL, its path in the episode folder, or a copy beside the page."""
    if not beside:
        mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    if out.parent.resolve() == trajectory.folder.resolve():
        return quote(path.relative_to(trajectory.folder).as_posix())
    copies = out.parent / f"{out.stem}_frames"
    copies.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, copies / path.name)
    return quote(f"{copies.name}/{path.name}")


def _totals(steps: list[StepRecord]) -> Timings:
    return Timings(**{part: sum(getattr(s.timings, part) for s in steps) for part in TIMING_PARTS})


def _duration(trajectory: Trajectory) -> float | None:
    end = trajectory.info.ended_at or (trajectory.steps[-1].ended_at if trajectory.steps else None)
    return None if end is None else end - trajectory.info.started_at


def _clock(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _seconds(value: float) -> str:
    """`0.4 ms`, `12 ms`, `1.24 s`, `2 min 5 s`."""
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{int(value // 60)} min {value % 60:.0f} s"


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")
