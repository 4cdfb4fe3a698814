"""Executors perform typed actions whose points are already in screen space."""

from actions.executors.base import ExecutionError, Executor

__all__ = ["ExecutionError", "Executor"]
