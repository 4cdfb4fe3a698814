"""Results for people: the per-domain table, a bar chart and every task of an `eval` results
folder, and a task-by-task comparison of two. Reads the folder through `summarize` — the same
computation `eval` writes summary.json with — so the three agree, also after an interruption.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from agent.evaluation.manifest import PREVIOUS_RUNS, Manifest, read_manifest
from agent.evaluation.results import (
    ERROR_FILE, INTERRUPTED_FILE, LOG_FILE, RESULT_FILE, UNSUPPORTED_FILE, Summary, TaskResult, summarize,
    task_folder,
)
from environments.tasks.explanation import ScoreExplanation

PAGE_NAME = "trajectory.html"


@dataclass
class Results:
    folder: Path
    summary: Summary
    manifest: Manifest | None

    @property
    def tasks(self) -> dict[tuple[str, str], TaskResult]:
        return {(t.domain, t.task_id): t for t in self.summary.tasks}


def read_results(folder: Path) -> Results:
    """The folder's run: the manifest's tasks (every scheduled one), or, for a folder from before
    manifests, every task folder holding a result, an error or a log."""
    manifest = read_manifest(folder)
    if manifest is not None:
        entries = [tuple(entry) for entry in manifest.tasks]
    else:
        names = (RESULT_FILE, ERROR_FILE, UNSUPPORTED_FILE, INTERRUPTED_FILE, LOG_FILE)
        entries = [(p.parent.name, p.name) for p in sorted(folder.glob("*/*"))
                   if p.is_dir() and p.parent.name != PREVIOUS_RUNS and any((p / n).exists() for n in names)]
    return Results(folder, summarize(folder, entries), manifest)


@dataclass(frozen=True)
class Row:
    domain: str
    tasks: int
    scored: int
    errored: int
    unsupported: int
    interrupted: int
    mean: float
    """Mean over every task of the domain (errored, unsupported and interrupted count as 0)."""


def rows(results: Results) -> list[Row]:
    s = results.summary
    table = [Row(d, int(r["scheduled"]), int(r["scored"]), int(r["errored"]), int(r["unsupported"]),
                 int(r["interrupted"]), r["total_score"] / r["scheduled"])
             for d, r in sorted(s.by_domain.items())]
    table.append(Row("all", s.scheduled, s.scored, s.errored, s.unsupported, s.interrupted, s.mean_score))
    return table


@dataclass(frozen=True)
class Difference:
    domain: str
    task_id: str
    a: float | None
    b: float | None


def compare(a: Results, b: Results) -> list[Difference]:
    """Tasks whose score differs between the two folders (including tasks only one has)."""
    ta, tb = a.tasks, b.tasks
    found = []
    for key in sorted(set(ta) | set(tb)):
        left = ta[key].score if key in ta else None
        right = tb[key].score if key in tb else None
        if left != right:
            found.append(Difference(key[0], key[1], left, right))
    return found


@dataclass(frozen=True)
class TaskLine:
    result: TaskResult
    link: str | None
    """The task's trajectory page, relative to the report (None: the task has no trajectory)."""
    detail: str
    """Why it scored what it did: the error, the missing names, the episode's outcome."""
    explanation: ScoreExplanation | None = None
    """A scored task below 1: which metric returned what, expected against actual."""


def task_lines(results: Results, out: Path) -> list[TaskLine]:
    """Every task, with a link to its trajectory page (rendered beside the trajectory if missing)."""
    lines = []
    for result in results.summary.tasks:
        trajectory = task_folder(results.folder, result.domain, result.task_id) / "trajectory"
        link = None
        if (trajectory / "episode.json").exists():
            page = trajectory / PAGE_NAME
            if not page.exists():
                page = _render_page(trajectory) or trajectory
            link = os.path.relpath(page.resolve(), out.parent)
        detail = result.error or (f"episode ended: {result.outcome}" if result.outcome else "")
        failed = result.status == "scored" and (result.score or 0.0) < 1.0
        lines.append(TaskLine(result, link, detail, result.explanation if failed else None))
    return lines


def _render_page(trajectory: Path) -> Path | None:
    from agent.trajectory.store import read_trajectory
    from agent.view import render_html as render_trajectory

    try:
        return render_trajectory(read_trajectory(trajectory), trajectory / PAGE_NAME)
    except (OSError, ValueError):  # an unreadable episode still gets its row, linked to its folder
        return None


def render_html(a: Results, b: Results | None = None, out: Path = Path("report.html")) -> str:
    environment = Environment(loader=PackageLoader("agent.evaluation", "templates"), autoescape=True,
                              undefined=StrictUndefined)
    template = environment.get_template("report.html.j2")
    return template.render(
        a=a, rows_a=rows(a), b=b, rows_b=rows(b) if b else None,
        differences=compare(a, b) if b else None, tasks_a=task_lines(a, out.resolve()),
    )
