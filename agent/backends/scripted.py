"""A model stand-in that answers recorded replies in order: reproduces a run without a GPU.

Two sources: a trajectory folder (each step's `response.text` and `response.reasoning`), or a script:
    {"instruction": "...",
     "replies": ["<reply 1>", {"content": "<reply 2>", "reasoning_content": "<thinking>"}, ...]}
(`instruction` is optional and informative; other keys are ignored). A reply is the text, thinking
inline (`◁think▷…◁/think▷`) or not, or an object whose `reasoning_content` is returned apart from
the text, as vLLM does with a reasoning parser (Kimi-K2.5's `kimi_k2`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Sequence, Union

from pydantic import BaseModel

from agent.backends.base import ScriptExhausted
from agent.backends.chat import Completion, Message, Sampling, Usage


STAND_IN = "scripted (recorded replies)"
"""How a reply from this stand-in is labelled in trajectories and viewers."""


class ScriptedReply(BaseModel):
    """One recorded answer with its thinking apart, as a server with a reasoning parser returns it."""

    content: str
    reasoning_content: str = ""


Reply = Union[str, ScriptedReply]


class ScriptedReplies(BaseModel):
    replies: list[Reply]
    instruction: str | None = None


def load_replies(source: Path) -> list[Reply]:
    """Replies from a script file or a trajectory folder (a step's reasoning recorded apart stays apart)."""
    if source.is_dir():
        from agent.trajectory.store import read_trajectory

        return [
            ScriptedReply(content=step.response.text, reasoning_content=step.response.reasoning)
            if step.response.reasoning else step.response.text
            for step in read_trajectory(source).steps
        ]
    return ScriptedReplies.model_validate(json.loads(source.read_text(encoding="utf-8"))).replies


def reply_parts(reply: Reply) -> ScriptedReply:
    """A reply as text and separate thinking (empty for a plain-text reply)."""
    return reply if isinstance(reply, ScriptedReply) else ScriptedReply(content=reply)


def _completion(reply: Reply) -> Completion:
    parts = reply_parts(reply)
    tokens = (len(parts.content) + len(parts.reasoning_content)) // 4
    return Completion(
        text=parts.content, reasoning=parts.reasoning_content, finish_reason="stop",
        usage=Usage(completion_tokens=tokens), stand_in=STAND_IN,
    )


class ScriptedBackend:
    """Answers each request with the next recorded reply; thread-safe."""

    def __init__(self, replies: Sequence[Reply]) -> None:
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
            reply = self.replies[self._next]
            self._next += 1
        return _completion(reply)


class SolutionBook:
    """Recorded replies for many tasks at once, for runs of a task suite with no model.

    Stateless: a request's task is the solution whose instruction appears in its messages
    (the longest, if several do), and its step is the number of assistant turns so far.
    """

    def __init__(self, scripts: dict[str, list[Reply]]) -> None:
        self.scripts = scripts

    @classmethod
    def from_folder(cls, folder: Path) -> SolutionBook:
        scripts: dict[str, list[Reply]] = {}
        for file in sorted(folder.glob("*.json")):
            script = ScriptedReplies.model_validate(json.loads(file.read_text(encoding="utf-8")))
            if not script.instruction:
                raise ValueError(f"{file}: a solution names the instruction it answers")
            scripts[script.instruction] = script.replies
        return cls(scripts)

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        """The next recorded reply of the task the messages are about (the in-process `scripted` backend)."""
        return _completion(self.reply_for([message.model_dump(mode="json") for message in messages]))

    def reply_for(self, messages: list[dict]) -> Reply:
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
