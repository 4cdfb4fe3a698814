"""Limits a user tunes through environment variables (timeouts, retries), read the same way everywhere."""

from __future__ import annotations

import os
from collections.abc import Callable


def number_from_env(name: str, default: float, kind: Callable[[str], float] = float) -> float:
    """A non-negative number from the environment variable `name`, or `default` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number; unset it or give e.g. {default:g}") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value
