"""Getters that need no environment (desktop_env/evaluators/getters)."""

from __future__ import annotations

from typing import Any

from environments.tasks.model import GetterConfig
from environments.tasks.registry import getter


@getter("rule")
def get_rule(_context: Any, config: GetterConfig) -> Any:
    """The expected value written in the task itself."""
    return config.fields["rules"]
