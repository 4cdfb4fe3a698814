"""Parameter models of setup steps, getters and metrics: every real OSWorld task fits them, a bad
parameter is refused before the call with an error naming the task, the place and the field, and
no JSON at all makes validation raise anything but that error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from environments.tasks import Task, load_tasks
from environments.tasks.errors import SetupError
from environments.tasks.metrics.table import compare_table
from environments.tasks.registry import (
    GETTERS, METRICS, SETUP_STEPS, SetupConfigError, TaskConfigError, validated,
)
from environments.tasks.scoring import prepared_metric, score
from environments.tasks.setup_steps import run_steps
from environments.tasks.support import parameter_errors

SHARED = Path(__file__).resolve().parents[4] / "shared" / "osworld"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/osworld is not present")
ROOT = Path(__file__).resolve().parents[3]
SUITE = ROOT / "environments" / "tasks" / "suite"


def task(**fields: Any) -> Task:
    base: dict[str, Any] = {"id": "abc123", "instruction": "do it", "evaluator": {"func": "exact_match",
            "result": {"type": "rule", "rules": "a"}, "expected": {"type": "rule", "rules": {"expected": "a"}}}}
    return Task.model_validate({**base, **fields})


class Untouchable:
    """A context no step may reach: validation must fail before any call."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a step ran ({name}) before its parameters were validated")


@needs_shared
def test_every_real_osworld_task_fits_the_models() -> None:
    loaded = load_tasks(SHARED)
    assert len(loaded.tasks) == 418
    problems = {task.id: [str(e) for e in parameter_errors(task)] for task in loaded.tasks}
    assert {k: v for k, v in problems.items() if v} == {}
    checked = sum(1 for t in loaded.tasks for s in t.config if s.type in SETUP_STEPS)
    assert checked > 1000  # the check does look at the steps


def test_the_shipped_suite_fits_the_models() -> None:
    loaded = load_tasks(SUITE / "examples")
    assert loaded.tasks and all(parameter_errors(t) == [] for t in loaded.tasks)


def test_a_malformed_step_names_the_task_the_step_and_the_field() -> None:
    bad = task(config=[{"type": "sleep", "parameters": {"seconds": 0}}, {"type": "open", "parameters": {}},
                       {"type": "launch", "parameters": {"shell": True}}])
    with pytest.raises(SetupConfigError) as caught:
        run_steps(bad.config, Untouchable(), bad.id)  # type: ignore[arg-type]
    assert str(caught.value) == "task 'abc123': setup step 2 (open) failed: field 'path': Field required"
    assert isinstance(caught.value, SetupError) and isinstance(caught.value, TaskConfigError)
    assert (caught.value.task_id, caught.value.field) == ("abc123", "path")
    assert [str(e) for e in parameter_errors(bad)] == [
        "task 'abc123': setup step 2 (open) failed: field 'path': Field required",
        "task 'abc123': setup step 3 (launch) failed: field 'command': Field required",
    ]


def test_nested_fields_and_checks_are_named() -> None:
    bad = task(config=[{"type": "download", "parameters": {"files": [{"url": "http://x/a", "path": "~/a"},
                                                                     {"url": "http://x/b", "path": 3}]}},
                       {"type": "execute", "parameters": {"command": []}}])
    assert [str(e) for e in parameter_errors(bad)] == [
        "task 'abc123': setup step 1 (download) failed: field 'files.1.path': Input should be a valid string",
        "task 'abc123': setup step 2 (execute) failed: field 'command': Value error, empty command",
    ]


def test_a_malformed_getter_or_metric_is_refused_before_any_getter_runs() -> None:
    bad_getter = task(evaluator={"func": ["exact_match", "compare_table"],
                                 "result": [{"type": "rule", "rules": 1}, {"type": "vm_file", "dest": "x.xlsx"}],
                                 "expected": [{"type": "rule", "rules": {"expected": 1}}, None],
                                 "options": [{}, {"rules": [{"sheet_idx0": 0}]}]})
    assert [str(e) for e in parameter_errors(bad_getter)] == [
        "task 'abc123': metric 2 (compare_table) failed: field 'rules.0.type': Field required",
        "task 'abc123': result getter 'vm_file' of metric 2 (compare_table) failed: field 'path': Field required",
    ]
    with pytest.raises(TaskConfigError, match=r"task 'abc123': metric 2 \(compare_table\) failed: field 'rules.0.type'"):
        prepared_metric(bad_getter.evaluator, 1, bad_getter.id)
    # scored in order: metric 1 passes, then metric 2 is refused without its getter touching the context
    with pytest.raises(TaskConfigError):
        score(bad_getter.evaluator, Untouchable(), False)


def test_unknown_fields_and_harness_truthiness_are_tolerated() -> None:
    entry = SETUP_STEPS["execute"]
    params = validated(entry, {"command": "true", "shell": "true", "until": {}, "comment": "ignored"}, "here")
    assert params.shell is True and params.until is None  # type: ignore[attr-defined]
    files = validated(GETTERS["vm_file"], {"path": ["a", "b"], "dest": ["a", "b"], "multi": "true",
                                           "gives": [1], "time_suffix": True}, "here")
    assert files.pairs() == [("a", "a"), ("b", "b")]  # type: ignore[attr-defined]
    assert validated(METRICS["exact_match"], {"anything": 1}, "here") is not None


def test_metrics_called_as_osworld_calls_them_validate_their_options() -> None:
    with pytest.raises(TaskConfigError, match=r"metric compare_table failed: field 'rules'"):
        compare_table(None, None)


def test_tasks_check_reports_a_task_with_a_malformed_parameter(tmp_path: Path) -> None:
    good = task().model_dump_json()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "good.json").write_text(good)
    (tmp_path / "d" / "bad.json").write_text(task(id="bad1", config=[{"type": "sleep", "parameters": {}}]).model_dump_json())
    result = subprocess.run([sys.executable, "-m", "agent", "tasks", "check", str(tmp_path)],
                            check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "2 task files read: 1 tasks, 1 failed to parse" in result.stdout
    flat = " ".join(result.stdout.split())
    assert "bad.json: task 'bad1': setup step 1 (sleep) failed: field 'seconds': Field required" in flat


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
NAMES = sorted({("setup", n) for n in SETUP_STEPS} | {("getter", n) for n in GETTERS} | {("metric", n) for n in METRICS})
FIELDS = ["command", "shell", "until", "stdout", "path", "files", "url", "local_path", "seconds", "window_name",
          "strict", "urls_to_open", "urls_to_close", "rules", "relativeTime", "from", "to", "expected", "dest",
          "multi", "gives", "parse_keys", "replace", "split_list", "ignore_case", "reference_base_result",
          "examine_shape", "approximately_tolerance", "type", "returncode"]
KEYS = st.sampled_from(FIELDS) | st.text(max_size=6)
PARAMS = st.recursive(
    JSON, lambda inner: st.dictionaries(KEYS, inner, max_size=5) | st.lists(inner, max_size=3), max_leaves=16
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.dictionaries(KEYS, PARAMS, max_size=6) | JSON)
def test_any_json_as_parameters_gives_a_model_or_the_typed_error(name: tuple[str, str], raw: Any) -> None:
    kind, key = name
    table = {"setup": SETUP_STEPS, "getter": GETTERS, "metric": METRICS}[kind]
    try:
        validated(table[key], raw, f"{kind} {key}", "t1")
    except TaskConfigError as err:
        assert str(err).startswith(f"task 't1': {kind} {key} failed: ")
