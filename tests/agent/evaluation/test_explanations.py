"""Why a task scored what it did, through `eval`'s results: stored beside the score (older folders
without it still read), in log.txt, on the report page, and on the trajectory page — the last
test runs a real `eval` on a real Xvfb desktop with Mousepad, answered by a scripted stand-in."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from agent.evaluation.report import read_results, render_html, task_lines
from agent.evaluation.results import (
    EXPLANATION_FILE, RESULT_FILE, TaskResult, store_result, stored_result, summarize, task_folder,
    write_summary,
)
from environments.tasks.explanation import ScoreExplanation
from environments.tasks.model import Evaluator
from environments.tasks.scoring import score_explained
from environments.tasks.suite import SUITE

ROOT = Path(__file__).resolve().parents[3]
GIVE_UP = ('◁think▷I will stop here.◁/think▷## Action:\nStop.\n\n## Code:\n'
           '```python\ncomputer.terminate(status="success")\n```')
TWO_RULES = Evaluator.model_validate({
    "func": ["check_include_exclude", "exact_match"],
    "result": [{"type": "rule", "rules": "hello <b>world</b>"}, {"type": "rule", "rules": "2"}],
    "expected": [{"type": "rule", "rules": {"include": ["hello"], "exclude": ["world"]}},
                 {"type": "rule", "rules": {"expected": "2"}}],
})


def scored(task_id: str, value: ScoreExplanation, **fields: object) -> TaskResult:
    return TaskResult(task_id, "os", "scored", value.score, explanation=value, **fields)


def test_the_explanation_is_stored_beside_the_score_and_read_back(tmp_path: Path) -> None:
    value = score_explained(TWO_RULES, None, False)
    folder = task_folder(tmp_path, "os", "a")
    store_result(folder, scored("a", value, steps=2, outcome="done"))
    assert (folder / RESULT_FILE).read_text() == "0.0\n"
    back = stored_result(folder, "os", "a")
    assert back.explanation == value and back.score == 0.0 and back.status == "scored"
    assert back.explanation.metrics[0].actual.value == "'hello <b>world</b>'"
    summary = summarize(tmp_path, [("os", "a")])
    write_summary(tmp_path, summary)
    [task] = json.loads((tmp_path / "summary.json").read_text())["tasks"]
    assert task["explanation"]["rule"] == "conj 'and': metric 1 scored 0, so the task does"
    assert task["explanation"]["metrics"][1]["note"] == "not run (metric 1 decided)"
    # a worker process hands the result to the driver by pickling it
    assert pickle.loads(pickle.dumps(back)) == back


def test_results_without_an_explanation_still_read_and_count(tmp_path: Path) -> None:
    old = task_folder(tmp_path, "os", "old")
    old.mkdir(parents=True)
    (old / RESULT_FILE).write_text("1.0\n")  # a folder from before explanations
    torn = task_folder(tmp_path, "os", "torn")
    store_result(torn, scored("torn", score_explained(TWO_RULES, None, False)))
    (torn / EXPLANATION_FILE).write_text('{"score": 0.0, "ru')
    summary = summarize(tmp_path, [("os", "old"), ("os", "torn")])
    assert [(t.score, t.explanation) for t in summary.tasks] == [(1.0, None), (0.0, None)]
    assert summary.total_score == 1.0


def test_a_task_stored_again_with_another_status_loses_its_old_explanation(tmp_path: Path) -> None:
    folder = task_folder(tmp_path, "os", "a")
    store_result(folder, scored("a", score_explained(TWO_RULES, None, False)))
    store_result(folder, TaskResult("a", "os", "errored", error="VMUnreachable"))
    assert not (folder / EXPLANATION_FILE).exists()
    assert stored_result(folder, "os", "a").explanation is None


def test_the_report_shows_which_metric_returned_what_for_failed_tasks_only(tmp_path: Path) -> None:
    store_result(task_folder(tmp_path, "os", "failed"), scored("failed", score_explained(TWO_RULES, None, False)))
    passing = Evaluator.model_validate({"func": "exact_match", "result": {"type": "rule", "rules": "2"},
                                        "expected": {"type": "rule", "rules": {"expected": "2"}}})
    store_result(task_folder(tmp_path, "os", "passed"), scored("passed", score_explained(passing, None, False)))
    results = read_results(tmp_path)
    lines = {line.result.task_id: line for line in task_lines(results, tmp_path / "report.html")}
    assert lines["passed"].explanation is None
    assert lines["failed"].explanation.metrics[0].name == "check_include_exclude"
    html = render_html(results, out=tmp_path / "report.html")
    failed_row = html[html.index("os/failed"):html.index("os/passed")]
    assert "conj &#39;and&#39;: metric 1 scored 0, so the task does" in failed_row
    assert "<code>check_include_exclude</code> → 0" in failed_row
    actual = '<span class="value">&#39;hello &lt;b&gt;world&lt;/b&gt;&#39;</span>'
    assert f"<b>actual</b> <code>rule</code> {actual}" in failed_row
    assert "<b>expected</b> <code>rule</code>" in failed_row
    assert "&#39;exclude&#39;: [&#39;world&#39;]" in failed_row
    assert "<code>exact_match</code> → not run <i>(not run (metric 1 decided))</i>" in failed_row
    assert "class=\"why\"" not in html[html.index("os/passed"):]


@pytest.mark.desktop
@pytest.mark.browser
def test_a_real_eval_explains_a_zero_in_the_log_the_report_and_the_trajectory_page(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from environments.chromium import CHROMIUM_ARGS, chromium_path

    script = tmp_path / "give-up.json"
    script.write_text(json.dumps({"replies": [GIVE_UP]}))
    results = tmp_path / "results"
    task = SUITE / "examples" / "text_editor" / "mousepad-append-line.json"
    done = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--backend", "scripted", "--script", str(script),
         "--model", "replay", "--tasks", str(task), "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    folder = results / "text_editor" / "mousepad-append-line"
    assert (folder / RESULT_FILE).read_text() == "0.0\n"
    size = (folder / "work" / "cache" / "todo.txt").stat().st_size
    log = (folder / "log.txt").read_text()
    assert "score 0: the score of its one metric\n  metric 1 compare_text_file: 0\n" in log
    assert f"    actual   vm_file → '{folder / 'work' / 'cache' / 'todo.txt'}' (file, {size} bytes)\n" in log
    assert "    expected cloud_file → '" in log and "todo_expected.txt' (file, " in log
    assert json.loads((folder / EXPLANATION_FILE).read_text())["metrics"][0]["name"] == "compare_text_file"

    page = tmp_path / "report.html"
    report = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--report", str(results), "--out", str(page)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert report.returncode == 0, report.stdout + report.stderr
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            view = browser.new_page()
            view.goto(page.as_uri())
            why = view.locator("td.detail .why").inner_text()
            assert "compare_text_file → 0" in why and f"(file, {size} bytes)" in why and "cloud_file" in why
            view.locator("a", has_text="view").click()
            assert view.locator("header.summary .outcome").inner_text() == "done · failed by score"
            assert "compare_text_file" in view.locator("details.evaluation table.metrics").inner_text()
        finally:
            browser.close()
