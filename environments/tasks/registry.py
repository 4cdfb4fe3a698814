"""Registries of setup steps, getters and metrics, looked up by the names task files use."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from environments.tasks.model import GetterConfig, JsonObject

SetupFn = Callable[[Any, JsonObject], None]
"""(task context, parameters) → None; the context is the environment running the task."""
GetterFn = Callable[[Any, GetterConfig], Any]
MetricFn = Callable[..., float]

SETUP_STEPS: dict[str, SetupFn] = {}
GETTERS: dict[str, GetterFn] = {}
METRICS: dict[str, MetricFn] = {}

F = TypeVar("F", bound=Callable[..., Any])


class UnsupportedError(LookupError):
    """A task needs a setup type, getter or metric this project does not implement."""


def _register(table: dict[str, Any], name: str) -> Callable[[F], F]:
    def add(fn: F) -> F:
        if name in table:
            raise ValueError(f"{name!r} is registered twice")
        table[name] = fn
        return fn

    return add


def setup_step(name: str) -> Callable[[F], F]:
    return _register(SETUP_STEPS, name)


def getter(name: str) -> Callable[[F], F]:
    return _register(GETTERS, name)


def metric(name: str) -> Callable[[F], F]:
    return _register(METRICS, name)


def lookup(table: dict[str, F], kind: str, name: str) -> F:
    """The registered function, or an `UnsupportedError` naming what is missing."""
    try:
        return table[name]
    except KeyError:
        raise UnsupportedError(f"{kind} {name!r} is not implemented by kimi-desktop-agent") from None
