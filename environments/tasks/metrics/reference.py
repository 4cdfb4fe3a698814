"""Whose metric code a score follows: OSWorld's main branch (the default) or WindowsAgentArena's.

WAA forked OSWorld's metrics early and both changed since, so a few shared names score the same
files differently (a cell's fill colour, bookmark sets, URL normal forms, ...). A task is scored
by the code of the harness it was published with: the WAA profile runs its scoring inside
`following(Reference.WAA)`; the metrics that differ ask `follows_waa()`. A context variable,
not a global, so two evaluations in one process cannot leak their choice into each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum


class Reference(StrEnum):
    OSWORLD = "osworld"
    WAA = "waa"


_current: ContextVar[Reference] = ContextVar("metric_reference", default=Reference.OSWORLD)


def current() -> Reference:
    """The reference the metrics follow in this context."""
    return _current.get()


def follows_waa() -> bool:
    return _current.get() is Reference.WAA


@contextmanager
def following(reference: Reference) -> Iterator[None]:
    """Score with `reference`'s semantics inside the block."""
    token = _current.set(Reference(reference))
    try:
        yield
    finally:
        _current.reset(token)
