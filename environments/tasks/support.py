"""What each task needs, and whether this project implements all of it."""

from __future__ import annotations

import importlib.util
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from environments.tasks import scoring, setup_steps
from environments.tasks.load import LoadedTasks, LoadFailure
from environments.tasks.model import Task
from environments.tasks.registry import GETTERS, METRICS, SETUP_STEPS, TaskConfigError


_GOOGLE_ACCOUNT = "a Google account: OSWorld's settings/ folder (credentials) beside the task files"
_LIVE_SITE = "a live website, as it looked when the task was written"

OUTSIDE_RESOURCES: dict[str, str] = {
    "setup:googledrive": _GOOGLE_ACCOUNT,
    "setup:login": _GOOGLE_ACCOUNT,
    "getter:googledrive_file": _GOOGLE_ACCOUNT,
    "getter:page_info": _LIVE_SITE,
    "getter:info_from_website": _LIVE_SITE,
    "getter:pdf_from_url": _LIVE_SITE,
    "getter:gotoRecreationPage_and_get_html_content": _LIVE_SITE,
}
"""Implemented names that still need something outside this project to score a task for real."""

OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "metric:compare_image_text": ("easyocr", "EasyOCR: pip install -e '.[osworld-ocr]'"),
}
"""Implemented names whose library is an optional extra: name → (module, how to install it)."""


@dataclass(frozen=True)
class TaskSupport:
    task: Task
    missing: tuple[str, ...]
    """Names of what is not implemented, as `setup:X`, `getter:X`, `metric:X`."""
    needs: tuple[str, ...] = ()
    """What an implemented name needs from outside the project (an account, a live site, an extra)."""

    @property
    def runnable(self) -> bool:
        return not self.missing


def outside_needs(names: set[str]) -> tuple[str, ...]:
    """What `names` (as `setup:X`, `getter:X`, `metric:X`) need from outside the project, each once."""
    needs = {OUTSIDE_RESOURCES[n] for n in names if n in OUTSIDE_RESOURCES}
    needs |= {how for n, (module, how) in OPTIONAL_MODULES.items()
              if n in names and importlib.util.find_spec(module) is None}
    return tuple(sorted(needs))


def support_of(task: Task) -> TaskSupport:
    # `infeasible` is decided by the scoring rule itself, not by a registered metric.
    metrics = [] if task.evaluator.is_infeasible else task.evaluator.metrics
    missing = [f"setup:{t}" for t in sorted(task.setup_types()) if t not in SETUP_STEPS]
    missing += [f"getter:{t}" for t in sorted(task.getter_types()) if t not in GETTERS]
    missing += [f"metric:{m}" for m in sorted(set(metrics)) if m not in METRICS]
    names = {f"setup:{t}" for t in task.setup_types()} | {f"getter:{t}" for t in task.getter_types()}
    names |= {f"metric:{m}" for m in metrics}
    return TaskSupport(task, tuple(missing), outside_needs(names))


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
    needs: Counter = field(default_factory=Counter)
    """Outside resource → how many runnable tasks need it to score for real."""


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
        if support.runnable:
            table.needs.update(support.needs)
    return table
