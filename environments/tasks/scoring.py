"""OSWorld's scoring rules, exactly: infeasible tasks, a final FAIL, lists of metrics and `conj`.

- `func == "infeasible"`: 1 if the agent's last action was FAIL, else 0.
- Any other task whose last action was FAIL scores 0.
- One metric: a result file that cannot be found scores 0.
- Several metrics with conj "and" (the default): 0 as soon as one is 0 (or its result is
  missing), else the mean; with "or": 1 as soon as one is 1, else the max.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks import metrics as _metrics  # noqa: F401  (registers the metrics)
from environments.tasks.model import Evaluator, GetterConfig, JsonObject
from environments.tasks.registry import (
    GETTERS, METRICS, Registered, TaskConfigError, UnsupportedError, call_metric, lookup, validated,
)


@dataclass(frozen=True)
class PreparedGetter:
    entry: Registered
    params: BaseModel

    def __call__(self, context: Any) -> Any:
        return self.entry.fn(context, self.params)


@dataclass(frozen=True)
class PreparedMetric:
    """One metric of an evaluator with its getters, every parameter validated."""

    entry: Registered
    options: BaseModel
    result: PreparedGetter | None
    expected: PreparedGetter | None

    def __call__(self, context: Any) -> float:
        result_state = self.result(context) if self.result else None
        if self.expected is None:
            return call_metric(self.entry, (result_state,), self.options)
        return call_metric(self.entry, (result_state, self.expected(context)), self.options)


def score(evaluator: Evaluator, context: Any, last_action_failed: bool, task_id: str = "") -> float:
    """The task's score for an episode whose last action was (or was not) FAIL."""
    if evaluator.is_infeasible:
        return 1.0 if last_action_failed else 0.0
    if last_action_failed:
        return 0.0
    if isinstance(evaluator.func, str):
        try:
            return prepared_metric(evaluator, 0, task_id)(context)
        except FileNotFoundError:
            return 0.0
    results: list[float] = []
    for i in range(len(evaluator.func)):
        try:
            value = prepared_metric(evaluator, i, task_id)(context)
        except FileNotFoundError:
            value = 0.0
        if evaluator.conj == "and" and value == 0.0:
            return 0.0
        if evaluator.conj == "or" and value == 1.0:
            return 1.0
        results.append(value)
    return sum(results) / len(results) if evaluator.conj == "and" else max(results)


def prepared_metric(evaluator: Evaluator, index: int, task_id: str = "") -> PreparedMetric:
    """Metric `index` (from 0) of the evaluator with its getters, validated before anything runs
    (errors name `task_id`).

    Raises `UnsupportedError` for a name not implemented, `TaskConfigError` for a bad parameter.
    """
    name, result, expected = _parts(evaluator, index)
    place = f"metric {index + 1} ({name})"
    entry, options = _metric(evaluator, index, name, place, task_id)
    return PreparedMetric(
        entry, options, _getter(result, "result", place, task_id), _getter(expected, "expected", place, task_id),
    )


def parameter_errors(evaluator: Evaluator, task_id: str = "") -> list[TaskConfigError]:
    """What `prepared_metric` would refuse in the evaluator, for every implemented metric and getter
    (what is not implemented is reported by name elsewhere)."""
    if evaluator.is_infeasible:
        return []
    found: list[TaskConfigError] = []
    for index, name in enumerate(evaluator.metrics):
        place = f"metric {index + 1} ({name})"
        _, result, expected = _parts(evaluator, index)
        checks: list[Callable[[], object]] = [
            functools.partial(_metric, evaluator, index, name, place, task_id),
            functools.partial(_getter, result, "result", place, task_id),
            functools.partial(_getter, expected, "expected", place, task_id),
        ]
        for check in checks:
            try:
                check()
            except TaskConfigError as err:
                found.append(err)
            except UnsupportedError:
                continue
    return found


def _parts(evaluator: Evaluator, index: int) -> tuple[str, GetterConfig | None, GetterConfig | None]:
    """Metric `index`'s name and its result and expected getters."""
    if isinstance(evaluator.func, str):
        return evaluator.func, _single(evaluator.result), _single(evaluator.expected)
    return evaluator.func[index], _item(evaluator.result, index), _item(evaluator.expected, index)


def _metric(evaluator: Evaluator, index: int, name: str, place: str, task_id: str) -> tuple[Registered, BaseModel]:
    entry = lookup(METRICS, "metric", name)
    return entry, validated(entry, _options(evaluator, index), place, task_id)


def _getter(config: GetterConfig | None, side: str, metric: str, task_id: str) -> PreparedGetter | None:
    if config is None:
        return None
    entry = lookup(GETTERS, "getter", config.type)
    place = f"{side} getter {config.type!r} of {metric}"
    return PreparedGetter(entry, validated(entry, config.fields, place, task_id))


def _single(side: GetterConfig | list | None) -> GetterConfig | None:
    return side[0] if isinstance(side, list) else side


def _item(side: GetterConfig | list | None, index: int) -> GetterConfig | None:
    if isinstance(side, list):
        return side[index] if index < len(side) else None
    return side


def _options(evaluator: Evaluator, index: int) -> JsonObject:
    options = evaluator.options
    if isinstance(options, list):
        return options[index] if index < len(options) else {}
    return options or {}
