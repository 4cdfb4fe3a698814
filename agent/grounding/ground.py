"""One-shot grounding: ask Kimi-VL where an element is, and map its answer to the original image.

The request is the project's grounding prompt (prompts/templates/grounding.txt) after the
screenshot, resized and encoded exactly as the agent does it. The answer is read by the
agent's parser: a `## Code:` block with one click. The Instruct card's short grounding request
expects a bare point, in a syntax KIMI_VL.md does not pin down, so an answer that is only a
point (`(0.41, 0.37)`, `[0.41, 0.37]`, `x=0.41, y=0.37`) or one unfenced `pyautogui.click(…)`
is accepted too, its coordinate space decided by the same parser rule. Anything else raises
`ParseError`: a reply is never guessed at, executed or clicked.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from actions.coords import Frame, PointChain, locate
from actions.errors import ParseError
from actions.models import Action, Click, Point
from actions.parser import parse_code, parse_reply
from actions.reply import THINK_MARKERS
from agent.backends.base import Backend
from agent.backends.chat import Completion, ImagePart, ImageURL, Message, Sampling, TextPart
from agent.backends.checkpoints import checkpoint_for, default_sampling
from agent.episode.loop import Perception
from agent.episode.run import image_encoding, make_perception
from environments.encode import ImageFormat
from environments.screen import Monitor, Screenshot
from prompts import grounding_prompt

GROUNDING_TEMPERATURE = 0.0
"""Greedy decoding, as public grounding evaluations of Kimi-VL use."""
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_BARE_POINT = re.compile(
    rf"[(\[]?\s*(?:x\s*[=:]\s*)?({_NUMBER})\s*,\s*(?:y\s*[=:]\s*)?({_NUMBER})\s*[)\]]?\.?", re.IGNORECASE
)


@dataclass(frozen=True)
class Grounding:
    """Where the model pointed: its point followed down to the original image, and the reply."""

    chain: PointChain
    """From the model's point (`chain.model`) to the original image's pixel (`chain.physical`)."""
    frame: Frame
    intent: str
    completion: Completion

    @property
    def pixel(self) -> tuple[int, int]:
        """The integer pixel of the original image (or screenshot) a click would hit."""
        return self.chain.physical

    @property
    def exact(self) -> tuple[float, float]:
        """The point in pixels of the original image, unrounded (what hit tests use)."""
        ix, iy = self.chain.image
        return (ix * self.frame.physical_width / self.frame.image_width,
                iy * self.frame.physical_height / self.frame.image_height)

    @property
    def relative(self) -> tuple[float, float]:
        """The point as fractions of the image's width and height."""
        ix, iy = self.chain.image
        return ix / self.frame.image_width, iy / self.frame.image_height


def grounding_sampling(model: str, temperature: float | None = None, max_tokens: int | None = None) -> Sampling:
    """The checkpoint's sampling with greedy decoding unless `temperature` is given."""
    updates = {"temperature": GROUNDING_TEMPERATURE if temperature is None else temperature}
    if max_tokens is not None:
        updates["max_tokens"] = max_tokens
    return default_sampling(model).model_copy(update=updates)


def grounding_perception(model: str, image_format: ImageFormat | None = None) -> Perception:
    """The agent's perception (28-px grid, the checkpoint's image limit and image encoding) for `model`."""
    return make_perception(image_encoding(model, image_format), True, checkpoint_for(model).max_patches)


def image_screenshot(image: Image.Image) -> Screenshot:
    """An image file as a screenshot of a monitor of its size at the origin, scale 1."""
    rgb = image.convert("RGB")
    return Screenshot(rgb, Monitor(0, 0, 0, rgb.width, rgb.height), time.time())


def grounding_request(image_url: str, instruction: str) -> list[Message]:
    """The one user message: the screenshot, then the grounding prompt."""
    parts = (ImagePart(image_url=ImageURL(url=image_url)), TextPart(text=grounding_prompt(instruction)))
    return [Message(role="user", content=parts)]


def ask(
    backend: Backend, sampling: Sampling, perception: Perception, shot: Screenshot, instruction: str
) -> tuple[Completion, Frame]:
    """The model's reply to the grounding request for `instruction` on `shot`, and the image's frame."""
    encoded, frame = perception.encode(shot)
    return backend.complete(grounding_request(encoded.data_url, instruction), sampling), frame


def read_answer(completion: Completion, frame: Frame) -> Grounding:
    """The point of `completion` followed down to the original image, or `ActionError` (never clicked)."""
    if completion.cut_off:
        raise ParseError("the reply was cut off at max_tokens before it gave a point")
    point, intent = grounding_point(completion.text)
    return Grounding(locate(point, frame), frame, intent, completion)


def grounding_point(text: str) -> tuple[Point, str]:
    """The point of a grounding reply and its one-sentence action, or `ParseError`."""
    try:
        step = parse_reply(text)
    except ParseError:
        actions = _bare_answer(text)
        if actions is None:
            raise
        intent = ""
    else:
        actions, intent = list(step.actions), step.intent
    if len(actions) != 1 or not isinstance(actions[0], Click) or actions[0].at is None:
        kinds = ", ".join(a.type for a in actions)
        raise ParseError(f"a grounding answer is one click at a point, e.g. pyautogui.click(x=0.5, y=0.5); got {kinds}")
    return actions[0].at, intent


def _bare_answer(text: str) -> list[Action] | None:
    """The click of an answer that is only a point or one unfenced call, else None."""
    answer = text
    for opening, closing in THINK_MARKERS:
        if closing in answer:
            answer = answer.rsplit(closing, 1)[1]
        elif opening in answer:
            return None  # an unfinished thought: the parser's cut-off error stands
    answer = answer.strip().strip("`").strip()
    bare = _BARE_POINT.fullmatch(answer)
    try:
        if bare:
            x, y = (_literal(n) for n in bare.groups())
            # the parser's own call table decides the coordinate space, so both paths agree
            return parse_code(f"pyautogui.click(x={x!r}, y={y!r})")
        if answer.startswith("pyautogui.") and "\n" not in answer:
            return parse_code(answer)
    except ParseError:
        return None
    return None


def _literal(number: str) -> int | float:
    return int(number) if re.fullmatch(r"[-+]?\d+", number) else float(number)


def draw_point(image: Image.Image, point: tuple[float, float], out: Path) -> None:
    """Save `image` with a red circle and crosshair centred on `point` (pixels) to `out`."""
    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    x, y = point
    radius = max(8, min(canvas.size) // 40)
    width = max(2, radius // 6)
    for colour, extra in (("white", width), ("red", 0)):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=width + extra)
        draw.line((x - 2 * radius, y, x + 2 * radius, y), fill=colour, width=max(1, width // 2) + extra)
        draw.line((x, y - 2 * radius, x, y + 2 * radius), fill=colour, width=max(1, width // 2) + extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
