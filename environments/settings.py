"""Every setting a user gives through a `KIMI_AGENT_*` environment variable: its name, and one way to read it."""

from __future__ import annotations

import os
from collections.abc import Callable

PREFIX = "KIMI_AGENT_"
MODEL_RETRIES, MODEL_TIMEOUT, MODEL_BACKOFF = "KIMI_AGENT_MODEL_RETRIES", "KIMI_AGENT_MODEL_TIMEOUT", "KIMI_AGENT_MODEL_BACKOFF"
VM_TIMEOUT, VM_RETRIES = "KIMI_AGENT_VM_TIMEOUT", "KIMI_AGENT_VM_RETRIES"
API_KEY = "KIMI_AGENT_API_KEY"
CHROMIUM = "KIMI_AGENT_CHROMIUM"
"""Path of the Chromium to launch instead of Debian's."""
CACHE = "KIMI_AGENT_CACHE"
"""Folder of the download cache shared by every task and run."""


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take; the message names both."""


def number_from_env(name: str, default: float, kind: Callable[[str], float] = float) -> float:
    """A non-negative number from the environment variable `name`, or `default` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingError(f"{name}={raw!r} is not {what}; unset it or give e.g. {default:g}") from None
    if not value >= 0:  # also NaN
        raise SettingError(f"{name}={raw!r} must be a number of at least 0")
    return value


def text_from_env(name: str) -> str | None:
    """The variable's value, or None when unset or empty."""
    return os.environ.get(name, "").strip() or None


def all_settings() -> dict[str, str]:
    """Every `KIMI_AGENT_*` variable of this process (for workers started elsewhere, e.g. Ray actors)."""
    return {key: value for key, value in os.environ.items() if key.startswith(PREFIX)}
