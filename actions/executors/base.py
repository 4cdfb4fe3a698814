"""What every executor provides."""

from __future__ import annotations

from typing import Protocol

from actions.errors import ActionError
from actions.models import Action


class ExecutionError(ActionError):
    """An action that could not be performed; the message says why."""


class Executor(Protocol):
    def execute(self, action: Action) -> None:
        """Perform `action` (points in `screen` space) or raise `ExecutionError`."""
        ...
