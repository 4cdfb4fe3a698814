"""Types of a chat request and its answer, as they cross the wire to an OpenAI-compatible server."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field

IM_END = "<|im_end|>"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TextPart(_Frozen):
    type: Literal["text"] = "text"
    text: str


class ImageURL(_Frozen):
    url: str
    """A `data:image/…;base64,…` URL (or an http(s) URL the server can fetch)."""


class ImagePart(_Frozen):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


Part = Union[TextPart, ImagePart]


class Message(_Frozen):
    role: Literal["system", "user", "assistant"]
    content: str | tuple[Part, ...]


class Sampling(_Frozen):
    """Sampling settings for one request."""

    temperature: float = Field(0.8, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(8192, ge=1)
    stop: tuple[str, ...] = (IM_END,)
    seed: int | None = None


class Usage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None
    """Prompt tokens the server reports it served from its prefix cache, when it says."""


class Completion(_Frozen):
    """A model's answer: the text, any separate reasoning, why it stopped, what it cost."""

    text: str
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage = Usage()
    seconds: float = 0.0
    stand_in: str | None = None
    """Set when no model wrote this reply: what did (the scripted stand-in), so it is never labelled as the model's."""

    @property
    def cut_off(self) -> bool:
        """True when generation stopped at max_tokens, so the reply is incomplete."""
        return self.finish_reason == "length"
