"""The README's table of environment variables lists every setting in `environments.settings.SETTINGS`."""

from __future__ import annotations

import re
from pathlib import Path

from agent.backends import openai_compat
from environments import processes
from environments.remote import client
from environments.settings import SETTINGS, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Environment variables"


def test_the_readme_table_lists_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    assert HEADING in text, f"README.md needs a '{HEADING}' section: environments.settings.settings_table()"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.MULTILINE))
    assert listed == {s.name for s in SETTINGS}, "paste environments.settings.settings_table() in the README"


def test_every_variable_the_code_reads_is_a_setting() -> None:
    folders = ("agent", "environments", "actions", "prompts")
    code = "\n".join(p.read_text("utf-8") for f in folders for p in (README.parent / f).rglob("*.py"))
    named = set(re.findall(r'"(KIMI_AGENT_[A-Z_]+)"', code)) | {"KIMI_VM_TOKEN"}
    assert named <= {s.name for s in SETTINGS}, sorted(named - {s.name for s in SETTINGS})
    assert {processes.RUN_MARK, processes.WORKER_MARK} <= {s.name for s in SETTINGS}


def test_the_table_states_the_defaults_the_code_uses() -> None:
    default = {s.name: s.default for s in SETTINGS}
    assert default["KIMI_AGENT_MODEL_RETRIES"] == f"{openai_compat.DEFAULT_RETRIES:g}"
    assert default["KIMI_AGENT_MODEL_TIMEOUT"] == f"{openai_compat.DEFAULT_TIMEOUT:g}"
    assert default["KIMI_AGENT_MODEL_BACKOFF"] == f"{openai_compat.DEFAULT_BACKOFF:g}"
    assert default["KIMI_AGENT_VM_TIMEOUT"] == f"{client.DEFAULT_TIMEOUT:g}"
    assert default["KIMI_AGENT_VM_RETRIES"] == f"{client.RETRIES:g}"
    assert settings_table().count("\n") == len(SETTINGS) + 1
