"""Thinking in both shapes a server returns it — inline (`◁think▷…◁/think▷`, Kimi-VL) or in
`reasoning_content` (vLLM's `kimi_k2` parser, Kimi-K2.5) — streamed and not, for every
checkpoint: real HTTP to the scripted stand-in server, the OpenAI-compatible client, and
the policy that turns the answer into a step."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from PIL import Image

from actions.coords import Frame
from agent.backends.checkpoints import CHECKPOINTS, Checkpoint
from agent.backends.openai_compat import OpenAICompatBackend
from agent.backends.scripted import ScriptedBackend, ScriptedReply, load_replies
from agent.backends.scripted_server import ScriptedServer
from agent.episode.policy import KimiPolicy
from agent.episode.protocol import Observation
from agent.episode.run import policy_config
from environments.encode import encode_image

THOUGHT = "The OK button is at the bottom right of the dialog."
ANSWER = "## Action:\nClick OK.\n\n## Code:\n```python\npyautogui.click(x=0.5, y=0.25)\n```"


def reply_in(shape: str, checkpoint: Checkpoint) -> ScriptedReply:
    """The answer as this checkpoint's server sends it: thinking inline or apart."""
    if shape == "reasoning_content":
        return ScriptedReply(content=ANSWER, reasoning_content=THOUGHT)
    if checkpoint.variant == "instruct":
        return ScriptedReply(content=f"## Thought:\n{THOUGHT}\n\n{ANSWER}")
    return ScriptedReply(content=f"◁think▷{THOUGHT}◁/think▷{ANSWER}")


@pytest.fixture
def stand_in() -> Iterator[ScriptedServer]:
    server = ScriptedServer(("127.0.0.1", 0), ScriptedBackend([]), "replay", None, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def observation() -> Observation:
    image = encode_image(Image.new("RGB", (56, 56), "white"))
    frame = Frame(physical_width=56, physical_height=56, image_width=56, image_height=56)
    return Observation(image_url=image.data_url, frame=frame, name="frame-0000.jpg")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("shape", ["inline", "reasoning_content"])
@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=[c.name.rsplit("/", 1)[-1] for c in CHECKPOINTS])
def test_the_thought_reaches_the_step_in_every_shape(
    stand_in: ScriptedServer, checkpoint: Checkpoint, shape: str, stream: bool
) -> None:
    reply = reply_in(shape, checkpoint)
    stand_in.backend = ScriptedBackend([reply])
    host, port = stand_in.server_address[:2]
    backend = OpenAICompatBackend(f"http://{host}:{port}/v1", checkpoint.name, stream=stream, max_retries=0)
    policy = KimiPolicy(backend, policy_config(checkpoint.name), "press OK")
    decision = policy.decide(observation())
    assert decision.error is None
    assert decision.step.thought == THOUGHT
    assert decision.step.intent == "Click OK."
    assert decision.response.reasoning == reply.reasoning_content
    assert decision.response.text == reply.content
    assert decision.response.finish_reason == "stop"
    assert decision.response.stand_in is not None  # the stand-in is labelled, streamed or not
    backend.close()


def test_a_streamed_answer_is_server_sent_events_with_usage(stand_in: ScriptedServer) -> None:
    stand_in.backend = ScriptedBackend([ScriptedReply(content=ANSWER, reasoning_content=THOUGHT)])
    host, port = stand_in.server_address[:2]
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    body["stream_options"] = {"include_usage": True}
    response = httpx.post(f"http://{host}:{port}/v1/chat/completions", json=body, timeout=10)
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-model-stand-in"] == "replay"
    events = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert len(events) > 6  # thinking and text arrive in several deltas
    assert '"reasoning_content"' in response.text and '"usage"' in events[-2]


def test_newer_vllm_reasoning_field_is_read_too(stand_in: ScriptedServer) -> None:
    """vLLM's later releases call the parser's output `reasoning`; either name is the thought."""
    from agent.backends.openai_compat import _ReplyMessage

    assert _ReplyMessage(content="x", reasoning="r").thinking == "r"
    assert _ReplyMessage(content="x", reasoning_content="rc").thinking == "rc"


def test_a_stream_cut_off_before_its_end_is_an_error() -> None:
    from agent.backends.base import BackendResponseError
    from agent.backends.openai_compat import _completion

    cut = httpx.Response(200, headers={"content-type": "text/event-stream"},
                         text='data: {"choices": [{"delta": {"content": "## Act"}}]}\n\n')
    with pytest.raises(BackendResponseError, match="stream ended"):
        _completion(cut, 0.0)


def test_scripts_and_recordings_keep_reasoning_apart(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    replies = ["plain", {"content": "answer", "reasoning_content": "why"}]
    script.write_text(json.dumps({"replies": replies}), encoding="utf-8")
    replies = load_replies(script)
    assert replies == ["plain", ScriptedReply(content="answer", reasoning_content="why")]
    backend = ScriptedBackend(replies)
    first, second = (backend.complete([], policy_config("replay").sampling) for _ in range(2))
    assert (first.text, first.reasoning) == ("plain", "")
    assert (second.text, second.reasoning) == ("answer", "why")
