"""The conversation sent each step, built to keep consecutive requests' prefixes equal.

The request only ever grows by appending the new screenshot and the last reply, so vLLM's
prefix cache serves everything before them. Old screenshots are dropped in rare large
blocks (down to `keep_images` once `max_images` would be exceeded), each replaced by a
fixed placeholder, so the prefix breaks only on those steps.

A note for the model about its previous step (what the safety guard did with it) opens the
next turn's user message, before that turn's screenshot: it is appended with the new turn,
so it never changes what earlier requests already sent.

A past reply is kept from its parsed `Step` and the code text the step was read from (the
model's own bytes, so the history shows the model what it wrote); it is never re-parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from actions.models import Step
from actions.reply import compose_reply
from agent.backends.chat import ImagePart, ImageURL, Message, Part, TextPart

OMITTED = "(an earlier screenshot, omitted)"


@dataclass(frozen=True)
class HistoryConfig:
    max_images: int = 6
    keep_images: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.keep_images <= self.max_images:
            raise ValueError("need 1 <= keep_images <= max_images")


@dataclass
class _Turn:
    image: ImagePart
    size: tuple[int, int]
    name: str
    """What the trajectory calls this image (its frame file)."""
    note: str | None = None
    """Text shown before this turn's screenshot (about the previous step)."""
    reply: Message | None = None
    """The model's accepted answer, as the assistant message every later request resends."""
    asked: dict[tuple[bool, bool], Message] = field(default_factory=dict)
    """This turn's user message by (screenshot kept, named): built once, then the very same object is
    sent every step (the request body and the token count find it again by identity)."""


@dataclass
class History:
    """System prompt, task, and one (screenshot, reply) turn per step so far."""

    system: str
    task: str
    config: HistoryConfig = HistoryConfig()
    turns: list[_Turn] = field(default_factory=list)
    first_kept: int = 0
    """Turns before this index have their screenshot replaced by `OMITTED`."""

    def observe(self, image_url: str, size: tuple[int, int], name: str = "", note: str | None = None) -> None:
        """Start a new turn with the screenshot the model is about to see, after `note` if given."""
        if self.turns and self.turns[-1].reply is None:
            raise RuntimeError("the previous turn has no reply yet")
        self.turns.append(_Turn(ImagePart(image_url=ImageURL(url=image_url)), size, name, note))
        if len(self.turns) - self.first_kept > self.config.max_images:
            self.first_kept = len(self.turns) - self.config.keep_images

    def answer(self, step: Step, code: str) -> None:
        """Close the current turn with the model's accepted step and the code it was read from."""
        self.turns[-1].reply = Message(role="assistant", content=history_reply(step, code))

    def messages(self, feedback: str | None = None, names: bool = False) -> list[Message]:
        """The request for the current turn; `feedback` asks the model to answer again.

        With `names`, each image URL is replaced by the image's name: the request as a
        trajectory records it, without image bytes.
        """
        out = [self._system]
        for i, turn in enumerate(self.turns):
            asked_again = feedback is not None and i == len(self.turns) - 1
            key = (i >= self.first_kept, names)
            asked = None if asked_again else turn.asked.get(key)
            if asked is None:
                parts: list[Part] = [TextPart(text=self.task)] if i == 0 else []
                if turn.note is not None:
                    parts.append(TextPart(text=turn.note))
                image = ImagePart(image_url=ImageURL(url=turn.name)) if names else turn.image
                parts.append(image if key[0] else TextPart(text=OMITTED))
                if asked_again:
                    parts.append(TextPart(text=feedback))
                asked = Message(role="user", content=tuple(parts))
                if not asked_again:
                    turn.asked[key] = asked
            out.append(asked)
            if turn.reply is not None:
                out.append(turn.reply)
        return out

    @cached_property
    def _system(self) -> Message:
        return Message(role="system", content=self.system)

    def image_sizes(self) -> list[tuple[int, int]]:
        """Sizes of the images `messages()` carries, in order."""
        return [t.size for t in self.turns[self.first_kept:]]


def history_reply(step: Step, code: str) -> str:
    """What a past step contributes to history: its intent and code, without the thinking."""
    return compose_reply(None, step.intent, code.strip())
