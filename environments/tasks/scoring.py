"""OSWorld's scoring rules, exactly: infeasible tasks, a final FAIL, lists of metrics and `conj`.

- `func == "infeasible"`: 1 if the agent's last action was FAIL, else 0.
- Any other task whose last action was FAIL scores 0.
- One metric: a result file that cannot be found scores 0.
- Several metrics with conj "and" (the default): 0 as soon as one is 0 (or its result is
  missing), else the mean; with "or": 1 as soon as one is 1, else the max.
"""

from __future__ import annotations

from typing import Any

from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks import metrics as _metrics  # noqa: F401  (registers the metrics)
from environments.tasks.model import Evaluator, GetterConfig
from environments.tasks.registry import GETTERS, METRICS, lookup


def score(evaluator: Evaluator, context: Any, last_action_failed: bool) -> float:
    """The task's score for an episode whose last action was (or was not) FAIL."""
    if evaluator.is_infeasible:
        return 1.0 if last_action_failed else 0.0
    if last_action_failed:
        return 0.0
    if isinstance(evaluator.func, str):
        try:
            return _one(evaluator.func, _single(evaluator.result), _single(evaluator.expected), _options(evaluator, 0), context)
        except FileNotFoundError:
            return 0.0
    results: list[float] = []
    for i, name in enumerate(evaluator.func):
        try:
            value = _one(name, _item(evaluator.result, i), _item(evaluator.expected, i), _options(evaluator, i), context)
        except FileNotFoundError:
            value = 0.0
        if evaluator.conj == "and" and value == 0.0:
            return 0.0
        if evaluator.conj == "or" and value == 1.0:
            return 1.0
        results.append(value)
    return sum(results) / len(results) if evaluator.conj == "and" else max(results)


def _one(name: str, result: GetterConfig | None, expected: GetterConfig | None, options: dict, context: Any) -> float:
    metric = lookup(METRICS, "metric", name)
    result_state = lookup(GETTERS, "getter", result.type)(context, result) if result else None
    if expected is None:
        return float(metric(result_state, **options))
    expected_state = lookup(GETTERS, "getter", expected.type)(context, expected)
    return float(metric(result_state, expected_state, **options))


def _single(side: GetterConfig | list | None) -> GetterConfig | None:
    return side[0] if isinstance(side, list) else side


def _item(side: GetterConfig | list | None, index: int) -> GetterConfig | None:
    if isinstance(side, list):
        return side[index] if index < len(side) else None
    return side


def _options(evaluator: Evaluator, index: int) -> dict:
    options = evaluator.options
    if isinstance(options, list):
        return options[index] if index < len(options) else {}
    return options or {}
