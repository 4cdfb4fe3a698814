"""Every setting a user gives through a `KIMI_AGENT_*` environment variable: its name, how to read it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

PREFIX = "KIMI_AGENT_"
MODEL_RETRIES, MODEL_TIMEOUT = "KIMI_AGENT_MODEL_RETRIES", "KIMI_AGENT_MODEL_TIMEOUT"
MODEL_BACKOFF = "KIMI_AGENT_MODEL_BACKOFF"
VM_TIMEOUT, VM_RETRIES = "KIMI_AGENT_VM_TIMEOUT", "KIMI_AGENT_VM_RETRIES"
API_KEY = "KIMI_AGENT_API_KEY"
CHROMIUM = "KIMI_AGENT_CHROMIUM"
"""Path of the Chromium to launch instead of Debian's."""
CACHE = "KIMI_AGENT_CACHE"
"""Folder of the download cache shared by every task and run."""
FAULT_SEED = "KIMI_AGENT_FAULT_SEED"
"""Seed of the crash-safety tests' kill points (tests/faults)."""


@dataclass(frozen=True)
class Setting:
    """One environment variable as the README's table shows it."""

    name: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting(API_KEY, "unset", "bearer token for the model endpoint (`--api-key` wins)"),
    Setting(MODEL_TIMEOUT, "300", "seconds to wait for one model answer; raise it for long generations"),
    Setting(MODEL_RETRIES, "4", "retries of a model request after the first try (refused or reset "
            "connection, timeout, 429, 5xx, a body that is not a chat completion)"),
    Setting(MODEL_BACKOFF, "1", "seconds of the first wait between tries; each next wait doubles "
            "(at most 30 s)"),
    Setting(VM_TIMEOUT, "60", "seconds to wait for a VM server's answer"),
    Setting(VM_RETRIES, "3", "retries of a VM request that is safe to repeat (an action is never sent "
            "twice)"),
    Setting("KIMI_VM_TOKEN", "unset", "bearer token for VM servers (`--vm-token` wins); our VM server "
            "requires one when it listens beyond loopback"),
    Setting(CHROMIUM, "`chromium` on PATH, else /usr/bin/chromium",
            "the Chromium that `--env browser` and browser tasks launch"),
    Setting(CACHE, "~/.cache/kimi-agent/downloads",
            "download cache for task files, shared by every task and run"),
    Setting(FAULT_SEED, "random (printed)", "tests only: repeats one seeded run of the crash-safety tests"),
    Setting("KIMI_AGENT_RUN", "set by kimi-agent",
            "marks the processes of one run, so none outlives it; do not set"),
    Setting("KIMI_AGENT_WORKER", "set by kimi-agent", "marks the processes of one eval worker; do not set"),
)
"""Every `KIMI_AGENT_*` variable (and the VM token), for the README's table (a test keeps it in step)."""


def settings_table() -> str:
    """SETTINGS as a Markdown table."""
    rows = [f"| `{s.name}` | {s.default} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(["| variable | default | what it sets |", "|---|---|---|", *rows])


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


_NUMBERS: dict[str, Callable[[str], float]] = {
    MODEL_RETRIES: int, MODEL_TIMEOUT: float, MODEL_BACKOFF: float, VM_TIMEOUT: float, VM_RETRIES: int,
}


def check_numbers() -> None:
    """A `SettingError` for the first numeric setting that holds no number: commands check before any work."""
    defaults = {s.name: s.default for s in SETTINGS}
    for name, kind in _NUMBERS.items():
        number_from_env(name, kind(defaults[name]), kind)
