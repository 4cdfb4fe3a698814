"""OSWorld's scoring rules, exactly: infeasible tasks, a final FAIL, lists of metrics and `conj`
(and WAA's way with failing getters when its rules are asked for: environments/tasks/rules.py).

- `func == "infeasible"`: 1 if the agent's last action was FAIL, else 0.
- Any other task whose last action was FAIL scores 0.
- One metric: a result file that cannot be found scores 0.
- Several metrics with conj "and" (the default): 0 as soon as one is 0 (or its result is
  missing), else the mean; with "or": 1 as soon as one is 1, else the max.

`score_explained` also says why (each metric's score, what its getters returned or raised);
`score` returns the same number as a float that carries that explanation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks import metrics as _metrics  # noqa: F401  (registers the metrics)
from environments.tasks.explanation import (
    GetterOutcome, MetricExplanation, ScoreExplanation, exception_text, short_repr,
)
from environments.tasks.model import Evaluator, GetterConfig, JsonObject
from environments.tasks.registry import (
    GETTERS, METRICS, Registered, TaskConfigError, UnsupportedError, call_metric, lookup, validated,
)
from environments.tasks.metrics.reference import Reference, following
from environments.tasks.rules import OSWORLD_RULES, HarnessRules


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

    def explained(self, context: Any, index: int, rules: HarnessRules = OSWORLD_RULES,
                  alone: bool = True) -> MetricExplanation:
        """The metric's score as `__call__` computes it, with what each getter returned or raised.

        A missing file (`FileNotFoundError` from a getter or the metric) scores 0, as OSWorld does;
        any other exception propagates (the task errors) with a note naming the metric and what
        its getters had returned. Under WAA's rules a metric `alone` in its task scores 0 when its
        result getter raises anything, an expected value of None is left out of the call, and a file
        missing for the expected getter or the metric errors the task.
        """
        told = self.options.model_dump(exclude_unset=True)
        known: dict[str, Any] = {"index": index, "name": self.entry.name,
                                 "options": short_repr(told) if told else None}
        states: list[Any] = []
        for side, getter in (("actual", self.result), ("expected", self.expected)):
            if getter is None:
                if side == "actual":
                    states.append(None)
                continue
            try:
                value = getter(context)
            except FileNotFoundError as err:
                if side == "expected" and not rules.missing_file_past_result_scores_zero:
                    err.add_note(_failure(known, f"its expected getter {getter.entry.name} found a file missing"))
                    raise
                known[side] = GetterOutcome(getter=getter.entry.name, raised=exception_text(err))
                return MetricExplanation(**known, score=0.0, note="a file the getter reads is missing: 0")
            except Exception as err:
                if side == "actual" and alone and rules.raising_result_getter_scores_zero:
                    known[side] = GetterOutcome(getter=getter.entry.name, raised=exception_text(err))
                    note = f"the result getter raised: 0 by {rules.name}'s rules"
                    return MetricExplanation(**known, score=0.0, note=note)
                role = "result" if side == "actual" else "expected"
                err.add_note(_failure(known, f"its {role} getter {getter.entry.name} raised"))
                raise
            known[side] = GetterOutcome(getter=getter.entry.name, value=short_repr(value))
            if side == "expected" and value is None and rules.none_expected_left_out:
                continue
            states.append(value)
        try:
            value = call_metric(self.entry, tuple(states), self.options)
        except FileNotFoundError as err:
            if not rules.missing_file_past_result_scores_zero:
                err.add_note(_failure(known, f"the metric found a file missing (not 0 by {rules.name}'s rules)"))
                raise
            note = f"the metric found a file missing: 0 ({exception_text(err)})"
            return MetricExplanation(**known, score=0.0, note=note)
        except Exception as err:
            err.add_note(_failure(known, "the metric itself raised"))
            raise
        return MetricExplanation(**known, score=value)


def _failure(known: dict[str, Any], what: str) -> str:
    """The note an exception from a metric or its getter carries into the task's error log."""
    return "while scoring " + MetricExplanation(**known, note=what).text()


def score(evaluator: Evaluator, context: Any, last_action_failed: bool, task_id: str = "",
          rules: HarnessRules = OSWORLD_RULES) -> float:
    """The task's score for an episode whose last action was (or was not) FAIL (`score_explained` also
    says how it came about)."""
    return score_explained(evaluator, context, last_action_failed, task_id, rules).score


def score_explained(
    evaluator: Evaluator, context: Any, last_action_failed: bool, task_id: str = "",
    rules: HarnessRules = OSWORLD_RULES,
) -> ScoreExplanation:
    """The task's score with every metric's part in it, by OSWorld's rules (see the module's docstring)
    and `rules`' way with failures; the metrics whose code differs between the harnesses follow the
    one `rules` names."""
    with following(Reference(rules.name)):
        return _score_explained(evaluator, context, last_action_failed, task_id, rules)


def _score_explained(
    evaluator: Evaluator, context: Any, last_action_failed: bool, task_id: str, rules: HarnessRules,
) -> ScoreExplanation:
    if evaluator.is_infeasible:
        said = "was" if last_action_failed else "was not"
        return ScoreExplanation(score=1.0 if last_action_failed else 0.0,
                                rule=f"infeasible task: 1 only when the last action is FAIL, and it {said}")
    if last_action_failed:
        return ScoreExplanation(score=0.0, rule="the last action was FAIL (feasible task): 0, no metric run")
    count = len(evaluator.metrics)
    if count == 1:
        only = prepared_metric(evaluator, 0, task_id).explained(context, 1, rules)
        return ScoreExplanation(score=only.score or 0.0, rule="the score of its one metric", metrics=[only])
    parts: list[MetricExplanation] = []
    for i in range(count):
        part = prepared_metric(evaluator, i, task_id).explained(context, i + 1, rules, alone=False)
        parts.append(part)
        decided = {"and": 0.0, "or": 1.0}[evaluator.conj]
        if part.score == decided:
            skipped = [MetricExplanation(index=j + 1, name=name, note=f"not run (metric {i + 1} decided)")
                       for j, name in enumerate(evaluator.metrics[i + 1:], i + 1)]
            rule = f"conj {evaluator.conj!r}: metric {i + 1} scored {decided:g}, so the task does"
            return ScoreExplanation(score=decided, rule=rule, metrics=parts + skipped)
    values = [part.score or 0.0 for part in parts]
    if evaluator.conj == "and":
        return ScoreExplanation(score=sum(values) / len(values), metrics=parts,
                                rule=f"conj 'and': the mean of the {count} metrics' scores (none was 0)")
    return ScoreExplanation(score=max(values), metrics=parts,
                            rule=f"conj 'or': the highest of the {count} metrics' scores (none was 1)")


def prepared_metric(evaluator: Evaluator, index: int, task_id: str = "") -> PreparedMetric:
    """Metric `index` (from 0) of the evaluator with its getters, validated before anything runs
    (errors name `task_id`).

    Raises `UnsupportedError` for a name not implemented, `TaskConfigError` for a bad parameter.
    """
    name, result, expected = _parts(evaluator, index)
    place = f"metric {index + 1} ({name})"
    entry, options = _metric(evaluator, index, name, place, task_id)
    return PreparedMetric(
        entry, options, _getter(result, "result", place, task_id),
        _getter(expected, "expected", place, task_id),
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


def _metric(
    evaluator: Evaluator, index: int, name: str, place: str, task_id: str,
) -> tuple[Registered, BaseModel]:
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
