"""Runaway detection: the same step again on a screen it did not change, or a screen that stays the same.

"Changed" is the environment's own comparison after each action (`SettleInfo.changed`: the
settled frame against the frame before the action), so watching costs nothing per step. A
step whose change is unknown (an environment that reports no settle) counts as a change, so
an unknown never stops a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from actions.models import Action, Wait

RunawayMode = Literal["intervene", "stop"]
"""intervene: first warn the model (a repeated step is not performed), stop if it goes on; stop: stop at once."""
DEFAULT_MAX_REPEATS = 3
DEFAULT_MAX_UNCHANGED = 6


@dataclass(frozen=True)
class RunawayConfig:
    max_repeats: int | None = DEFAULT_MAX_REPEATS
    """K: the same actions asked for K times in a row, each time on a screen the previous
    one did not change, trigger; None turns this check off. Steps that only wait are
    left to `max_unchanged`: waiting again for a slow screen is not a loop."""
    max_unchanged: int | None = DEFAULT_MAX_UNCHANGED
    """M: M steps in a row whose actions left the screen unchanged trigger; None turns it off."""
    on_runaway: RunawayMode = "intervene"

    def __post_init__(self) -> None:
        for name in ("max_repeats", "max_unchanged"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ValueError(f"{name} must be at least 2 (or None to turn the check off), not {value}")


@dataclass(frozen=True)
class Trigger:
    kind: Literal["repeat", "unchanged"]
    verdict: Literal["warn", "stop"]
    reason: str


@dataclass
class RunawayWatch:
    """One episode's runaway state, fed each step's actions before and its effect after."""

    config: RunawayConfig = RunawayConfig()
    _last: tuple[Action, ...] = ()
    _last_unchanged: bool = False
    _repeats: int = 0
    _unchanged: int = 0
    _warned: set[str] = field(default_factory=set)

    def before(self, actions: Sequence[Action]) -> Trigger | None:
        """Check a step before it is performed; a trigger means it is not performed."""
        current = tuple(actions)
        waiting = all(isinstance(a, Wait) for a in current)
        repeated = not waiting and current == self._last and self._last_unchanged
        self._repeats = self._repeats + 1 if repeated else 1
        self._last = current
        limit = self.config.max_repeats
        if limit is None or self._repeats < limit:
            self._warned.discard("repeat")
            return None
        return self._trigger(
            "repeat",
            f"the same action(s) were asked for {self._repeats} times in a row and the screen did not change",
        )

    def after(self, performed: int, changed: bool | None) -> Trigger | None:
        """Record a step's effect: `performed` actions, and whether any changed the screen."""
        if performed == 0:
            self._last_unchanged = True  # nothing was done, so the screen is as the step found it
            return None
        self._last_unchanged = changed is False
        if not self._last_unchanged:
            self._unchanged = 0
            self._warned.discard("unchanged")
            return None
        self._unchanged += 1
        limit = self.config.max_unchanged
        if limit is None or self._unchanged < limit:
            return None
        return self._trigger("unchanged", f"the screen has not changed for {self._unchanged} steps")

    def _trigger(self, kind: Literal["repeat", "unchanged"], what: str) -> Trigger:
        if self.config.on_runaway == "stop" or kind in self._warned:
            return Trigger(kind, "stop", f"runaway: {what}")
        self._warned.add(kind)
        return Trigger(kind, "warn", what)
