"""Results for people: a per-domain table and a bar chart of an `eval` results folder, and a
task-by-task comparison of two. Reads the per-task folders (the source of truth:
`<domain>/<id>/result.txt` or `error.txt`), so it also works on a run that was interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from agent.evaluation.results import ERROR_FILE, RESULT_FILE


@dataclass(frozen=True)
class TaskScore:
    domain: str
    task_id: str
    score: float | None
    """None: errored, or not run yet."""
    error: str | None = None


@dataclass
class Results:
    folder: Path
    tasks: dict[tuple[str, str], TaskScore] = field(default_factory=dict)

    def domains(self) -> dict[str, list[TaskScore]]:
        grouped: dict[str, list[TaskScore]] = {}
        for (domain, _), task in sorted(self.tasks.items()):
            grouped.setdefault(domain, []).append(task)
        return grouped


def read_results(folder: Path) -> Results:
    results = Results(folder)
    for task_dir in sorted(p for p in folder.glob("*/*") if p.is_dir()):
        if not any((task_dir / name).exists() for name in (RESULT_FILE, ERROR_FILE, "log.txt")):
            continue
        key = (task_dir.parent.name, task_dir.name)
        try:
            score: float | None = float((task_dir / RESULT_FILE).read_text().strip())
            error = None
        except (OSError, ValueError):
            score = None
            error = (task_dir / ERROR_FILE).read_text().strip() if (task_dir / ERROR_FILE).exists() else "unfinished"
        results.tasks[key] = TaskScore(key[0], key[1], score, error)
    return results


@dataclass(frozen=True)
class Row:
    domain: str
    tasks: int
    finished: int
    errored: int
    mean: float
    """Mean over every task of the domain (errored and unfinished count as nothing)."""


def rows(results: Results) -> list[Row]:
    table = []
    everything: list[TaskScore] = []
    for domain, tasks in results.domains().items():
        table.append(_row(domain, tasks))
        everything += tasks
    table.append(_row("all", everything))
    return table


def _row(name: str, tasks: list[TaskScore]) -> Row:
    finished = [t for t in tasks if t.score is not None]
    total = sum(t.score or 0.0 for t in finished)
    return Row(name, len(tasks), len(finished), len(tasks) - len(finished), total / len(tasks) if tasks else 0.0)


@dataclass(frozen=True)
class Difference:
    domain: str
    task_id: str
    a: float | None
    b: float | None


def compare(a: Results, b: Results) -> list[Difference]:
    """Tasks whose score differs between the two folders (including tasks only one has)."""
    keys = sorted(set(a.tasks) | set(b.tasks))
    found = []
    for key in keys:
        left = a.tasks[key].score if key in a.tasks else None
        right = b.tasks[key].score if key in b.tasks else None
        if left != right:
            found.append(Difference(key[0], key[1], left, right))
    return found


def render_html(a: Results, b: Results | None = None) -> str:
    environment = Environment(loader=PackageLoader("agent.evaluation", "templates"), autoescape=True,
                              undefined=StrictUndefined)
    template = environment.get_template("report.html.j2")
    return template.render(
        a=a, rows_a=rows(a), b=b, rows_b=rows(b) if b else None,
        differences=compare(a, b) if b else None,
    )
