"""Prompt-token arithmetic for Kimi-VL requests (see KIMI_VL.md, "Images and coordinates").

Image tokens follow Kimi-VL's processor rule exactly (`environments.patches`); for a
checkpoint whose processor differs (Kimi-K2.5's MoonViT3d; `Checkpoint.exact_image_tokens`
is False) the same rule is an estimate. Text tokens are estimated (about four bytes a token)
because the tokenizer ships with the checkpoint, not with this package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from agent.backends.chat import ImagePart, Message
from environments.patches import image_tokens

TEMPLATE_TOKENS_PER_MESSAGE = 4
IMAGE_MARKER_TOKENS = 4
"""<|media_start|>image<|media_content|> … <|media_end|> around the padded image tokens."""


def text_tokens(text: str) -> int:
    """An estimate of the tokens `text` costs."""
    return math.ceil(len(text.encode("utf-8")) / 4)


@dataclass(frozen=True)
class Segment:
    """A run of prompt tokens with an identity: equal keys mean equal tokens."""

    key: str
    tokens: int
    text: str = ""


@dataclass(frozen=True)
class PromptCount:
    prompt: int
    shared_prefix: int

    @property
    def new(self) -> int:
        """Tokens the server has to compute: the prompt beyond the cached prefix."""
        return self.prompt - self.shared_prefix


def segments(
    messages: Sequence[Message], image_sizes: Sequence[tuple[int, int]], max_patches: int
) -> list[Segment]:
    """The request as a sequence of segments; `image_sizes` gives each image's size in order."""
    out: list[Segment] = []
    sizes = iter(image_sizes)
    for message in messages:
        kept = _TEXT_SEGMENTS.get(id(message))
        if kept is not None and kept[0] is message:
            out.extend(kept[1])
            continue
        parts = (message.content,) if isinstance(message.content, str) else message.content
        if not any(isinstance(part, ImagePart) for part in parts):
            out.extend(_text_segments(message))
            continue
        out.append(Segment(f"turn:{message.role}", TEMPLATE_TOKENS_PER_MESSAGE))
        for part in parts:
            if isinstance(part, str):
                out.append(Segment("text", text_tokens(part), part))
            elif isinstance(part, ImagePart):
                w, h = next(sizes)
                tokens = image_tokens(w, h, max_patches) + IMAGE_MARKER_TOKENS
                out.append(Segment(image_key(part.image_url.url), tokens))
            else:
                out.append(Segment("text", text_tokens(part.text), part.text))
    return out


_TEXT_SEGMENTS: dict[int, tuple[Message, tuple[Segment, ...]]] = {}
"""Messages without images, kept by identity with their segments: every request resends the same
message objects, and hashing a pydantic message field by field costs more than counting it. Each
entry holds its message, so its id cannot be reused while it is kept."""
TEXT_SEGMENTS_KEPT = 1024


def _text_segments(message: Message) -> tuple[Segment, ...]:
    """A message without images as segments."""
    parts = (message.content,) if isinstance(message.content, str) else message.content
    texts = [part if isinstance(part, str) else part.text for part in parts]
    found = (Segment(f"turn:{message.role}", TEMPLATE_TOKENS_PER_MESSAGE),
             *(Segment("text", text_tokens(text), text) for text in texts))
    if len(_TEXT_SEGMENTS) >= TEXT_SEGMENTS_KEPT:
        _TEXT_SEGMENTS.clear()
    _TEXT_SEGMENTS[id(message)] = (message, found)
    return found


def image_key(url: str) -> str:
    """An image's identity in the prompt: its URL's length and hash. Python computes a string's
    hash once and keeps it, so a screenshot resent every step is not read again; two different
    screenshots of equal length share a 64-bit hash with odds far below anything a token count
    (a statistic) could notice."""
    return f"image:{len(url)}:{hash(url) & 0xFFFFFFFFFFFFFFFF:016x}"


def count_prompt(current: Sequence[Segment], previous: Sequence[Segment] | None) -> PromptCount:
    """Prompt tokens of `current` and how many of them prefix-match `previous`."""
    total = sum(s.tokens for s in current)
    shared = 0
    for now, before in zip(current, previous or ()):
        if now.key != before.key:
            break
        if now.key != "text":
            shared += now.tokens
            continue
        if now.text == before.text:
            shared += now.tokens
            continue
        common = _common_prefix_len(now.text, before.text)
        shared += text_tokens(now.text[:common]) if common else 0
        break
    return PromptCount(prompt=total, shared_prefix=shared)


def _common_prefix_len(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
