"""What every executor provides."""

from __future__ import annotations

from typing import Protocol

from actions.models import Action


class Executor(Protocol):
    def execute(self, action: Action) -> None:
        """Perform `action` (points in `screen` space) or raise `ExecutionError`."""
        ...
