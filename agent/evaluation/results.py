"""Results of an `eval` run on disk: one folder per task, a status file written last, and the summary.

Layout of `--results DIR`:
    DIR/manifest.json                    what the run is (written before the first task; see manifest.py)
    DIR/.lock                            held by the eval writing the folder (see lock.py)
    DIR/<domain>/<task id>/result.txt    scored: the score (written last, atomically)
    DIR/<domain>/<task id>/error.txt     errored: why (infrastructure; rerun on resume)
    DIR/<domain>/<task id>/unsupported.txt  unsupported: the unimplemented names (never run)
    DIR/<domain>/<task id>/interrupted.txt  interrupted: the run stopped while it ran (rerun on resume)
    DIR/<domain>/<task id>/steps.json    steps, seconds, outcome and requeues of the attempt that counted
    DIR/<domain>/<task id>/explanation.json  scored: each metric's score, expected and actual values
    DIR/<domain>/<task id>/log.txt       setup, episode and evaluation log
    DIR/<domain>/<task id>/trajectory/   the episode (view/replay it)
    DIR/<domain>/<task id>/work/         the task's home and cache (files the evaluator read)
    DIR/summary.json                     counts and mean score over every scheduled task

A task of the manifest with none of the status files counts as interrupted: the run stopped
before it. `summarize` reads the folder, so summary.json, the printed table and `eval --report`
are one computation and agree after any interruption.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.trajectory.atomic import write_atomic
from environments.tasks.explanation import ScoreExplanation
from environments.tasks.load import LoadFailure
from environments.tasks.model import Task

Status = Literal["scored", "errored", "unsupported", "interrupted"]
STATUSES: tuple[Status, ...] = ("scored", "errored", "unsupported", "interrupted")
RESULT_FILE, ERROR_FILE, LOG_FILE, SUMMARY_FILE = "result.txt", "error.txt", "log.txt", "summary.json"
UNSUPPORTED_FILE, INTERRUPTED_FILE, STEPS_FILE = "unsupported.txt", "interrupted.txt", "steps.json"
EXPLANATION_FILE = "explanation.json"


@dataclass
class TaskResult:
    task_id: str
    """The task's key (`Task.key`: its file's name, which is its id for OSWorld's tasks): two WAA tasks
    that share an id keep a folder each."""
    domain: str
    status: Status
    score: float | None = None
    error: str | None = None
    """errored: why; unsupported: the missing names; interrupted: what stopped it."""
    steps: int = 0
    seconds: float = 0.0
    outcome: str | None = None
    resumed: bool = False
    requeued: int = 0
    """Times the task was run again because its Ray actor died (the local pool errors it instead)."""
    explanation: ScoreExplanation | None = None
    """scored: how the evaluator reached the score (None for results stored before explanations)."""

    def to_json(self) -> dict[str, Any]:
        explanation = self.explanation.model_dump() if self.explanation else None
        return {**asdict(self), "explanation": explanation}

    def score_text(self) -> str:
        """The log's block for a scored task: the score and how the evaluator reached it."""
        return self.explanation.text() if self.explanation else f"score {self.score:g}"


@dataclass
class Summary:
    """Counts over every scheduled task. The mean divides by all of them: errored, unsupported and
    interrupted tasks are in the denominator with no score (OSWorld's own script divides by the
    tasks that have a result.txt only; `scored_mean` is that number, shown beside ours)."""

    scheduled: int = 0
    scored: int = 0
    errored: int = 0
    unsupported: int = 0
    interrupted: int = 0
    total_score: float = 0.0
    by_domain: dict[str, dict[str, float]] = field(default_factory=dict)
    tasks: list[TaskResult] = field(default_factory=list)

    @property
    def mean_score(self) -> float:
        return self.total_score / self.scheduled if self.scheduled else 0.0

    @property
    def scored_mean(self) -> float:
        return self.total_score / self.scored if self.scored else 0.0

    def add(self, result: TaskResult) -> None:
        self.tasks.append(result)
        row = self.by_domain.setdefault(result.domain or "default", _empty_row())
        for target in (self.__dict__, row):
            target["scheduled"] += 1
            target[result.status] += 1
            target["total_score"] += result.score or 0.0

    def to_json(self) -> dict[str, Any]:
        domains = {d: {**row, "mean_score": row["total_score"] / row["scheduled"]}
                   for d, row in sorted(self.by_domain.items())}
        return {
            "scheduled": self.scheduled, "scored": self.scored, "errored": self.errored,
            "unsupported": self.unsupported, "interrupted": self.interrupted,
            "finished": self.scored,  # the name of `scored` in earlier summaries, for their readers
            "mean_score": self.mean_score, "scored_mean": self.scored_mean, "total_score": self.total_score,
            "by_domain": domains, "tasks": [t.to_json() for t in self.tasks],
        }


