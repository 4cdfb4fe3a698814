"""Text, JSON, CSV, list and URL metrics follow OSWorld's pass/fail decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from environments.tasks.metrics.text import (
    check_direct_json_object, check_json_settings, check_list, compare_csv, compare_text_file, diff_text_file,
    is_expected_url_pattern_match,
)
from environments.tasks.model import Evaluator
from environments.tasks.scoring import score


def write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_compare_text_file(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.txt", "Hello World\nline two\n")
    assert compare_text_file(write(tmp_path / "same.txt", "Hello World\nline two\n"), gold) == 1.0
    assert compare_text_file(write(tmp_path / "other.txt", "Hello World\nline 2\n"), gold) == 0.0
    assert compare_text_file(None, gold) == 0.0
    assert compare_text_file(str(tmp_path / "missing.txt"), gold) == 0.0


def test_compare_text_file_options(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.bib", "@article{a,\n  title={X}\n}\n")
    spaced = write(tmp_path / "spaced.bib", "@article{a,\n\ttitle={X}   }")
    assert compare_text_file(spaced, gold) == 0.0
    assert compare_text_file(spaced, gold, ignore_blanks=True) == 1.0
    shouting = write(tmp_path / "upper.bib", "@ARTICLE{A,\n  TITLE={X}\n}\n")
    assert compare_text_file(shouting, gold) == 0.0
    assert compare_text_file(shouting, gold, ignore_case=True) == 1.0


def test_diff_text_file_is_the_line_similarity_ratio(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.js", "a\nb\nc\n")
    assert diff_text_file(write(tmp_path / "same.js", "a\nb\nc\n"), gold) == 1.0
    assert diff_text_file(write(tmp_path / "more.js", "a\nb\nc\nd\n"), gold) == pytest.approx(6 / 7)
    assert diff_text_file(write(tmp_path / "none.js", "x\ny\n"), gold) == 0.0
    assert diff_text_file(None, gold) == 0.0
    assert diff_text_file(str(tmp_path / "missing.js"), gold) == 0.0


def test_check_json_settings(tmp_path: Path) -> None:
    settings = write(tmp_path / "settings.json", json.dumps(
        {"files.autoSave": "afterDelay", "files.autoSaveDelay": 500, "files.exclude": {"**/__pycache__": True}}))
    assert check_json_settings(settings, {"expected": {"files.autoSave": "afterDelay", "files.autoSaveDelay": 500}}) == 1.0
    assert check_json_settings(settings, {"expected": {"files.exclude": {"**/__pycache__": True}}}) == 1.0
    assert check_json_settings(settings, {"expected": {"files.autoSaveDelay": 1000}}) == 0.0
    assert check_json_settings(settings, {"expected": {"editor.wordWrapColumn": 50}}) == 0.0
    commented = write(tmp_path / "commented.json", '// user settings\n{"editor.wordWrapColumn": 50}')
    assert check_json_settings(commented, {"expected": {"editor.wordWrapColumn": 50}}) == 0.0
    assert check_json_settings(None, {"expected": {}}) == 0.0
    assert check_json_settings(str(tmp_path / "missing.json"), {"expected": {}}) == 0.0


def test_check_direct_json_object_compares_every_expected_key() -> None:
    rules = {"expected": {"q": "drip coffee maker", "zip": "10001"}}
    assert check_direct_json_object({"q": "drip coffee maker", "zip": "10001", "extra": 1}, rules) == 1.0
    assert check_direct_json_object({"q": "drip coffee maker", "zip": "10002"}, rules) == 0.0
    assert check_direct_json_object({"q": "drip coffee maker"}, rules) == 0.0
    assert check_direct_json_object("{'q': 'drip coffee maker', 'zip': '10001'}", rules) == 1.0
    assert check_direct_json_object("not json", rules) == 0.0
    assert check_direct_json_object(None, rules) == 0.0
    assert check_direct_json_object({"q": "x"}, {"expected": {"q": "__EVALUATION_FAILED__"}}) == 0.0


def test_check_direct_json_object_expect_in_result() -> None:
    rules = {"expected": {"toStation": ["STO", "ARN"], "q": "coffee"}, "expect_in_result": True}
    assert check_direct_json_object({"toStation": ["ARN"], "q": "drip coffee maker"}, rules) == 1.0
    assert check_direct_json_object({"toStation": "STO", "q": "coffee"}, rules) == 1.0
    assert check_direct_json_object({"toStation": ["CPH"], "q": "coffee"}, rules) == 0.0
    assert check_direct_json_object({"toStation": ["STO"], "q": "tea"}, rules) == 0.0
    assert check_direct_json_object({"toStation": ["STO"]}, rules) == 0.0


def test_ignore_list_order_beside_expected_has_no_effect_as_in_osworld() -> None:
    rules = {"expected": {"modelList": ["a", "b"]}, "ignore_list_order": True}
    assert check_direct_json_object({"modelList": ["a", "b"]}, rules) == 1.0
    assert check_direct_json_object({"modelList": ["b", "a"]}, rules) == 0.0


def test_compare_csv(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "Name,Score\nAda,1\n")
    assert compare_csv(write(tmp_path / "same.csv", b"\xef\xbb\xbfName,Score\r\nAda,1\r\n"), gold) == 1.0
    assert compare_csv(write(tmp_path / "other.csv", "Name,Score\nAda,2\n"), gold) == 0.0
    assert compare_csv(None, gold) == 0.0
    assert compare_csv(str(tmp_path / "missing.csv"), gold) == 0.0
    alternative = write(tmp_path / "alt.csv", "Name,Score\nAda,2\n")
    assert compare_csv(str(tmp_path / "other.csv"), [gold, str(tmp_path / "gone.csv"), alternative]) == 1.0


def test_compare_csv_options(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.csv", "Name,Score\nAda,1\n")
    loose = write(tmp_path / "loose.csv", "  name,score \nADA,1\n")
    assert compare_csv(loose, gold) == 0.0
    assert compare_csv(loose, gold, strict=False) == 0.0
    assert compare_csv(loose, gold, strict=False, ignore_case=True) == 1.0


def test_is_expected_url_pattern_match() -> None:
    rules = {"expected": [r"^https://(www\.)?drugs\.com/tamiflu\.html#side-effects"]}
    assert is_expected_url_pattern_match("https://www.drugs.com/tamiflu.html#side-effects", rules) == 1.0
    assert is_expected_url_pattern_match({"url": "https://drugs.com/tamiflu.html#side-effects"}, rules) == 1.0
    assert is_expected_url_pattern_match("https://www.drugs.com/tamiflu.html", rules) == 0.0
    both = {"expected": ["https://scholar.google.com/citations", "user=qRAQ5BsAAAAJ"]}
    assert is_expected_url_pattern_match("https://scholar.google.com/citations?user=qRAQ5BsAAAAJ&hl=en", both) == 1.0
    assert is_expected_url_pattern_match("https://scholar.google.com/citations?user=other", both) == 0.0
    assert is_expected_url_pattern_match(None, rules) == 0.0
    assert is_expected_url_pattern_match({"title": "no url"}, rules) == 0.0


def test_check_list(tmp_path: Path) -> None:
    listing = write(tmp_path / "ls.out", "COMPANY.msf\nCOMPANY\nUNIVERSITY.msf\nUNIVERSITY\n")
    expect = {"expect": [r"\bCOMPANY\.msf\b", r"\bCOMPANY/?(?!\.msf)", r"\bUNIVERSITY\.msf\b"]}
    assert check_list(listing, expect) == 1.0
    assert check_list(listing, {"expect": [r"\bSCHOOL\b"]}) == 0.0
    assert check_list(write(tmp_path / "empty.out", ""), {"unexpect": [".+"]}) == 1.0
    assert check_list(write(tmp_path / "diff.out", "< changed\n"), {"unexpect": [".+"]}) == 0.0
    assert check_list(None, expect) == 0.0
    assert check_list(str(tmp_path / "missing.out"), expect) == 0.0


def test_registered_metrics_score_through_the_task_evaluator(tmp_path: Path) -> None:
    evaluator = Evaluator.model_validate({
        "func": ["check_direct_json_object", "is_expected_url_pattern_match"],
        "result": [{"type": "rule", "rules": {"q": "coffee"}}, {"type": "rule", "rules": "https://a.com/b"}],
        "expected": [{"type": "rule", "rules": {"expected": {"q": "coffee"}}},
                     {"type": "rule", "rules": {"expected": ["a\\.com/b$"]}}],
    })
    assert score(evaluator, None, last_action_failed=False) == 1.0
