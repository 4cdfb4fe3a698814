"""`kimi-agent run --help` and the README's safety section state the defaults the code has."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from agent.episode.run import RunOptions
from agent.safety import DEFAULT_PANIC_KEY, DEFAULT_POLICY, default_policy
from agent.safety.runaway import DEFAULT_MAX_REPEATS, DEFAULT_MAX_UNCHANGED
from tests.agent.cli.test_cli import kimi_agent

README = Path(__file__).resolve().parents[3] / "README.md"


def defaults() -> dict[str, str]:
    options = RunOptions(instruction="x")
    return {
        "max_actions": str(default_policy().max_actions),
        "--confirm": options.confirm,
        "--panic-key": DEFAULT_PANIC_KEY,
        "--max-repeats": str(DEFAULT_MAX_REPEATS),
        "--max-unchanged": str(DEFAULT_MAX_UNCHANGED),
        "--on-runaway": options.on_runaway,
    }


def test_run_help_shows_the_safety_options_with_the_code_defaults() -> None:
    result = kimi_agent("run", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.replace("│", " ").split())
    for option in ("--policy", "--confirm", "--panic-key", "--no-panic-key", "--max-repeats", "--max-unchanged", "--on-runaway"):
        assert option in text
    d = defaults()
    for name in ("--confirm", "--panic-key", "--max-repeats", "--max-unchanged", "--on-runaway"):
        assert f"[default: {d[name]}]" in text
    assert f"allows {d['max_actions']} actions" in text


def test_the_readme_safety_section_matches_the_code_defaults() -> None:
    readme = README.read_text(encoding="utf-8")
    found = re.search(r"^## Safety\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert found is not None, "README.md must have a '## Safety' section listing the defaults"
    section = found.group(1)
    for name, value in defaults().items():
        assert re.search(rf"^\| `{re.escape(name)}` \| `{re.escape(value)}` \|", section, re.M), f"README: {name} should be {value}"
    shipped = tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
    for combo in (k for rule in shipped["rules"] for k in rule.get("keys", [])):
        listed = "`ctrl+alt+f1` … `ctrl+alt+f12`" if re.fullmatch(r"ctrl\+alt\+f\d+", combo) else f"`{combo}`"
        assert listed in section, f"README: the denied keys should list {listed}"