def _empty_row() -> dict[str, float]:
    return {"scheduled": 0, **dict.fromkeys(STATUSES, 0), "total_score": 0.0}


def task_folder(results: Path, domain: str, task_id: str) -> Path:
    return results / (domain or "default") / task_id


def store_result(folder: Path, result: TaskResult) -> None:
    """The driver's record of a task: its status file, written atomically and last. Only the
    driver writes these, whichever executor ran the task."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (RESULT_FILE, ERROR_FILE, UNSUPPORTED_FILE, INTERRUPTED_FILE, EXPLANATION_FILE):
        (folder / name).unlink(missing_ok=True)
    if result.steps or result.requeued or result.status == "scored":
        details = {"steps": result.steps, "seconds": round(result.seconds, 1), "outcome": result.outcome,
                   "requeued": result.requeued}
        write_atomic(folder / STEPS_FILE, json.dumps(details) + "\n")
    if result.status == "scored" and result.explanation is not None:
        write_atomic(folder / EXPLANATION_FILE, result.explanation.model_dump_json(indent=2) + "\n")
    file = {"scored": RESULT_FILE, "errored": ERROR_FILE, "unsupported": UNSUPPORTED_FILE,
            "interrupted": INTERRUPTED_FILE}[result.status]
    write_atomic(folder / file, f"{result.score}\n" if result.status == "scored" else f"{result.error}\n")


def stored_result(folder: Path, domain: str, task_id: str) -> TaskResult:
    """What the folder says about a task (interrupted when it holds no status: never reached or cut off)."""
    result = TaskResult(task_id, domain, "interrupted")
    try:
        details = json.loads((folder / STEPS_FILE).read_text())
        result.steps, result.seconds = details["steps"], details["seconds"]
        result.outcome, result.requeued = details["outcome"], details.get("requeued", 0)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        result.score = float((folder / RESULT_FILE).read_text().strip())
        result.status = "scored"
        result.explanation = stored_explanation(folder)
        return result
    except (OSError, ValueError):
        pass
    marks = (("errored", ERROR_FILE), ("unsupported", UNSUPPORTED_FILE), ("interrupted", INTERRUPTED_FILE))
    for status, name in marks:
        try:
            result.error = (folder / name).read_text().strip()
            result.status = status  # type: ignore[assignment]
            return result
        except OSError:
            continue
    started = (folder / LOG_FILE).exists()
    result.error = "cut off: the run stopped during it" if started else "not run: the run stopped before it"
    return result


def stored_explanation(folder: Path) -> ScoreExplanation | None:
    """The explanation stored with a scored task (None when there is none, or it cannot be read:
    the score still counts)."""
    try:
        return ScoreExplanation.model_validate_json((folder / EXPLANATION_FILE).read_bytes())
    except (OSError, ValueError):
        return None


def finished_result(folder: Path, task: Task) -> TaskResult | None:
    """The stored score of a task scored by an earlier attempt of this run, if any."""
    result = stored_result(folder, task.domain, task.key)
    return result if result.status == "scored" else None


def summarize(results: Path, entries: list[tuple[str, str]]) -> Summary:
    """The summary of the tasks `entries` ((domain, id), the manifest's list) as the folder holds them."""
    summary = Summary()
    for domain, task_id in entries:
        summary.add(stored_result(task_folder(results, domain, task_id), domain, task_id))
    return summary


def write_summary(results: Path, summary: Summary) -> None:
    write_atomic(results / SUMMARY_FILE, json.dumps(summary.to_json(), indent=2) + "\n")


def clear_folder(folder: Path, keep_log: bool) -> None:
    """Empty a task folder for a new attempt (keeping the log of earlier attempts of this run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if keep_log and entry.name == LOG_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def unloadable_entry(failure: LoadFailure) -> tuple[str, str]:
    return failure.path.parent.name, failure.path.stem


def unloadable(failure: LoadFailure) -> TaskResult:
    domain, task_id = unloadable_entry(failure)
    return TaskResult(task_id, domain, "errored", error=f"not loadable: {failure.reason}")
