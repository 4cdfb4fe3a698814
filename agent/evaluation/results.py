"""Results of an `eval` run on disk: one folder per task, `result.txt` written last, and the summary.

Layout of `--results DIR`:
    DIR/<domain>/<task id>/result.txt    the score (written last, atomically: a finished task)
    DIR/<domain>/<task id>/error.txt     why the task errored (it is rerun on resume)
    DIR/<domain>/<task id>/log.txt       setup, episode and evaluation log
    DIR/<domain>/<task id>/trajectory/   the episode (view/replay it)
    DIR/<domain>/<task id>/work/         the task's home and cache (files the evaluator read)
    DIR/summary.json                     counts and mean score over every scheduled task
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.trajectory.atomic import write_atomic
from environments.tasks.load import LoadFailure
from environments.tasks.model import Task

Status = Literal["finished", "errored"]
RESULT_FILE, ERROR_FILE, LOG_FILE, SUMMARY_FILE = "result.txt", "error.txt", "log.txt", "summary.json"


@dataclass
class TaskResult:
    task_id: str
    domain: str
    status: Status
    score: float | None = None
    error: str | None = None
    steps: int = 0
    seconds: float = 0.0
    outcome: str | None = None
    resumed: bool = False
    requeued: int = 0
    """Times the task was run again because the Ray actor running it died (the local pool errors it instead)."""


@dataclass
class Summary:
    scheduled: int = 0
    finished: int = 0
    errored: int = 0
    total_score: float = 0.0
    by_domain: dict[str, dict[str, float]] = field(default_factory=dict)
    tasks: list[TaskResult] = field(default_factory=list)

    @property
    def mean_score(self) -> float:
        """Mean over every scheduled task (errored tasks count, as nothing)."""
        return self.total_score / self.scheduled if self.scheduled else 0.0

    def add(self, result: TaskResult) -> None:
        self.tasks.append(result)
        row = self.by_domain.setdefault(result.domain or "default",
                                        {"scheduled": 0, "finished": 0, "errored": 0, "total_score": 0.0})
        for target in (self.__dict__, row):
            target["scheduled"] += 1
            target[result.status] += 1
            target["total_score"] += result.score or 0.0

    def to_json(self) -> dict[str, Any]:
        domains = {d: {**row, "mean_score": row["total_score"] / row["scheduled"]} for d, row in sorted(self.by_domain.items())}
        return {
            "scheduled": self.scheduled, "finished": self.finished, "errored": self.errored,
            "mean_score": self.mean_score, "total_score": self.total_score, "by_domain": domains,
            "tasks": [asdict(t) for t in self.tasks],
        }


def task_folder(results: Path, domain: str, task_id: str) -> Path:
    return results / (domain or "default") / task_id


def store_result(folder: Path, result: TaskResult) -> None:
    """The driver's record of a task: result.txt, written atomically and last (it marks the task
    finished for resume), or error.txt. Only the driver writes these, whichever executor ran the task."""
    folder.mkdir(parents=True, exist_ok=True)
    if result.status == "finished":
        write_atomic(folder / RESULT_FILE, f"{result.score}\n")
    else:
        write_atomic(folder / ERROR_FILE, f"{result.error}\n")


def finished_result(folder: Path, task: Task) -> TaskResult | None:
    """The stored result of a task finished by an earlier run, if any."""
    try:
        score = float((folder / RESULT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return TaskResult(task.id, task.domain, "finished", score=score, resumed=True)


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


def unloadable(failure: LoadFailure) -> TaskResult:
    return TaskResult(failure.path.stem, failure.path.parent.name, "errored", error=f"not loadable: {failure.reason}")
