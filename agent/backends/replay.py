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

from agent.backends.base import ReplayExhausted
from agent.chat import Completion, Message, Sampling, Usage


class ReplayScript(BaseModel):
    replies: list[str]
    instruction: str | None = None


def load_replies(source: Path) -> list[str]:
    """Replies from a script file or a trajectory folder."""
    if source.is_dir():
        from agent.trajectory import read_trajectory

        return [step.response.text for step in read_trajectory(source).steps]
    return ReplayScript.model_validate(json.loads(source.read_text(encoding="utf-8"))).replies


class ReplayBackend:
    """Answers each request with the next recorded reply; thread-safe."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def from_path(cls, source: Path) -> ReplayBackend:
        return cls(load_replies(source))

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        with self._lock:
            if self._next >= len(self.replies):
                raise ReplayExhausted(f"the recording has only {len(self.replies)} replies")
            text = self.replies[self._next]
            self._next += 1
        return Completion(text=text, finish_reason="stop", usage=Usage(completion_tokens=len(text) // 4))
