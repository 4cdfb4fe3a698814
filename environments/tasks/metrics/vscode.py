"""Metrics of OSWorld's VS Code tasks: keybindings, settings text, extensions, zip and result files,
and a task's own Python test suite."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from difflib import SequenceMatcher
from io import BytesIO
from pathlib import Path
from typing import Any

from environments.tasks.metrics.app_options import ConfigTextOptions, TestSuiteOptions
from environments.tasks.registry import metric

TEST_SUITE_TIMEOUT = 300.0
PDF_TEXT_SIMILARITY = 0.95
"""How alike two PDFs' texts must be for compare_zip_files to count them as the same."""
_RUN_TEST = """
import json, sys
sys.path.insert(0, '.')
import importlib.util
spec = importlib.util.spec_from_file_location('task_test_suite', sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
outcome = getattr(module, sys.argv[2])()
print(json.dumps(outcome if isinstance(outcome, (bool, int, float)) else bool(outcome)))
"""
"""Runs a task's test file in its own interpreter: its imports and side effects stay out of ours."""


def _json_list(path: str) -> list[Any] | None:
    """The file as a JSON list, read whole or after its first line (VS Code writes a comment there)."""
    for skip in (False, True):
        try:
            with open(path) as source:
                if skip:
                    source.readline()
                data = json.load(source)
        except (OSError, ValueError, TypeError):  # OSWorld reads any unreadable input as "no list"
            continue
        if isinstance(data, list):
            return data
    return None


@metric("check_json_keybindings")
def check_json_keybindings(result: str | None, expected: dict[str, Any]) -> float:
    """1 when keybindings.json holds the expected binding."""
    data = _json_list(result) if result else None
    return float(data is not None and expected["expected"] in data)


def _is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _is_subset(v, actual[k])
                                                for k, v in expected.items())
    return expected == actual


@metric("compare_config", ConfigTextOptions)
def compare_config(result: str | None, rules: dict[str, Any], *, options: ConfigTextOptions) -> float:
    """With `containment_ok`: the expected JSON is a subset of the file's JSON (or, when either is not
    JSON, the expected text is in the file). Without: equal texts, or equal JSON."""
    expected = rules.get("expected")
    if not result or not expected:
        return 0.0
    actual = Path(result).read_text(encoding="utf-8")
    if options.containment_ok:
        try:
            return float(_is_subset(json.loads(expected), json.loads(actual)))
        except ValueError:
            return float(expected.strip() in actual)
    if actual == expected:
        return 1.0
    try:
        return float(json.loads(actual) == json.loads(expected))
    except ValueError:
        return 0.0


@metric("is_extension_installed")
def is_extension_installed(result: str, rules: dict[str, Any]) -> float:
    """The command output contains (`contain`) or lacks (`not_contain`) the expected text."""
    if rules["type"] == "contain":
        return float(rules["expected"] in result)
    if rules["type"] == "not_contain":
        return float(rules["expected"] not in result)
    raise NotImplementedError(f"is_extension_installed: type {rules['type']!r}")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


@metric("compare_zip_files")
def compare_zip_files(result: str | None, expected: str) -> float:
    """Same member names; PDFs with ≥ 95 % similar text, every other member byte-identical."""
    if not result:
        return 0.0
    with zipfile.ZipFile(result) as first, zipfile.ZipFile(expected) as second:
        names = set(first.namelist())
        if names != set(second.namelist()):
            return 0.0
        for name in names:
            mine, theirs = first.read(name), second.read(name)
            if name.lower().endswith(".pdf"):
                if SequenceMatcher(None, _pdf_text(mine), _pdf_text(theirs)).ratio() < PDF_TEXT_SIMILARITY:
                    return 0.0
            elif mine != theirs:
                return 0.0
    return 1.0


@metric("compare_result_files")
def compare_result_files(result: str | None, expected: str | None) -> float:
    """The expected text is a number found in the result's text or within 1e-4 of it; otherwise the
    stripped texts must be equal."""
    if not result or not expected:
        return 0.0
    mine, gold = (Path(path).read_text().strip() for path in (result, expected))
    try:
        gold_number = float(gold)
        if gold in mine:
            return 1.0
        return float(abs(float(mine) - gold_number) < 1e-4)
    except ValueError:
        return float(mine == gold)


@metric("check_python_file_by_test_suite", TestSuiteOptions)
def check_python_file_by_test_suite(_result: Any, test_file: str | None, *,
                                    options: TestSuiteOptions) -> float:
    """Run the task's test function from `test_file` in its folder (where the result files were
    copied): True/False or a number clipped to [0, 1]; any failure scores 0."""
    if not test_file or not Path(test_file).is_file():
        return 0.0
    path = Path(test_file).resolve()
    try:
        run = subprocess.run([sys.executable, "-c", _RUN_TEST, str(path), options.test_function_name],
                             cwd=path.parent, capture_output=True, text=True, timeout=TEST_SUITE_TIMEOUT,
                             stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return 0.0
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        return 0.0
    try:
        outcome = json.loads(lines[-1])
    except ValueError:
        return 0.0
    return float(outcome) if isinstance(outcome, bool) else max(0.0, min(1.0, float(outcome)))
