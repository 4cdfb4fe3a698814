"""OSWorld task files: every shipped file loads; scoring follows OSWorld's rules exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from environments.tasks import Evaluator, Task, load_tasks
from environments.tasks.errors import UnsupportedError
from environments.tasks.metrics.basic import check_include_exclude, exact_match
from environments.tasks.parameters import NoParams
from environments.tasks.scoring import score
from environments.tasks.support import support_of

SHARED = Path(__file__).resolve().parents[4] / "shared" / "osworld"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/osworld is not present")
ROOT = Path(__file__).resolve().parents[3]


@needs_shared
def test_every_shipped_task_file_loads() -> None:
    loaded = load_tasks(SHARED)
    assert (len(loaded.tasks), loaded.failures) == (418, [])
    assert {t.domain for t in loaded.tasks} >= {"chrome", "os", "libreoffice_calc", "excel", "word"}


@needs_shared
@pytest.mark.parametrize(("index", "count"), [("test_all.json", 369), ("test_small.json", 39), ("test_nogdrive.json", 361)])
def test_index_files_resolve_against_examples(index: str, count: int) -> None:
    loaded = load_tasks(SHARED / index)
    assert (len(loaded.tasks), loaded.failures) == (count, [])


@needs_shared
def test_unknown_fields_are_kept() -> None:
    [task] = load_tasks(SHARED / "examples" / "os").tasks[:1]
    assert "possibility_of_env_change" in task.model_dump()
    data = json.loads(next((SHARED / "examples_windows").rglob("*.json")).read_text())
    data["_comments"] = "kept"
    assert Task.model_validate(data).model_dump()["_comments"] == "kept"


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


TASK = {"id": "t1", "instruction": "do it", "config": [{"type": "teleport", "parameters": {}}],
        "evaluator": {"func": "quantum_metric", "result": {"type": "crystal_ball"}}}


def test_unknown_names_load_and_are_reported_by_name(tmp_path: Path) -> None:
    task = load_tasks(write(tmp_path / "d" / "t1.json", TASK)).tasks[0]
    assert support_of(task).missing == ("setup:teleport", "getter:crystal_ball", "metric:quantum_metric")
    with pytest.raises(UnsupportedError, match="quantum_metric"):
        score(task.evaluator, None, last_action_failed=False)


def test_broken_files_and_missing_index_entries_are_failures(tmp_path: Path) -> None:
    write(tmp_path / "examples" / "d" / "good.json", TASK)
    write(tmp_path / "examples" / "d" / "bad.json", "{not json")
    write(tmp_path / "examples" / "d" / "empty.json", {**TASK, "instruction": "  "})
    loaded = load_tasks(tmp_path / "examples")
    assert len(loaded.tasks) == 1 and len(loaded.failures) == 2
    index = write(tmp_path / "index.json", {"d": ["good", "gone"]})
    loaded = load_tasks(index)
    assert len(loaded.tasks) == 1 and "missing" in loaded.failures[0].reason


def rule(value: Any) -> dict:
    return {"type": "rule", "rules": value}


def evaluator(**fields: Any) -> Evaluator:
    return Evaluator.model_validate(fields)


def test_infeasible_scores_one_only_for_a_final_fail() -> None:
    ev = evaluator(func="infeasible")
    assert score(ev, None, last_action_failed=True) == 1.0
    assert score(ev, None, last_action_failed=False) == 0.0


def test_a_final_fail_scores_zero_on_feasible_tasks() -> None:
    ev = evaluator(func="exact_match", result=rule("a"), expected=rule({"expected": "a"}))
    assert score(ev, None, last_action_failed=False) == 1.0
    assert score(ev, None, last_action_failed=True) == 0.0


def test_conj_and_is_zero_on_any_zero_else_the_mean() -> None:
    ok = {"func": "exact_match", "result": rule("a"), "expected": rule({"expected": "a"})}
    bad = {"func": "exact_match", "result": rule("a"), "expected": rule({"expected": "b"})}
    both = lambda *items, conj="and": evaluator(  # noqa: E731
        func=[i["func"] for i in items], result=[i["result"] for i in items],
        expected=[i["expected"] for i in items], conj=conj,
    )
    assert score(both(ok, ok), None, False) == 1.0
    assert score(both(ok, bad), None, False) == 0.0
    assert score(both(bad, ok, conj="or"), None, False) == 1.0
    assert score(both(bad, bad, conj="or"), None, False) == 0.0


def test_missing_result_file_scores_zero(monkeypatch) -> None:
    from environments.tasks import registry

    def vanished(_context, _config):
        raise FileNotFoundError("result.txt")

    monkeypatch.setitem(registry.GETTERS, "vanished", registry.Registered("vanished", vanished, NoParams))
    ev = evaluator(func="exact_match", result={"type": "vanished"}, expected=rule({"expected": "a"}))
    assert score(ev, None, False) == 0.0
    ok = {"type": "rule", "rules": "a"}
    listed = evaluator(func=["exact_match", "exact_match"], result=[{"type": "vanished"}, ok],
                       expected=[rule({"expected": "a"}), rule({"expected": "a"})], conj="or")
    assert score(listed, None, False) == 1.0


def test_metric_options_are_passed_per_metric() -> None:
    ev = evaluator(func=["check_include_exclude"], result=[rule("hello world")], expected=[rule({"include": ["hello"], "exclude": ["bye"]})],
                   options=[{}])
    assert score(ev, None, False) == 1.0


def test_exact_match_and_include_exclude() -> None:
    assert exact_match("x", {"expected": "x"}) == 1.0 and exact_match("x", {"expected": "y"}) == 0.0
    assert check_include_exclude("a b c", {"include": ["a", "c"], "exclude": ["d"]}) == 1.0
    assert check_include_exclude("a b c", {"include": ["a"], "exclude": ["b"]}) == 0.0
    assert check_include_exclude(None, {"include": []}) == 0.0


@needs_shared
def test_tasks_check_command_reports_418_and_an_honest_table() -> None:
    result = subprocess.run([sys.executable, "-m", "agent", "tasks", "check", str(SHARED)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "418 tasks, 0 failed to parse" in result.stdout
    assert "runnable by kimi-desktop-agent: 418 of 418" in result.stdout
    # What the runnable tasks still need from outside is said, not hidden in the count.
    assert "a Google account" in result.stdout and "a live website" in result.stdout


def test_tasks_check_exits_1_on_a_broken_file(tmp_path: Path) -> None:
    write(tmp_path / "d" / "bad.json", "[]")
    result = subprocess.run([sys.executable, "-m", "agent", "tasks", "check", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "bad.json" in result.stdout
