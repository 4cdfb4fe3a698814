"""Rendering the Kimi-VL prompts: pure functions of their arguments, byte for byte."""

from __future__ import annotations

from typing import Literal, Sequence, get_args

from prompts.template import fill, load

Variant = Literal["thinking", "instruct"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
NO_ACTION = "(no action described)"
"""Listed in the history for a step whose reply had no one-sentence action."""


def agent_system_prompt(variant: Variant) -> str:
    """The system prompt of the multi-step agent for the thinking or instruct checkpoints."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown prompt variant {variant!r}; use one of {', '.join(VARIANTS)}")
    return fill(load(f"agent_{variant}"), {"actions": load("actions")})


def agent_task_text(instruction: str, history: Sequence[str] = ()) -> str:
    """The user text stating the task, then the one-sentence actions of earlier steps, numbered.

    The instruction is stripped of surrounding whitespace and otherwise kept verbatim. Each
    history item has its whitespace runs collapsed to single spaces so it stays one numbered
    line. Adding a step to `history` only appends text, keeping the request prefix cacheable.
    """
    if isinstance(history, str):
        raise TypeError("history must be a sequence of action sentences, not one string")
    text = fill(load("agent_task"), {"instruction": _instruction(instruction)})
    if not history:
        return text
    lines = [f"{number}. {' '.join(item.split()) or NO_ACTION}" for number, item in enumerate(history, 1)]
    return "\n".join([text, "", load("agent_history"), *lines])


def grounding_prompt(instruction: str) -> str:
    """The one-shot request to click the element `instruction` describes, in relative coordinates."""
    return fill(load("grounding"), {"instruction": _instruction(instruction)})


def feedback_text(error: str) -> str:
    """The user text that reports why the last reply was not used and asks for a new one."""
    return fill(load("feedback"), {"error": error.strip() or "no reason given"})


def guard_note_text(notes: Sequence[str]) -> str:
    """The user text that tells the model what the safety guard did with its last step, one line per note."""
    if isinstance(notes, str) or not notes:
        raise ValueError("guard notes are a non-empty sequence of sentences")
    return fill(load("guard"), {"notes": "\n".join(f"- {' '.join(note.split())}" for note in notes)})


def _instruction(instruction: str) -> str:
    stripped = instruction.strip()
    if not stripped:
        raise ValueError("the instruction is empty; say what the agent should do")
    return stripped
