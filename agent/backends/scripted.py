"""A model stand-in that answers recorded replies in order: reproduces a run without a GPU.

Two sources: a trajectory folder (each step's `response.text`), or a script file:
    {"instruction": "...", "replies": ["<reply 1>", "<reply 2>", ...]}
(`instruction` is optional and informative; other keys are ignored).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel

from agent.backends.base import ScriptExhausted
from agent.backends.chat import Completion, Message, Sampling, Usage


class ScriptedReplies(BaseModel):
    replies: list[str]
    instruction: str | None = None


def load_replies(source: Path) -> list[str]:
    """Replies from a script file or a trajectory folder."""
    if source.is_dir():
        from agent.trajectory.store import read_trajectory

        return [step.response.text for step in read_trajectory(source).steps]
    return ScriptedReplies.model_validate(json.loads(source.read_text(encoding="utf-8"))).replies


class ScriptedBackend:
    """Answers each request with the next recorded reply; thread-safe."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def from_path(cls, source: Path) -> ScriptedBackend:
        return cls(load_replies(source))

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        with self._lock:
            if self._next >= len(self.replies):
                raise ScriptExhausted(f"the recording has only {len(self.replies)} replies")
            text = self.replies[self._next]
            self._next += 1
        return Completion(text=text, finish_reason="stop", usage=Usage(completion_tokens=len(text) // 4))


class SolutionBook:
    """Recorded replies for many tasks at once, for runs of a task suite with no model.

    Stateless: a request's task is the solution whose instruction appears in its messages
    (the longest, if several do), and its step is the number of assistant turns so far.
    """

    def __init__(self, scripts: dict[str, list[str]]) -> None:
        self.scripts = scripts

    @classmethod
    def from_folder(cls, folder: Path) -> SolutionBook:
        scripts: dict[str, list[str]] = {}
        for file in sorted(folder.glob("*.json")):
            script = ScriptedReplies.model_validate(json.loads(file.read_text(encoding="utf-8")))
            if not script.instruction:
                raise ValueError(f"{file}: a solution names the instruction it answers")
            scripts[script.instruction] = script.replies
        return cls(scripts)

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        """The next recorded reply of the task the messages are about (the in-process `scripted` backend)."""
        text = self.reply_for([message.model_dump(mode="json") for message in messages])
        return Completion(text=text, finish_reason="stop", usage=Usage(completion_tokens=len(text) // 4))

    def reply_for(self, messages: list[dict]) -> str:
        text = "\n".join(_texts(messages))
        matches = [instruction for instruction in self.scripts if instruction in text]
        if not matches:
            raise ScriptExhausted("no recorded solution for this request's instruction")
        replies = self.scripts[max(matches, key=len)]
        step = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
        if step >= len(replies):
            raise ScriptExhausted(f"the solution has only {len(replies)} replies")
        return replies[step]


def _texts(messages: list[dict]) -> list[str]:
    found: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            found.append(content)
        elif isinstance(content, list):
            found += [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return found
