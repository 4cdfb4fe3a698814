"""Limits a user tunes through environment variables (timeouts, retries), read the same way everywhere."""

from __future__ import annotations

import os
from collections.abc import Callable


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
