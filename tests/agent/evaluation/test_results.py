"""The folder is the source of truth: `summarize` reads every scheduled task's status from it, so
summary.json, the printed table and `eval --report` are one computation."""

from __future__ import annotations

from pathlib import Path

from agent.evaluation.progress import Progress
from agent.evaluation.report import read_results, rows
from agent.evaluation.results import TaskResult, store_result, summarize, task_folder


def test_every_status_is_counted_and_unreached_tasks_count_as_interrupted(tmp_path: Path) -> None:
    entries = [("os", "a"), ("os", "b"), ("os", "c"), ("chrome", "d"), ("chrome", "e"), ("chrome", "f")]
    store_result(task_folder(tmp_path, "os", "a"), TaskResult("a", "os", "scored", score=1.0, steps=3))
    store_result(task_folder(tmp_path, "os", "b"), TaskResult("b", "os", "errored", error="VMUnreachable"))
    store_result(task_folder(tmp_path, "os", "c"), TaskResult("c", "os", "unsupported", error="metric:x"))
    store_result(task_folder(tmp_path, "chrome", "d"), TaskResult("d", "chrome", "scored", score=0.5))
    store_result(task_folder(tmp_path, "chrome", "e"), TaskResult("e", "chrome", "interrupted", error="stop"))
    summary = summarize(tmp_path, entries)  # f: never reached
    counts = (summary.scheduled, summary.scored, summary.errored, summary.unsupported, summary.interrupted)
    assert counts == (6, 2, 1, 1, 2)
    assert summary.mean_score == 1.5 / 6 and summary.scored_mean == 0.75
    by_id = {t.task_id: t for t in summary.tasks}
    assert by_id["a"].steps == 3 and by_id["f"].error.startswith("not run")
    # A rerun that scores an errored task replaces its status.
    store_result(task_folder(tmp_path, "os", "b"), TaskResult("b", "os", "scored", score=1.0))
    assert summarize(tmp_path, entries).errored == 0


def test_the_report_reads_the_same_numbers_as_the_summary(tmp_path: Path) -> None:
    store_result(task_folder(tmp_path, "os", "a"), TaskResult("a", "os", "scored", score=1.0))
    store_result(task_folder(tmp_path, "os", "b"), TaskResult("b", "os", "unsupported", error="getter:y"))
    report = read_results(tmp_path)  # no manifest: the task folders
    [os_row, everything] = rows(report)
    assert (everything.tasks, everything.scored, everything.unsupported, everything.mean) == (2, 1, 1, 0.5)
    again = summarize(tmp_path, [("os", "a"), ("os", "b")])
    assert report.summary.to_json()["mean_score"] == again.mean_score


def test_progress_counts_and_eta() -> None:
    progress = Progress(total=10, pending=8, workers=2)
    assert progress.eta() is None  # nothing measured yet
    progress.start("os/a")
    progress.start("os/b")
    progress.running["os/a"] -= 10  # started 10 s ago
    progress.finish(TaskResult("a", "os", "scored", score=1.0))
    progress.finish(TaskResult("z", "os", "unsupported"))
    assert (progress.done, progress.counts["unsupported"], progress.score) == (2, 1, 1.0)
    eta = progress.eta()
    # 6 tasks still to start and one running, two at a time, about 10 s each
    assert eta is not None and 30 <= eta <= 36
