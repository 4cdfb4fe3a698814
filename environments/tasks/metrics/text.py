"""Text, JSON, CSV, list and URL metrics (OSWorld's vscode.py, general.py, table.py, chrome.py)."""

from __future__ import annotations

import difflib
import io
import json
import re
from pathlib import Path
from typing import Any

from environments.tasks.metrics.options import CsvOptions, TextFileOptions
from environments.tasks.metrics.reference import follows_waa
from environments.tasks.registry import metric


def _read_text(path: str | None) -> str | None:
    """The file's text; None for no path (or a value that is not one) or a file that cannot be read."""
    if not path or not isinstance(path, str):
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@metric("compare_text_file", TextFileOptions)
def compare_text_file(result: str | None, expected: str | None, *, options: TextFileOptions) -> float:
    """1 when the two text files are equal.

    `ignore_blanks` turns tabs and newlines into spaces, strips and squeezes runs of whitespace;
    `ignore_case` lowercases both (both default to False).
    """
    actual, gold = _read_text(result), _read_text(expected)
    if actual is None or gold is None:
        return 0.0
    if options.ignore_blanks:
        actual, gold = (re.sub(r"\s+", " ", re.sub(r"[\t\n]", " ", t).strip()) for t in (actual, gold))
    if options.ignore_case:
        actual, gold = actual.lower(), gold.lower()
    return float(actual == gold)


@metric("diff_text_file")
def diff_text_file(result: str | None, expected: str | None) -> float:
    """difflib's similarity ratio of the two files' lists of lines."""
    actual, gold = _read_text(result), _read_text(expected)
    if actual is None or gold is None:
        return 0.0
    return difflib.SequenceMatcher(a=actual.splitlines(), b=gold.splitlines()).ratio()


@metric("check_json_settings")
def check_json_settings(result: str | None, expected: dict[str, Any]) -> float:
    """1 when the JSON file holds every top-level key of `expected["expected"]` with an equal value.

    The file must be strict JSON: a settings file with comments scores 0, as in OSWorld. Following
    WAA (metrics/reference.py), a file that cannot be read or parsed, or holds no JSON object, raises,
    as WAA's older version does (its harness then leaves the task out).
    """
    if follows_waa() and result:
        with open(result, encoding="utf-8") as file:
            data = json.load(file)
        if not isinstance(data, dict):
            raise TypeError("check_json_settings: the settings file holds no JSON object")
        return float(all(key in data and data[key] == value for key, value in expected["expected"].items()))
    text = _read_text(result)
    if text is None:
        return 0.0
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return 0.0
    if not isinstance(data, dict):
        return 0.0
    return float(all(key in data and data[key] == value for key, value in expected["expected"].items()))


@metric("check_direct_json_object")
def check_direct_json_object(result: Any, rules: dict[str, Any]) -> float:
    """Compare a JSON object (a dict, or a string that is parsed after turning `'` into `"`).

    Without `expect_in_result`, every key of `rules["expected"]` must have an equal value. With it,
    an expected list passes when any of its items is in the result's list or equals the result's
    string, and an expected string must be a substring of the result's value.
    OSWorld looks for `ignore_list_order` only inside `rules["expected"]`, so the flag a task puts
    beside `expected` has no effect; lists are compared in order, as here. A value of
    "__EVALUATION_FAILED__" in `expected` (a getter that could not resolve it) scores 0.
    WAA's older version has neither that marker nor the string case of an expected list, and raises
    on a string that is not JSON.
    """
    if isinstance(result, str):
        try:
            result = json.loads(result.strip().replace("'", '"'))
        except json.JSONDecodeError:
            if follows_waa():
                raise  # WAA's runner leaves the task out
            return 0.0
    if not isinstance(result, dict):
        return 0.0
    expected: dict[str, Any] = rules["expected"]
    if not follows_waa() and any(value == "__EVALUATION_FAILED__" for value in expected.values()):
        return 0.0
    if rules.get("expect_in_result", False):
        return float(all(_found_in_result(value, result.get(key)) for key, value in expected.items()))
    return float(all(result.get(key) == value for key, value in expected.items()))


def _found_in_result(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):
        if isinstance(actual, list):
            return any(item in actual for item in expected)
        return isinstance(actual, str) and actual in expected and not follows_waa()
    if isinstance(expected, str):
        try:
            return expected in actual
        except TypeError:
            return False
    return False


@metric("compare_csv", CsvOptions)
def compare_csv(result: str | None, expected: str | list[str] | None, *, options: CsvOptions) -> float:
    """1 when the CSV file's lines equal those of the expected file (or of any of a list of them).

    `strict` (default True) compares lines as they are; False strips each line first.
    `ignore_case` (default False) lowercases both.
    """
    actual = read_lines(result)
    if actual is None or expected is None:
        return 0.0
    for gold in (read_lines(path) for path in ([expected] if isinstance(expected, str) else expected)):
        if gold is not None and _normalize_lines(actual, options) == _normalize_lines(gold, options):
            return 1.0
    return 0.0


def read_lines(path: str | None) -> list[str] | None:
    """The file's lines decoded as OSWorld main does in effect: UTF-8 (BOM or not), else latin-1.

    PyPI desktop-env 1.0.2 tried UTF-8 before UTF-8 with BOM, so a BOM stayed in the first line.
    """
    if not path or not isinstance(path, str):
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        return data.decode("latin-1").splitlines()


def _normalize_lines(lines: list[str], options: CsvOptions) -> list[str]:
    if not options.strict:
        lines = [line.strip() for line in lines]
    if options.ignore_case:
        lines = [line.lower() for line in lines]
    return lines


@metric("is_expected_url_pattern_match")
def is_expected_url_pattern_match(result: str | dict[str, Any] | None, rules: dict[str, Any]) -> float:
    """1 when every regex of `rules["expected"]` is found (re.search) in the URL.

    The result is the URL itself or a dict with a "url" key (the active-tab getters).
    """
    if not result:
        return 0.0
    url = result if isinstance(result, str) else result.get("url") if isinstance(result, dict) else None
    if not isinstance(url, str):
        return 0.0
    return float(all(re.search(pattern, url) for pattern in rules["expected"]))


@metric("check_list")
def check_list(result: str | None, rules: dict[str, list[str]]) -> float:
    """1 when each `expect` regex is found on some line of the file and no `unexpect` regex on any."""
    text = _read_text(result)
    if text is None:
        return 0.0
    lines = list(io.StringIO(text))
    expect = [re.compile(p) for p in rules.get("expect", [])]
    unexpect = [re.compile(p) for p in rules.get("unexpect", [])]
    found_all = all(any(p.search(line) for line in lines) for p in expect)
    return float(found_all and not any(p.search(line) for p in unexpect for line in lines))
