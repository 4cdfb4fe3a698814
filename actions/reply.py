"""The Kimi-VL reply layout: split a reply into thought, one-sentence action and code, and compose one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.errors import ParseError

MAX_REPLY_CHARS = 400_000
MAX_CODE_CHARS = 20_000

# Thinking checkpoints write ◁think▷…◁/think▷; some serving stacks rewrite it as <think>.
THINK_MARKERS = (("◁think▷", "◁/think▷"), ("<think>", "</think>"))
CODE_TAGS = frozenset({"", "python", "py", "code", "python3"})
_SECTION = re.compile(r"^[ \t]*#{1,6}[ \t]*(thought|action|code)[ \t]*:?[ \t]*", re.I | re.M)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[ \t]*$")


@dataclass(frozen=True)
class ReplyParts:
    """The three parts of a reply; `code` is the source of the block that will be run."""

    thought: str
    intent: str
    code: str


def compose_reply(thought: str | None, intent: str, code: str, thinking_markers: bool = False) -> str:
    """The reply `split_reply` reads back: the thought, `## Action:` and `## Code:` with a python block.

    The thought goes between think markers (the thinking checkpoints' layout) or under
    `## Thought:` (the instruct layout); None leaves it out, as the history does.
    """
    answer = f"## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"
    if thought is None:
        return answer
    if thinking_markers:
        opening, closing = THINK_MARKERS[0]
        return f"{opening}{thought}{closing}{answer}"
    return f"## Thought:\n{thought}\n\n{answer}"


def split_reply(text: str) -> ReplyParts:
    """Split `text` into thought, intent and code, or raise `ParseError`."""
    if not isinstance(text, str):
        raise ParseError("the reply is not text")
    if len(text) > MAX_REPLY_CHARS:
        raise ParseError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    thought, answer = _split_thinking(text)
    sections = _sections(answer)
    thought = thought or sections.get("thought", "")
    intent = _without_fences(sections.get("action", ""))
    code = _last_code_block(answer)
    if code is None:
        code = sections.get("code")
    if code is None or not code.strip():
        raise ParseError(
            "no code found: end the reply with '## Code:' and a ```python block holding the action"
        )
    if len(code) > MAX_CODE_CHARS:
        raise ParseError(f"the code block is longer than {MAX_CODE_CHARS} characters")
    return ReplyParts(thought=thought.strip(), intent=intent, code=code)


def _split_thinking(text: str) -> tuple[str, str]:
    for opening, closing in THINK_MARKERS:
        start = text.find(opening)
        body_start = start + len(opening) if start >= 0 else 0
        end = text.find(closing, body_start)
        if end >= 0:
            return text[body_start:end], text[end + len(closing):]
        if start >= 0:
            raise ParseError(
                f"the thought was cut off: {opening} has no closing {closing}, so the reply has "
                "no answer; think more briefly and finish with '## Action:' and '## Code:'"
            )
    return "", text


def _sections(answer: str) -> dict[str, str]:
    """The text under each `## Thought/Action/Code:` heading; the first heading of a name wins."""
    found: dict[str, str] = {}
    matches = list(_SECTION.finditer(answer))
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following else len(answer)
        found.setdefault(match.group(1).lower(), answer[match.end():end].strip())
    return found


def _without_fences(section: str) -> str:
    return section.split("```", 1)[0].strip()


def _last_code_block(answer: str) -> str | None:
    """The body of the last fenced block tagged python/code/nothing; other tags are skipped."""
    last: str | None = None
    lines = answer.split("\n")
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            one_line = _one_line_block(lines[i])
            if one_line is not None:
                last = one_line
            i += 1
            continue
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ParseError("a ``` code block is not closed; the reply may have been cut off")
        if opening.group(1).lower() in CODE_TAGS:
            last = "\n".join(body)
        i += 1
    return last


def _one_line_block(line: str) -> str | None:
    """```pyautogui.click(…)``` written on one line."""
    stripped = line.strip()
    if len(stripped) > 6 and stripped.startswith("```") and stripped.endswith("```"):
        inner = stripped[3:-3]
        for tag in ("python", "code", "py"):
            if inner.startswith(tag + " "):
                return inner[len(tag):].strip()
        return inner.strip()
    return None
