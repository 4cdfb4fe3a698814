"""Our image-token arithmetic against vLLM's own count: for screenshots of many sizes, the
prompt tokens the real server reports for a request equal what `agent.episode.tokens`
predicts for the same request, to the token.

Text tokens depend on the checkpoint's tokenizer, which the stand-in does not have (ours is
byte-level), so each request is also sent with its images removed: the difference is the
images' cost, the part our arithmetic computes exactly and the prefix-economy figures rest on.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from agent.backends.chat import ImagePart, ImageURL, Message, Part, Sampling, TextPart
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for
from agent.backends.openai_compat import OpenAICompatBackend
from agent.episode.tokens import IMAGE_MARKER_TOKENS, segments
from environments.encode import encode_image, resize_for_model
from environments.patches import PATCH, image_tokens


ONE_TOKEN = Sampling(temperature=0.0, max_tokens=1)
WAIT = "## Action:\nWait.\n## Code:\n```python\ncomputer.wait()\n```"

SIZES = [
    (100, 57),      # tiny, neither side a multiple of 14
    (1001, 999),    # odd sides
    (1280, 800),
    (1366, 768),    # a common laptop panel; 1366 is not a multiple of 28
    (1920, 1080),   # under Thinking-2506's limit: padded, not scaled (2,691 tokens)
    (2560, 1440),   # over the limit: scaled down by sqrt(16384 / 18564)
    (2880, 1800),   # HiDPI: a 1440×900 screen at scale 2
    (3840, 2160),   # 4K
    (3000, 20),     # one patch row
    (20, 3000),     # one patch column
]


def picture(width: int, height: int) -> Image.Image:
    """An image of exactly this size; smooth, so that even a 4K PNG stays small on the wire."""
    return Image.radial_gradient("L").resize((width, height)).convert("RGB")


def image_part(url: str) -> ImagePart:
    return ImagePart(image_url=ImageURL(url=url))


def png_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"


def without_images(messages: list[Message]) -> list[Message]:
    return [
        m if isinstance(m.content, str)
        else m.model_copy(update={"content": tuple(p for p in m.content if not isinstance(p, ImagePart))})
        for m in messages
    ]


def image_cost(messages: list[Message], sizes: list[tuple[int, int]], max_patches: int) -> int:
    """What our arithmetic says the images of `messages` add to the prompt."""
    return sum(s.tokens for s in segments(messages, sizes, max_patches)) - sum(
        s.tokens for s in segments(without_images(messages), [], max_patches)
    )


def prompt_tokens(backend: OpenAICompatBackend, messages: list[Message]) -> int:
    return backend.complete(messages, ONE_TOKEN).usage.prompt_tokens


@pytest.fixture(scope="module")
def backend(vllm_server):
    client = OpenAICompatBackend(vllm_server.base_url, vllm_server.name, timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="module")
def max_patches(vllm_server) -> int:
    """The image limit the agent uses for the served model (the stand-in's processor has the same)."""
    return checkpoint_for(vllm_server.name).max_patches


def one_screenshot(url: str) -> list[Message]:
    parts: tuple[Part, ...] = (image_part(url), TextPart(text="What is on the screen?"))
    return [Message(role="system", content="You are a GUI agent."), Message(role="user", content=parts)]


@pytest.fixture(scope="module")
def text_only(backend) -> int:
    """Prompt tokens of `one_screenshot` without its image (the same for every size)."""
    return prompt_tokens(backend, without_images(one_screenshot("data:,")))


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_vllm_counts_the_image_tokens_our_arithmetic_predicts(
    backend, text_only, max_patches, width: int, height: int,
) -> None:
    messages = one_screenshot(png_url(picture(width, height)))
    measured = prompt_tokens(backend, messages) - text_only
    predicted = image_cost(messages, [(width, height)], max_patches)
    assert predicted == image_tokens(width, height, max_patches) + IMAGE_MARKER_TOKENS
    assert measured == predicted, f"{width}x{height}: vLLM {measured}, ours {predicted}"


def test_the_sizes_are_on_both_sides_of_the_limit() -> None:
    """The sizes above do test both sides of the stand-in's limit (Thinking-2506's)."""
    max_patches = checkpoint_for(DEFAULT_CHECKPOINT).max_patches
    patches = {(w, h): (w // PATCH) * (h // PATCH) for w, h in SIZES}
    assert max_patches == 16384
    assert patches[(1920, 1080)] <= max_patches < patches[(2560, 1440)]
    assert sum(p > max_patches for p in patches.values()) == 3


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_a_request_as_the_agent_builds_it_costs_what_we_count(backend, max_patches, fmt) -> None:
    """Several screenshots resized and encoded the agent's way, between text turns and a past reply."""
    shots = [(1366, 768), (1920, 1080), (2880, 1800)]
    sent: list[tuple[int, int]] = []
    turns: list[Message] = [Message(role="system", content="Operate the computer.")]
    for i, (w, h) in enumerate(shots):
        image = resize_for_model(picture(w, h), max_patches)
        sent.append(image.size)
        url = encode_image(image, fmt).data_url
        turns.append(Message(role="user", content=(TextPart(text=f"Step {i + 1}."), image_part(url))))
        if i < len(shots) - 1:
            turns.append(Message(role="assistant", content=WAIT))
    measured = prompt_tokens(backend, turns) - prompt_tokens(backend, without_images(turns))
    assert measured == image_cost(turns, sent, max_patches)
    assert all(w % 28 == 0 and h % 28 == 0 for w, h in sent)  # the agent's resize leaves no padding
