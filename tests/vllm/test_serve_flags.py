"""The `vllm serve` flags `kimi-agent serve` passes, for every checkpoint it knows, parsed by the
installed vLLM's own argument parser (tests/vllm/serve_flags_oracle.py in .venv-vllm): a flag
vLLM renames or drops fails here, not on a user's GPU machine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agent.backends.checkpoints import CHECKPOINTS
from agent.backends.vllm_server import ServeConfig
from tests.vllm.conftest import VLLM_PYTHON, requires_vllm

pytestmark = requires_vllm
ORACLE = Path(__file__).with_name("serve_flags_oracle.py")


def parsed_by_vllm(commands: list[list[str]]) -> list[dict]:
    done = subprocess.run(
        [str(VLLM_PYTHON), str(ORACLE)], input=json.dumps(commands), capture_output=True, text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def verdicts(stand_in_model: Path) -> dict[str, dict]:
    """Each known checkpoint's command line, the stand-in's, and two that must be refused."""
    commands = {c.name: ServeConfig(checkpoint=c.name).command() for c in CHECKPOINTS}
    commands["stand-in"] = ServeConfig(
        checkpoint=str(stand_in_model), port=18211, extra_args=("--load-format=dummy", "--enforce-eager"),
    ).command()
    commands["renamed flag"] = [*commands[CHECKPOINTS[0].name], "--max-model-length", "4096"]
    commands["unknown reasoning parser"] = [
        *commands[CHECKPOINTS[0].name], "--reasoning-parser", "kimi_vl_markers",
    ]
    return dict(zip(commands, parsed_by_vllm(list(commands.values()))))


@pytest.mark.parametrize("checkpoint", [c.name for c in CHECKPOINTS])
def test_vllm_accepts_the_flags_kimi_agent_serve_passes(verdicts, checkpoint: str) -> None:
    config = ServeConfig(checkpoint=checkpoint)
    verdict = verdicts[checkpoint]
    assert verdict["ok"], verdict
    assert verdict["model"] == checkpoint and verdict["served_model_name"] == [config.name]
    assert verdict["max_model_len"] == config.max_model_len and verdict["trust_remote_code"]
    assert verdict["limit_mm_per_prompt"] == {"image": config.images_per_prompt}
    assert verdict["reasoning_parser"] == config.facts.serve.reasoning_parser


def test_the_stand_ins_command_line_is_accepted_too(verdicts, stand_in_model: Path) -> None:
    assert verdicts["stand-in"]["ok"] and verdicts["stand-in"]["model"] == str(stand_in_model)


def test_a_renamed_flag_or_an_unknown_parser_is_refused(verdicts) -> None:
    """The check has teeth: what vLLM does not know fails."""
    renamed = verdicts["renamed flag"]
    assert not renamed["ok"] and "--max-model-length" in str(renamed["error"])
    assert not verdicts["unknown reasoning parser"]["ok"]
    assert "kimi_vl_markers" in verdicts["unknown reasoning parser"]["error"]
