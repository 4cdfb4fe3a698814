"""Prompt templates for Kimi-VL (multi-step agent and one-shot grounding) and their rendering."""

from prompts.render import (
    NO_ACTION, VARIANTS, Variant, agent_system_prompt, agent_task_text, feedback_text, grounding_prompt,
    guard_note_text,
)
from prompts.template import TemplateError

__all__ = [
    "NO_ACTION",
    "VARIANTS",
    "TemplateError",
    "Variant",
    "agent_system_prompt",
    "agent_task_text",
    "feedback_text",
    "grounding_prompt",
    "guard_note_text",
]
