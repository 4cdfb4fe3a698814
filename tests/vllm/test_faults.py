"""Model-server faults with a REAL vLLM, against what the README's "When things fail" promises:
the server killed mid-episode and started again (the run waits and carries on), a request over
`--max-model-len` and one with more images than `--limit-mm-per-prompt` (vLLM's own message,
shown at once, not retried)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from agent.backends.base import BackendResponseError
from agent.backends.chat import ImagePart, ImageURL, Message, Sampling, TextPart
from agent.backends.openai_compat import OpenAICompatBackend
from agent.trajectory.store import read_trajectory
from tests.vllm.conftest import requires_vllm
from tests.vllm.test_image_tokens import picture, png_url
from tests.vllm.test_run import kimi_agent_run, run_env

pytestmark = requires_vllm

MOVE = (
    r"◁think▷[a-z ]{1,20}◁/think▷## Action:\nMove the pointer\.\n## Code:\n```python\n"
    r"pyautogui\.moveTo\(x=0\.[1-8][0-9]{2}, y=0\.[1-8][0-9]{2}\)\n```"
)


def patient_client(server) -> OpenAICompatBackend:
    """A client that would retry for minutes: a refused request must fail at once all the same."""
    return OpenAICompatBackend(server.base_url, server.name, max_retries=6, backoff=5.0, timeout=300)


def test_a_request_over_max_model_len_fails_at_once_with_vllms_message(vllm_server) -> None:
    client = patient_client(vllm_server)
    started = time.monotonic()
    too_long = r"answered 400: This model's maximum context length is 32768"
    with pytest.raises(BackendResponseError, match=too_long) as err:
        client.complete([Message(role="user", content="a" * 40000)], Sampling(max_tokens=16))
    client.close()
    assert err.value.status == 400 and "after" not in str(err.value)  # not retried
    assert time.monotonic() - started < 60


def test_more_images_than_the_server_allows_fail_at_once_with_vllms_message(vllm_server) -> None:
    """`kimi-agent serve` gives vLLM --limit-mm-per-prompt 8 for Thinking-2506 (its history holds 6)."""
    tiny = ImagePart(image_url=ImageURL(url=png_url(picture(56, 56))))

    def images(count: int) -> list[Message]:
        return [Message(role="user", content=(*[tiny] * count, TextPart(text="Which?")))]

    client = patient_client(vllm_server)
    started = time.monotonic()
    with pytest.raises(BackendResponseError, match=r"answered 400: At most 8 image\(s\) may be provided"):
        client.complete(images(9), Sampling(max_tokens=4))
    eight = client.complete(images(8), Sampling(max_tokens=4))
    client.close()
    assert eight.usage.prompt_tokens > 8 * 4
    assert time.monotonic() - started < 120


def test_a_too_long_task_ends_the_run_with_vllms_message(vllm_server, tmp_path: Path) -> None:
    done = subprocess.run(
        kimi_agent_run(vllm_server, tmp_path, MOVE, "--max-steps", "2", instruction="Read: " + "a" * 40000),
        cwd=tmp_path, env=run_env(), capture_output=True, text=True, timeout=600,
    )
    flat = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, flat
    assert "outcome: error" in flat and "answered 400" in flat and "maximum context length is 32768" in flat
    [folder] = list((tmp_path / "rec").iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "error" and "maximum context length" in trajectory.info.error


def test_run_waits_for_vllm_killed_mid_episode_and_started_again(vllm_server, tmp_path: Path) -> None:
    """The retries (KIMI_AGENT_MODEL_RETRIES/BACKOFF, raised here to cover vLLM's start-up of a few
    minutes on two cores) carry the episode over the outage; every step is answered by vLLM."""
    run = subprocess.Popen(
        kimi_agent_run(vllm_server, tmp_path, MOVE, "--max-steps", "3", "--max-tokens", "300",
                       "--max-unchanged", "0", "--max-repeats", "0", instruction="Move the pointer around"),
        cwd=tmp_path, env=run_env(KIMI_AGENT_MODEL_RETRIES="30", KIMI_AGENT_MODEL_BACKOFF="2"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 600
        while not list((tmp_path / "rec").glob("*/trajectory.jsonl")) or not _steps(tmp_path):
            assert run.poll() is None and time.monotonic() < deadline, "no step finished before the kill"
            time.sleep(0.5)
        vllm_server.kill_vllm()
        assert not vllm_server.healthy()
        vllm_server.start()
        out, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 1 and "outcome: max_steps" in out, out  # ended by its step budget, not an error
    [folder] = list((tmp_path / "rec").iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "max_steps" and trajectory.info.error is None
    assert len(trajectory.steps) == 3 and all(s.error is None for s in trajectory.steps)
    assert all([a.type for a in s.actions] == ["move"] for s in trajectory.steps)
    assert all(s.response.usage.prompt_tokens > 0 for s in trajectory.steps)


def _steps(folder: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in (folder / "rec").glob("*/trajectory.jsonl"))
