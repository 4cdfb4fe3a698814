"""`score_explained`: OSWorld's score with each metric's part, what its getters returned or raised,
on a real LocalMachine with real files; and `score`'s float that carries the explanation."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from environments.tasks import registry
from environments.tasks.context import TaskContext
from environments.tasks.explanation import ScoreExplanation, short_repr
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Evaluator
from environments.tasks.parameters import NoParams
from environments.tasks.scoring import score, score_explained

OUT = {"type": "vm_file", "path": "/home/user/Desktop/out.txt", "dest": "out.txt"}
GOLD = {"type": "cloud_file", "path": "gold.txt", "dest": "gold.txt"}


@pytest.fixture
def context(tmp_path: Path) -> Iterator[TaskContext]:
    machine = LocalMachine(home=tmp_path / "home", cache_dir=tmp_path / "cache", screen_size=(1280, 800))
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "gold.txt").write_text("line one\nline two\n")
    (machine.home / "Desktop").mkdir(parents=True)
    yield TaskContext(machine, tmp_path / "cache", tmp_path / "downloads", task_dir=tmp_path / "task")
    machine.close()


def rule(value: Any) -> dict[str, Any]:
    return {"type": "rule", "rules": value}


def evaluator(**fields: Any) -> Evaluator:
    return Evaluator.model_validate(fields)


def test_a_file_metric_names_both_files_by_path_and_size(context: TaskContext) -> None:
    ev = evaluator(func="compare_text_file", result=OUT, expected=GOLD)
    (context.machine.home / "Desktop" / "out.txt").write_text("line one\n")
    explained = score_explained(ev, context, last_action_failed=False)
    assert explained.score == 0.0 and explained.rule == "the score of its one metric"
    [metric] = explained.metrics
    assert (metric.index, metric.name, metric.score) == (1, "compare_text_file", 0.0)
    assert metric.actual.getter == "vm_file" and metric.actual.raised is None
    assert metric.actual.value == f"{str(context.cache_dir / 'out.txt')!r} (file, 9 bytes)"
    assert metric.expected.getter == "cloud_file" and metric.expected.value.endswith("(file, 18 bytes)")
    text = explained.text()
    assert text.splitlines()[0] == "score 0: the score of its one metric"
    assert "  metric 1 compare_text_file: 0" in text and "    actual   vm_file → '" in text
    assert "    expected cloud_file → '" in text
    (context.machine.home / "Desktop" / "out.txt").write_text("line one\nline two\n")
    assert score_explained(ev, context, last_action_failed=False).metrics[0].score == 1.0


def test_a_file_of_megabytes_is_never_read_into_the_explanation(context: TaskContext) -> None:
    (context.machine.home / "Desktop" / "out.txt").write_text("x" * 5_000_000)
    ev = evaluator(func="compare_text_file", result=OUT, expected=GOLD)
    explained = score_explained(ev, context, False)
    text = explained.text()
    assert "(file, 5000000 bytes)" in text and "xxxx" not in text and len(text) < 1000
    assert len(explained.model_dump_json()) < 1500


def test_long_text_and_bytes_are_cut_and_their_length_said() -> None:
    tree = "<node role='frame'>" + "<child/>" * 200_000 + "</node>"
    shown = short_repr(tree)
    assert len(shown) <= 300 and f"({len(tree)} characters)" in shown
    assert short_repr(b"%PDF-1.7" * 100_000) == "<800000 bytes: b'%PDF-1.7%PDF-1.7%PDF-1.7'…>"
    assert short_repr(None) == "None" and short_repr(["a", 1]) == "['a', 1]"
    assert len(short_repr(list(range(10_000)))) < 60


def test_conj_and_stops_at_the_first_zero_and_names_the_metrics_not_run(context: TaskContext) -> None:
    ev = evaluator(
        func=["exact_match", "check_include_exclude", "exact_match"],
        result=[rule("a"), rule("hello"), rule("b")],
        expected=[rule({"expected": "b"}), rule({"include": ["hello"]}), rule({"expected": "b"})],
    )
    explained = score_explained(ev, context, last_action_failed=False)
    assert explained.score == 0.0 and explained.rule == "conj 'and': metric 1 scored 0, so the task does"
    first, second, third = explained.metrics
    assert (first.score, first.actual.value, first.expected.value) == (0.0, "'a'", "{'expected': 'b'}")
    assert (second.score, second.actual, second.note) == (None, None, "not run (metric 1 decided)")
    assert third.name == "exact_match" and third.score is None
    assert "metric 2 check_include_exclude: not run (metric 1 decided)" in explained.text()
    assert explained.deciding() == [first]


def test_means_and_maxima_say_so(context: TaskContext) -> None:
    ok = (rule("a"), rule({"expected": "a"}))
    bad = (rule("a"), rule({"expected": "z"}))
    both = evaluator(func=["exact_match", "exact_match"], result=[ok[0], ok[0]], expected=[ok[1], ok[1]])
    mean = "conj 'and': the mean of the 2 metrics' scores (none was 0)"
    assert score_explained(both, context, False).rule == mean
    either = evaluator(func=["exact_match", "exact_match"], result=[bad[0], ok[0]], expected=[bad[1], ok[1]],
                       conj="or")
    explained = score_explained(either, context, False)
    assert explained.score == 1.0 and explained.rule == "conj 'or': metric 2 scored 1, so the task does"
    assert [m.score for m in explained.metrics] == [0.0, 1.0]
    neither = evaluator(func=["exact_match", "exact_match"], result=[bad[0], bad[0]],
                        expected=[bad[1], bad[1]], conj="or")
    explained = score_explained(neither, context, False)
    highest = "conj 'or': the highest of the 2 metrics' scores (none was 1)"
    assert (explained.score, explained.rule) == (0.0, highest)


def test_options_the_task_set_are_shown(context: TaskContext) -> None:
    (context.machine.home / "Desktop" / "out.txt").write_text("LINE ONE\nline two\n")
    ev = evaluator(func="compare_text_file", result=OUT, expected=GOLD, options={"ignore_case": True})
    explained = score_explained(ev, context, False)
    assert explained.score == 1.0 and explained.metrics[0].options == "{'ignore_case': True}"
    assert "    options  {'ignore_case': True}" in explained.text()


def test_a_getter_that_finds_no_file_scores_0_and_says_so(monkeypatch, context: TaskContext) -> None:
    def vanished(_context: Any, _params: Any) -> Any:
        raise FileNotFoundError("/home/user/result.txt")

    monkeypatch.setitem(registry.GETTERS, "vanished", registry.Registered("vanished", vanished, NoParams))
    ev = evaluator(func="exact_match", result={"type": "vanished"}, expected=rule({"expected": "a"}))
    [metric] = score_explained(ev, context, False).metrics
    assert metric.score == 0.0 and metric.note == "a file the getter reads is missing: 0"
    assert metric.actual.raised == "FileNotFoundError: /home/user/result.txt" and metric.expected is None
    assert "actual   vanished raised FileNotFoundError: /home/user/result.txt" in metric.text()


def test_any_other_failure_errors_the_task_noting_the_metric(monkeypatch, context: TaskContext) -> None:
    def broken(_context: Any, _params: Any) -> Any:
        raise RuntimeError("the machine went away")

    monkeypatch.setitem(registry.GETTERS, "broken", registry.Registered("broken", broken, NoParams))
    ev = evaluator(func=["exact_match", "exact_match"], result=[rule("a"), rule("a")],
                   expected=[rule({"expected": "a"}), {"type": "broken"}])
    with pytest.raises(RuntimeError, match="the machine went away") as caught:
        score(ev, context, False)
    [note] = caught.value.__notes__
    assert note.startswith("while scoring metric 2 exact_match: its expected getter broken raised")
    assert "actual   rule → 'a'" in note


def test_infeasible_and_a_final_fail_are_explained_without_metrics() -> None:
    infeasible = evaluator(func="infeasible")
    assert score_explained(infeasible, None, True) == ScoreExplanation(
        score=1.0, rule="infeasible task: 1 only when the last action is FAIL, and it was")
    assert score_explained(infeasible, None, False).rule.endswith("and it was not")
    feasible = evaluator(func="exact_match", result=rule("a"), expected=rule({"expected": "a"}))
    failed = score_explained(feasible, None, True)
    assert (failed.score, failed.metrics) == (0.0, []) and "FAIL" in failed.rule


def test_score_is_the_explained_score_and_the_explanation_crosses_processes(context: TaskContext) -> None:
    ev = evaluator(func="compare_text_file", result=OUT, expected=GOLD)
    value, explained = score(ev, context, False), score_explained(ev, context, False)
    assert type(value) is float and value == explained.score == 0.0
    for copied in (pickle.loads(pickle.dumps(explained)), copy.deepcopy(explained)):
        assert copied == explained  # worker processes and Ray send it to the driver
    assert ScoreExplanation.model_validate_json(json.dumps(explained.model_dump())) == explained