"""What each task needs, and whether this project implements all of it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from environments.tasks import scoring, setup_steps
from environments.tasks.load import LoadedTasks, LoadFailure
from environments.tasks.model import Task
from environments.tasks.registry import GETTERS, METRICS, SETUP_STEPS, TaskConfigError


@dataclass(frozen=True)
class TaskSupport:
    task: Task
    missing: tuple[str, ...]
    """Names of what is not implemented, as `setup:X`, `getter:X`, `metric:X`."""

    @property
    def runnable(self) -> bool:
        return not self.missing


def support_of(task: Task) -> TaskSupport:
    # `infeasible` is decided by the scoring rule itself, not by a registered metric.
    metrics = [] if task.evaluator.is_infeasible else task.evaluator.metrics
    missing = [f"setup:{t}" for t in sorted(task.setup_types()) if t not in SETUP_STEPS]
    missing += [f"getter:{t}" for t in sorted(task.getter_types()) if t not in GETTERS]
    missing += [f"metric:{m}" for m in sorted(set(metrics)) if m not in METRICS]
    return TaskSupport(task, tuple(missing))


def parameter_errors(task: Task) -> list[TaskConfigError]:
    """Every parameter of the task that does not fit its implemented step's, getter's or metric's model,
    found with the models and messages the run itself uses."""
    return [
        *setup_steps.parameter_errors(task.config, task.id),
        *setup_steps.parameter_errors(task.evaluator.postconfig, task.id),
        *scoring.parameter_errors(task.evaluator, task.id),
    ]


def with_parameters_checked(loaded: LoadedTasks) -> LoadedTasks:
    """`loaded` with each task whose parameters are malformed moved to the failures, first error as the reason."""
    tasks: list[Task] = []
    failures = list(loaded.failures)
    for task in loaded.tasks:
        errors = parameter_errors(task)
        if not errors:
            tasks.append(task)
            continue
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        path = task.source_path or Path(task.id)
        failures.append(LoadFailure(path, f"{path}: {errors[0]}{more}"))
    return LoadedTasks(tasks, failures)


@dataclass
class SupportTable:
    total: int = 0
    runnable: int = 0
    by_domain: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    """domain → [tasks, runnable]."""
    missing: Counter = field(default_factory=Counter)
    """Unimplemented name → how many tasks need it."""


def support_table(tasks: list[Task]) -> SupportTable:
    table = SupportTable()
    for task in tasks:
        support = support_of(task)
        table.total += 1
        table.runnable += support.runnable
        row = table.by_domain[task.domain or "(none)"]
        row[0] += 1
        row[1] += support.runnable
        table.missing.update(support.missing)
    return table
