"""Trajectories as fine-tuning data: multimodal ShareGPT conversations and grounding points.

ShareGPT (the layout LLaMA-Factory reads): one sample per step that has actions. Its
messages are exactly the request the agent would send at that step — the system prompt
and task text from `prompts`, earlier turns laid out by `agent.episode.history.History` (old
screenshots replaced by a placeholder, past replies reduced to their action and code) —
followed by the step's reply as the assistant message. Every reply, the target and those
in the history alike, is rebuilt from the typed actions with relative coordinates, in the
layout of the episode's checkpoint (`◁think▷` for Kimi-VL thinking, `<think>` for Kimi-K2.5,
whose served thinking arrives as `reasoning_content`; `## Thought:` for instruct) or, when
another variant is asked for, that variant's Kimi-VL layout; the history keeps as many
screenshots as the checkpoint's. Each image part becomes `<image>` where it stood among the
text (no separator, as Kimi-VL's chat template joins parts) and its frame goes, in order,
into `images`. Feedback after rejected replies is left out. LLaMA-Factory's
dataset_info.json entry for such a file:

  {"file_name": "FILE.json", "formatting": "sharegpt",
   "columns": {"messages": "messages", "images": "images"},
   "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
            "assistant_tag": "assistant", "system_tag": "system"}}

Grounding: one JSON line per click with a point: the frame, the step's intent (or its
thought when it has none) and the point as fractions of the frame.

Image paths are relative to the output file's folder (LLaMA-Factory's media_dir default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from actions.models import Click, Step
from agent.backends.chat import Message
from agent.backends.checkpoints import ReplyLayout, checkpoint_for
from agent.episode.history import History, HistoryConfig
from agent.export.code import DECIMALS, VARIANT_LAYOUTS, relative_point, reply_text, steps_code
from agent.trajectory.store import EPISODE_FILE, Trajectory, read_trajectory
from prompts import VARIANTS, Variant, agent_system_prompt, agent_task_text

IMAGE_TOKEN = "<image>"
VariantChoice = Literal["auto", Variant]
ExportFormat = Literal["sharegpt", "grounding"]
ImagePath = Callable[[Path], str]


class ShareGPTMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ShareGPTSample(BaseModel):
    """One training conversation: its messages and the frames its `<image>` tokens stand for."""

    messages: list[ShareGPTMessage]
    images: list[str]


class GroundingSample(BaseModel):
    """One click: which frame, what was meant, and where (fractions of the frame)."""

    image: str
    instruction: str
    point: tuple[float, float]


@dataclass(frozen=True)
class ExportReport:
    episodes: int
    """Episodes exported."""
    skipped: int
    """Episodes left out because they did not succeed (with `successful_only`)."""
    samples: int


def export_dataset(
    folders: Iterable[Path], out: Path, fmt: ExportFormat, variant: VariantChoice = "auto",
    successful_only: bool = False,
) -> ExportReport:
    """Write the episodes under `folders` to `out`: a JSON array (sharegpt) or JSON lines (grounding)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    image_path = relative_to(out.parent)
    samples: list[ShareGPTSample] | list[GroundingSample] = []
    episodes = skipped = 0
    for folder in find_episodes(folders):
        trajectory = read_trajectory(folder)
        if successful_only and not succeeded(trajectory):
            skipped += 1
            continue
        episodes += 1
        if fmt == "sharegpt":
            chosen = prompt_variant(trajectory) if variant == "auto" else variant
            samples.extend(sharegpt_samples(trajectory, chosen, image_path))
        else:
            samples.extend(grounding_samples(trajectory, image_path))
    rows = [s.model_dump(mode="json") for s in samples]
    if fmt == "sharegpt":
        text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    else:
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    out.write_text(text, encoding="utf-8")
    return ExportReport(episodes=episodes, skipped=skipped, samples=len(rows))


