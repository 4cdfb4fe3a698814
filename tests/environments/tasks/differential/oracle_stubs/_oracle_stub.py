"""Shared body of the stub modules here (ours): every attribute is a stand-in that raises when used."""

from __future__ import annotations


class StubbedDependency(RuntimeError):
    """A differential case reached a package the oracle venv stubs out instead of installing."""


class _Missing:
    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: object, **kwargs: object) -> object:
        raise StubbedDependency(f"{self._name} is stubbed in the oracle venv (differential/oracle_stubs)")

    def __getattr__(self, attr: str) -> "_Missing":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Missing(f"{self._name}.{attr}")


def missing(module: str, attr: str) -> _Missing:
    if attr.startswith("__"):
        raise AttributeError(attr)
    return _Missing(f"{module}.{attr}")
