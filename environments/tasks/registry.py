"""Registries of setup steps, getters and metrics, each with the pydantic model its parameters must fit.

As in browser-use's tool registry, parameters are validated against the model before the call,
so a malformed task file fails with a `TaskConfigError` naming the task, the step and the field
instead of a KeyError deep inside a step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from environments.tasks.errors import SetupError, UnsupportedError
from environments.tasks.parameters import NoOptions, NoParams

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Registered:
    """One implementation: setup steps and getters are called as fn(context, params); metrics as
    fn(result[, expected]) or, with options, fn(result[, expected], options=options)."""

    name: str
    fn: Callable[..., Any]
    params: type[BaseModel]


SETUP_STEPS: dict[str, Registered] = {}
GETTERS: dict[str, Registered] = {}
METRICS: dict[str, Registered] = {}


class TaskConfigError(ValueError):
    """Parameters in a task file do not fit the model of the step, getter or metric they are for.

    Fix the task file: the message names the task (when known), the place and the first bad field.
    """

    def __init__(self, place: str, err: ValidationError, task_id: str = "") -> None:
        first = err.errors()[0]
        self.task_id, self.place = task_id, place
        self.field = ".".join(str(part) for part in first["loc"])
        more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
        subject = f"field {self.field!r}: " if self.field else ""
        prefix = f"task {task_id!r}: " if task_id else ""
        super().__init__(f"{prefix}{place} failed: {subject}{first['msg']}{more}")


class SetupConfigError(TaskConfigError, SetupError):
    """A setup step's parameters are malformed; a `SetupError` too, so the task errors as any failed setup does."""


def validated(entry: Registered, raw: object, place: str, task_id: str = "",
              error: type[TaskConfigError] = TaskConfigError) -> BaseModel:
    """`raw` as an instance of the entry's model, or `error` naming the place and the field."""
    try:
        return entry.params.model_validate(raw)
    except ValidationError as err:
        raise error(place, err, task_id) from None


def _add(table: dict[str, Registered], entry: Registered) -> None:
    if entry.name in table:
        raise ValueError(f"{entry.name!r} is registered twice")
    table[entry.name] = entry


def setup_step(name: str, params: type[BaseModel] = NoParams) -> Callable[[F], F]:
    """Register fn(context, params: `params`) as the setup step `name`."""
    def add(fn: F) -> F:
        _add(SETUP_STEPS, Registered(name, fn, params))
        return fn

    return add


def getter(name: str, params: type[BaseModel] = NoParams) -> Callable[[F], F]:
    """Register fn(context, params: `params`) as the getter `name`."""
    def add(fn: F) -> F:
        _add(GETTERS, Registered(name, fn, params))
        return fn

    return add


def metric(name: str, options: type[BaseModel] = NoOptions) -> Callable[[F], F]:
    """Register the metric `name`; with `options`, fn takes them as a keyword-only `options` model.

    The name stays callable the way OSWorld calls metrics, fn(result, expected, **options), so its
    tests and differential tests call it alike; the options are validated into the model first.
    """
    def add(fn: F) -> F:
        entry = Registered(name, fn, options)
        _add(METRICS, entry)
        if options is NoOptions:
            return fn

        @functools.wraps(fn)
        def as_osworld_calls_it(*states: Any, **raw: Any) -> float:
            return fn(*states, options=validated(entry, raw, f"metric {name}"))

        return as_osworld_calls_it  # type: ignore[return-value]

    return add


def call_metric(entry: Registered, states: tuple[Any, ...], options: BaseModel) -> float:
    """The metric's score for already validated options."""
    if entry.params is NoOptions:
        return float(entry.fn(*states))
    return float(entry.fn(*states, options=options))


def lookup(table: dict[str, Registered], kind: str, name: str) -> Registered:
    """The registered implementation, or an `UnsupportedError` naming what is missing."""
    try:
        return table[name]
    except KeyError:
        raise UnsupportedError(f"{kind} {name!r} is not implemented by kimi-desktop-agent") from None