def find_episodes(paths: Iterable[Path]) -> list[Path]:
    """Episode folders: each path that is one, else every one found under it (e.g. eval results)."""
    found: list[Path] = []
    for path in paths:
        if (path / EPISODE_FILE).is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p.parent for p in path.rglob(EPISODE_FILE)))
        else:
            raise FileNotFoundError(f"{path} is not a folder")
    if not found:
        raise FileNotFoundError(f"no episode folder ({EPISODE_FILE}) under {', '.join(map(str, paths))}")
    return found


def succeeded(trajectory: Trajectory) -> bool:
    """Scored 1 by an evaluator, or, without a score, ended with `done`."""
    info = trajectory.info
    return info.score >= 1.0 if info.score is not None else info.outcome == "done"


def prompt_variant(trajectory: Trajectory) -> Variant:
    """The variant whose system prompt the episode was recorded with, else the model's own."""
    for step in trajectory.steps:
        system = step.request.messages[0].content if step.request.messages else None
        for variant in VARIANTS:
            if system == agent_system_prompt(variant):
                return variant
    return checkpoint_for(trajectory.info.model).variant


def reply_layout(trajectory: Trajectory, variant: Variant) -> ReplyLayout:
    """The episode checkpoint's own reply layout when it uses `variant`, else the variant's Kimi-VL layout."""
    checkpoint = checkpoint_for(trajectory.info.model)
    return checkpoint.reply_layout if checkpoint.variant == variant else VARIANT_LAYOUTS[variant]


def sharegpt_samples(trajectory: Trajectory, variant: Variant, image_path: ImagePath) -> list[ShareGPTSample]:
    """One sample per step with actions, as described in the module docstring."""
    checkpoint = checkpoint_for(trajectory.info.model)
    layout = reply_layout(trajectory, variant)
    history = History(
        system=agent_system_prompt(variant), task=agent_task_text(trajectory.info.instruction),
        config=HistoryConfig(checkpoint.history_images, checkpoint.history_keep),
    )
    samples: list[ShareGPTSample] = []
    for step in trajectory.steps:
        if not step.actions:
            break  # the agent stops at a step without actions: nothing can follow it
        history.observe(step.screenshot, (step.frame.image_width, step.frame.image_height), step.screenshot)
        code = steps_code(step.actions, step.coordinates, step.frame)
        reply = reply_text(layout, step.thought, step.intent, code)
        messages = [*history.messages(), Message(role="assistant", content=reply)]
        samples.append(_sample(messages, lambda name: image_path(trajectory.folder / name)))
        history.answer(Step(thought=step.thought, intent=step.intent, actions=tuple(step.actions)), code)
    return samples


def grounding_samples(trajectory: Trajectory, image_path: ImagePath) -> list[GroundingSample]:
    """One sample per click with a point in a step that says what it meant."""
    samples: list[GroundingSample] = []
    for step in trajectory.steps:
        instruction = step.intent or step.thought
        chains = step.coordinates + [None] * (len(step.actions) - len(step.coordinates))
        for action, chain in zip(step.actions, chains):
            where = relative_point(action, chain, step.frame) if isinstance(action, Click) else None
            if where is None or not instruction:
                continue
            point = (round(where[0], DECIMALS), round(where[1], DECIMALS))
            image = image_path(trajectory.frame_path(step))
            samples.append(GroundingSample(image=image, instruction=instruction, point=point))
    return samples


def relative_to(folder: Path) -> ImagePath:
    """Paths written relative to `folder` (with forward slashes)."""
    base = folder.resolve()
    return lambda path: Path(os.path.relpath(path.resolve(), base)).as_posix()


def _sample(messages: list[Message], image_path: Callable[[str], str]) -> ShareGPTSample:
    out: list[ShareGPTMessage] = []
    images: list[str] = []
    for message in messages:
        if isinstance(message.content, str):
            out.append(ShareGPTMessage(role=message.role, content=message.content))
            continue
        text = []
        for part in message.content:
            if part.type == "text":
                text.append(part.text)
            else:
                text.append(IMAGE_TOKEN)
                images.append(image_path(part.image_url.url))
        out.append(ShareGPTMessage(role=message.role, content="".join(text)))
    return ShareGPTSample(messages=out, images=images)
