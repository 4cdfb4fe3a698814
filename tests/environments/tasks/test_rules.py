"""OSWorld's and WindowsAgentArena's failure rules side by side (environments/tasks/rules.py), on a real
LocalMachine: the same failing getter or refused setup step, scored and run under each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from environments.tasks import registry
from environments.tasks.context import TaskContext
from environments.tasks.errors import MachineRequestError, SetupError
from environments.tasks.load import load_task
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Evaluator, SetupStep, Task
from environments.tasks.parameters import NoOptions
from environments.tasks.rules import OSWORLD_RULES, WAA_RULES
from environments.tasks.scoring import score_explained
from environments.tasks.setup_steps import run_steps

BAD_DAY = {
    "type": "rule_relativeTime",
    "rules": {"relativeTime": {"from": "no such day"}, "expected": {"time": "x"}},
}
"""A getter that raises ValueError when called."""
OK = {"type": "vm_command_line", "command": ["echo", "ok"]}


@pytest.fixture
def context(tmp_path: Path) -> Iterator[TaskContext]:
    machine = LocalMachine(home=tmp_path / "home", cache_dir=tmp_path / "cache", screen_size=(1280, 800))
    yield TaskContext(machine, tmp_path / "cache", tmp_path / "downloads")
    machine.close()


def evaluator(**fields: Any) -> Evaluator:
    return Evaluator.model_validate(fields)


def test_a_raising_result_getter_errors_under_osworld_and_scores_0_under_waa(context: TaskContext) -> None:
    ev = evaluator(func="exact_match", result=BAD_DAY, expected={"type": "rule", "rules": {"expected": "x"}})
    with pytest.raises(ValueError, match="no such day"):
        score_explained(ev, context, False)
    explained = score_explained(ev, context, False, rules=WAA_RULES)
    assert explained.score == 0.0
    assert explained.metrics[0].note == "the result getter raised: 0 by waa's rules"
    assert explained.metrics[0].actual.raised.startswith("ValueError")


def test_a_raising_expected_getter_errors_under_both(context: TaskContext) -> None:
    ev = evaluator(func="exact_match", result=OK, expected=BAD_DAY)
    for rules in (OSWORLD_RULES, WAA_RULES):
        with pytest.raises(ValueError, match="no such day"):
            score_explained(ev, context, False, rules=rules)


def test_with_several_metrics_only_a_missing_file_scores_0_under_waa(context: TaskContext) -> None:
    """WAA's harness turns any exception into 0 only for a lone metric's result getter."""
    ev = evaluator(
        func=["exact_match", "exact_match"],
        result=[BAD_DAY, OK],
        expected=[
            {"type": "rule", "rules": {"expected": "x"}},
            {"type": "rule", "rules": {"expected": "ok\n"}},
        ],
    )
    with pytest.raises(ValueError, match="no such day"):
        score_explained(ev, context, False, rules=WAA_RULES)


def test_an_expected_none_is_left_out_of_the_call_under_waa(context: TaskContext) -> None:
    """A missing expected file: OSWorld passes None (the metric scores 0); WAA calls the metric without
    it, so a metric that needs it raises (and the task is left out of WAA's mean)."""
    missing = {"type": "vm_file", "path": "/home/user/none.txt", "dest": "none.txt"}
    (context.machine.home / "here.txt").write_text("text\n")
    here = {"type": "vm_file", "path": "/home/user/here.txt", "dest": "here.txt"}
    ev = evaluator(func="compare_text_file", result=here, expected=missing)
    assert score_explained(ev, context, False).score == 0.0
    with pytest.raises(TypeError, match="expected"):
        score_explained(ev, context, False, rules=WAA_RULES)


class Refusing(LocalMachine):
    """A machine whose server refuses every window request, as Windows answers 404 for a missing window."""

    def window_command(self, action: str, name: str, strict: bool = False, by_class: bool = False) -> bool:
        try:
            raise MachineRequestError(f"POST /setup/{action}_window: HTTP 404: Window {name} not found")
        except MachineRequestError as err:
            raise SetupError(f"{action}_window {name!r}: {err}") from err


def test_a_refused_setup_request_is_fatal_under_osworld_and_logged_under_waa(tmp_path: Path) -> None:
    machine = Refusing(home=tmp_path / "home", cache_dir=tmp_path / "cache", screen_size=(1280, 800))
    context = TaskContext(machine, tmp_path / "cache", tmp_path / "downloads")
    steps = [
        SetupStep(type="activate_window", parameters={"window_name": "Notepad"}),
        SetupStep(type="execute", parameters={"command": ["touch", "/home/user/after.txt"]}),
    ]
    with pytest.raises(SetupError, match=r"setup step 1 \(activate_window\) failed: .*404"):
        run_steps(steps, context)
    assert not (machine.home / "after.txt").exists()
    logged = run_steps(steps, context, rules=WAA_RULES, part="postconfig")
    assert logged == [
        "postconfig step 1 (activate_window) failed: activate_window 'Notepad': POST "
        "/setup/activate_window: HTTP 404: Window Notepad not found; carried on by waa's rules"
    ]
    assert (machine.home / "after.txt").exists()


def test_a_local_failure_is_fatal_under_both(context: TaskContext) -> None:
    """WAA logs only what its server refuses; a step that cannot run here still fails the setup."""
    steps = [SetupStep(type="open", parameters={"path": "/home/user/missing.txt"})]
    with pytest.raises(SetupError):
        run_steps(steps, context, rules=WAA_RULES)


def test_waas_published_shapes_load(tmp_path: Path) -> None:
    """`"source": null`, empty getters of infeasible tasks, comments; the results key is the file name."""
    path = tmp_path / "vlc" / "INF-second-WOS.json"
    path.parent.mkdir()
    path.write_text(
        '{"id": "INF-first-WOS", "instruction": "Open it.", "source": null, "_commments": "x",'
        ' "config": [], "evaluator": {"func": "infeasible", "result": {}, "expected": {}}}'
    )
    task: Task = load_task(path)
    assert task.evaluator.result is None and task.evaluator.expected is None and task.source is None
    assert (task.id, task.key, task.domain) == ("INF-first-WOS", "INF-second-WOS", "vlc")
    listed = Evaluator.model_validate(
        {"func": ["a", "b"], "result": [{}, {"type": "rule"}], "expected": [{}, None]}
    )
    assert listed.result[0] is None and listed.expected == [None, None]


def test_a_metric_missing_its_file_scores_0_under_osworld_and_errors_under_waa(
    context: TaskContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OSWorld's scorer catches FileNotFoundError; WAA's `evaluate` lets a metric's exception through.
    (Our metrics read a missing file as None; a stand-in metric raises, as some of the references' do.)"""

    def opens(result: Any, expected: Any) -> float:
        raise FileNotFoundError(result)

    monkeypatch.setitem(registry.METRICS, "opens", registry.Registered("opens", opens, NoOptions))
    ev = evaluator(func="opens", result={"type": "rule", "rules": "/nonexistent/out.txt"}, expected=OK)
    assert score_explained(ev, context, False).score == 0.0
    with pytest.raises(FileNotFoundError, match="/nonexistent/out.txt"):
        score_explained(ev, context, False, rules=WAA_RULES)
