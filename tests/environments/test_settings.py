"""Limits read from environment variables: a bad value is a clear typed error, and the commands say so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from environments.settings import SettingError, number_from_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "kind", "expected"), [("", float, 7.0), (" 2.5 ", float, 2.5), ("3", int, 3)])
def test_a_set_or_unset_variable_gives_its_number(monkeypatch, raw: str, kind, expected: float) -> None:
    monkeypatch.setenv("KIMI_AGENT_TEST_SETTING", raw)
    assert number_from_env("KIMI_AGENT_TEST_SETTING", 7.0, kind) == expected


@pytest.mark.parametrize(("raw", "kind", "message"), [
    ("many", int, "is not a whole number"), ("1.5", int, "is not a whole number"), ("soon", float, "is not a number"),
    ("-1", float, "at least 0"), ("nan", float, "at least 0"),
])
def test_a_bad_value_is_a_setting_error_naming_the_variable(monkeypatch, raw: str, kind, message: str) -> None:
    monkeypatch.setenv("KIMI_AGENT_TEST_SETTING", raw)
    with pytest.raises(SettingError, match=rf"KIMI_AGENT_TEST_SETTING='{raw}' .*{message}"):
        number_from_env("KIMI_AGENT_TEST_SETTING", 7.0, kind)


def test_eval_reports_a_bad_setting_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--base-url", "http://127.0.0.1:9/v1", "--results", str(tmp_path)],
        cwd=ROOT, env={**os.environ, "KIMI_AGENT_MODEL_RETRIES": "many", "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "KIMI_AGENT_MODEL_RETRIES='many' is not a whole number" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
