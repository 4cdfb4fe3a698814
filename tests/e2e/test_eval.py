"""`kimi-agent eval` over the shipped local suite, end to end: real Xvfb desktops with real
terminals and Mousepad, real Chromium pages, real HTTP to a SCRIPTED stand-in (recorded Kimi-VL
replies; no model), and OSWorld's evaluators. Solved runs score 1, unsolved runs 0."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from environments.tasks import load_tasks
from environments.tasks.suite import SOLUTIONS, SUITE, SUITE_INDEX

pytestmark = [pytest.mark.desktop, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
GIVE_UP = '◁think▷I will stop here.◁/think▷## Action:\nStop.\n\n## Code:\n```python\ncomputer.terminate(status="success")\n```'


class StandIn:
    """A replay server process: `--solutions DIR` or `--always REPLY`."""

    def __init__(self, *source: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.backends.scripted_server", *source, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        )
        self.base_url = self.process.stdout.readline().split()[-1] + "/v1"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture
def solutions() -> Iterator[StandIn]:
    server = StandIn("--solutions", str(SOLUTIONS))
    yield server
    server.stop()


@pytest.fixture
def give_up() -> Iterator[StandIn]:
    server = StandIn("--always", GIVE_UP)
    yield server
    server.stop()


def kimi_agent_eval(base_url: str, results: Path, *args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--base-url", base_url, "--model", "replay", "--results", str(results),
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )


def scores(results: Path) -> dict[str, float]:
    return {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")}


def suite_ids() -> set[str]:
    return {t.id for t in load_tasks(SUITE_INDEX).tasks}


def test_the_suite_has_at_least_12_tasks_each_with_a_solution_for_its_instruction() -> None:
    loaded = load_tasks(SUITE_INDEX)
    assert loaded.failures == [] and len(loaded.tasks) >= 12
    for task in loaded.tasks:
        solution = json.loads((SOLUTIONS / f"{task.id}.json").read_text())
        assert solution["instruction"] == task.instruction
    assert {t.domain for t in loaded.tasks} >= {"os", "text_editor", "chrome", "libreoffice_calc", "libreoffice_writer"}


def test_every_task_scores_1_with_its_solution_and_a_rerun_resumes(solutions: StandIn, tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = kimi_agent_eval(solutions.base_url, results)
    assert done.returncode == 0, done.stdout + done.stderr
    assert scores(results) == {task_id: 1.0 for task_id in suite_ids()}
    summary = json.loads((results / "summary.json").read_text())
    assert (summary["scheduled"], summary["errored"], summary["mean_score"]) == (len(suite_ids()), 0, 1.0)
    task_dir = next(results.glob("os/terminal-write-file"))
    assert (task_dir / "trajectory" / "episode.json").exists() and "score 1" in (task_dir / "log.txt").read_text()
    assert json.loads((task_dir / "trajectory" / "episode.json").read_text())["score"] == 1.0

    # Resume: the finished tasks are kept; one whose result is gone runs again.
    (task_dir / "result.txt").unlink()
    again = kimi_agent_eval(solutions.base_url, results)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("(finished earlier)") == len(suite_ids()) - 1
    assert scores(results)["terminal-write-file"] == 1.0


def test_every_task_scores_0_when_the_agent_claims_success_at_once(give_up: StandIn, tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = kimi_agent_eval(give_up.base_url, results)
    assert done.returncode == 0, done.stdout + done.stderr
    assert scores(results) == {task_id: 0.0 for task_id in suite_ids()}
    assert json.loads((results / "summary.json").read_text())["mean_score"] == 0.0


def test_errored_and_unsupported_tasks_stay_in_the_denominator(solutions: StandIn, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks" / "os"
    tasks.mkdir(parents=True)
    shutil.copy(SUITE / "examples" / "os" / "terminal-arithmetic.json", tasks)
    broken = json.loads((SUITE / "examples" / "os" / "terminal-make-folders.json").read_text())
    broken["config"] = [{"type": "execute", "parameters": {}}]  # no command: the step's parameters are refused
    (tasks / "terminal-make-folders.json").write_text(json.dumps(broken))
    unknown = dict(broken, id="needs-unknown", config=[{"type": "no_such_step", "parameters": {}}])
    unknown["evaluator"] = dict(broken["evaluator"], func="no_such_metric")
    (tasks / "needs-unknown.json").write_text(json.dumps(unknown))
    (tasks / "unreadable.json").write_text("{not json")

    results = tmp_path / "results"
    done = kimi_agent_eval(solutions.base_url, results, "--tasks", str(tmp_path / "tasks"), "--retries", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads((results / "summary.json").read_text())
    counts = tuple(summary[k] for k in ("scheduled", "scored", "errored", "unsupported", "interrupted"))
    assert counts == (4, 1, 2, 1, 0)
    assert summary["mean_score"] == 0.25  # every scheduled task is in the denominator
    errors = {t["task_id"]: t["error"] for t in summary["tasks"] if t["status"] != "scored"}
    assert "task 'terminal-make-folders': setup step 1 (execute) failed: field 'command'" in errors["terminal-make-folders"]
    assert errors["needs-unknown"] == "not implemented: setup:no_such_step, metric:no_such_metric"
    assert "not loadable" in errors["unreadable"]
    assert (results / "os" / "terminal-make-folders" / "error.txt").exists()
    assert not (results / "os" / "terminal-make-folders" / "result.txt").exists()
    log = (results / "os" / "terminal-make-folders" / "log.txt").read_text()
    assert "attempt 1" in log and "attempt 2" in log
    # Pre-flight: the unsupported task never ran (no log, no trajectory), and is shown apart.
    assert sorted(p.name for p in (results / "os" / "needs-unknown").iterdir()) == ["unsupported.txt"]
    assert "UNSUPPORTED os/needs-unknown: not implemented: setup:no_such_step" in done.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_scripted_backend_scores_the_suite_with_no_server(workers: str, tmp_path: Path) -> None:
    """`--backend scripted` with the solutions folder: the in-process worker (1) and worker processes (2)."""
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--backend", "scripted", "--script", str(SOLUTIONS), "--model", "replay",
         "--tasks", str(SUITE / "examples" / "chrome"), "--results", str(results), "--workers", workers],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert scores(results) == {task.id: 1.0 for task in load_tasks(SUITE / "examples" / "chrome").tasks}


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here: it would load a model")
def test_vllm_offline_without_vllm_is_a_one_line_error_before_any_task_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--backend", "vllm-offline", "--tasks", str(SUITE / "examples" / "chrome"),
         "--results", str(tmp_path / "results")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pip install -e '.[vllm]'" in done.stdout and "Traceback" not in done.stdout + done.stderr
    assert not list((tmp_path / "results").glob("*/*/result.txt"))

