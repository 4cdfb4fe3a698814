"""The checkpoint table: published names resolve to their own settings, unknown names work with a
warning that says what is used, and `vllm serve` gets each checkpoint's flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.backends.checkpoints import CHECKPOINTS, DEFAULT_CHECKPOINT, checkpoint_for, resolve_checkpoint
from agent.backends.vllm_server import ServeConfig
from agent.episode.run import image_encoding, policy_config

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name, expected", [
    ("moonshotai/Kimi-K2.5", "moonshotai/Kimi-K2.5"),
    ("kimi-k2.5", "moonshotai/Kimi-K2.5"),
    ("nvidia/Kimi-K2.5-NVFP4", "moonshotai/Kimi-K2.5"),
    ("/models/Kimi-K2.6/", "moonshotai/Kimi-K2.6"),
    ("moonshotai/Kimi-VL-A3B-Thinking-2506", "moonshotai/Kimi-VL-A3B-Thinking-2506"),
    ("kimi-vl-thinking-2506", "moonshotai/Kimi-VL-A3B-Thinking-2506"),
    ("moonshotai/Kimi-VL-A3B-Thinking", "moonshotai/Kimi-VL-A3B-Thinking"),
    ("kimi-vl", "moonshotai/Kimi-VL-A3B-Instruct"),
])
def test_published_names_resolve_without_a_warning(name: str, expected: str) -> None:
    checkpoint, warning = resolve_checkpoint(name)
    assert (checkpoint.name, warning) == (expected, None)


def test_unknown_names_work_and_the_warning_names_prompt_and_sampling() -> None:
    checkpoint, warning = resolve_checkpoint("replay")
    assert checkpoint.name == DEFAULT_CHECKPOINT
    assert "'replay'" in warning and "prompt 'thinking'" in warning
    assert "temperature 0.8" in warning and "max_tokens 8192" in warning and "jpeg" in warning
    instruct, warning = resolve_checkpoint("my-org/some-instruct-model")
    assert instruct.variant == "instruct" and "prompt 'instruct'" in warning and "temperature 0.2" in warning


def test_kimi_k25_runs_as_osworlds_kimi_agent_with_webp() -> None:
    k25 = checkpoint_for("moonshotai/Kimi-K2.5")
    sampling = k25.sampling
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (1.0, 0.95, 4096)
    assert (k25.image.format, k25.image.quality) == ("webp", 75)
    assert k25.history_images == 3 and k25.thinking == "reasoning_content"
    assert k25.reply_layout == "think-tags"
    assert not k25.exact_image_tokens  # its processor is not Kimi-VL's: token counts are estimates
    config = policy_config("moonshotai/Kimi-K2.5")
    assert config.history.max_images == 3 and config.sampling == sampling
    assert image_encoding("moonshotai/Kimi-K2.5") == k25.image
    assert image_encoding("moonshotai/Kimi-K2.5", "jpeg").format == "jpeg"  # --image-format still wins


def test_kimi_vl_keeps_todays_settings() -> None:
    for checkpoint in CHECKPOINTS[:3]:
        assert checkpoint.image.format == "jpeg" and checkpoint.image.quality is None
        assert checkpoint.exact_image_tokens and checkpoint.thinking == "inline"
        assert (checkpoint.history_images, checkpoint.history_keep) == (6, 2)
        assert checkpoint.serve.reasoning_parser is None  # vLLM has no parser for ◁think▷
    assert checkpoint_for(DEFAULT_CHECKPOINT).sampling.temperature == 0.8


def test_every_checkpoint_names_its_versions_and_their_source() -> None:
    for checkpoint in CHECKPOINTS:
        recipe = checkpoint.serve
        assert recipe.vllm and recipe.transformers and recipe.known_good and recipe.source


def test_serve_flags_follow_each_checkpoint() -> None:
    k25 = ServeConfig("moonshotai/Kimi-K2.5").command()
    joined = " ".join(k25)
    assert "--reasoning-parser kimi_k2" in joined and "--mm-encoder-tp-mode data" in joined
    assert "--tensor-parallel-size 8" in joined and "--max-model-len 65536" in joined
    assert '--limit-mm-per-prompt {"image": 5}' in joined
    assert json.loads(k25[k25.index("--override-generation-config") + 1]) == {"max_new_tokens": 4096}
    vl = ServeConfig("moonshotai/Kimi-VL-A3B-Instruct", max_model_len=65536, tensor_parallel_size=2).command()
    joined = " ".join(vl)
    assert "--reasoning-parser" not in joined
    assert "--max-model-len 65536" in joined and "--tensor-parallel-size 2" in joined
    assert json.loads(vl[vl.index("--override-generation-config") + 1]) == {"max_new_tokens": 2048}


def kimi_agent(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_serve_dry_run_prints_the_checkpoints_command_and_warns_for_unknown_names() -> None:
    result = kimi_agent("serve", "--checkpoint", "moonshotai/Kimi-K2.5", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "--reasoning-parser kimi_k2" in result.stdout and "warning" not in result.stdout
    result = kimi_agent("serve", "--checkpoint", "my-model", "--dry-run")
    assert result.returncode == 0, result.stderr
    # The warning goes to stderr, so `serve --dry-run > serve.sh` holds only the command.
    text = " ".join(result.stderr.split())
    assert "warning: unknown model 'my-model'" in text and "temperature 0.8" in text
    assert "warning" not in result.stdout
