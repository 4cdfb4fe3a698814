"""Timing profiles: our adaptive waits (the environment settles after every action) or a reference
runner's fixed sleeps on top of them, so a result can be reproduced either way.

OSWorld's `lib_run_single.run_single_example` (read from its code): `env.reset(...)`, sleep 60 s,
then for each action `env.step(action, sleep_after_execution)` (`DesktopEnv.step`'s own default pause
is 2 s; its runners pass 0–5 s), and `time.sleep(20)` before `env.evaluate()`.

WindowsAgentArena's runs wait 60 s after setup and 5 s after each action, and evaluate at once
(../shared/OSWORLD.md). Its public code of 2024–25 shows shorter pauses in places (5 s after
setup inside `reset`, `--sleep_after_execution` 3 s by default); the profile keeps the
documented figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from actions.models import Wait
from agent.evaluation.options import Timing
from environments.tasks.explanation import ScoreExplanation


@dataclass(frozen=True)
class TimingProfile:
    after_reset: float = 0.0
    after_action: float = 0.0
    before_evaluate: float = 0.0

    def describe(self) -> str:
        return (f"{self.after_reset:g} s after reset, {self.after_action:g} s after each action, "
                f"{self.before_evaluate:g} s before evaluating")


PROFILES: dict[Timing, TimingProfile] = {
    "adaptive": TimingProfile(),
    "osworld": TimingProfile(after_reset=60.0, after_action=2.0, before_evaluate=20.0),
    "waa": TimingProfile(after_reset=60.0, after_action=5.0),
}


class TimedEnv:
    """An environment with a profile's fixed pauses. After a pause the environment performs an
    empty `wait`, so the frame is captured anew: the model sees the screen after the pause, as in
    OSWorld's runner. Everything else is the wrapped environment's."""

    def __init__(self, env: Any, profile: TimingProfile) -> None:
        self.env, self.profile = env, profile

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def reset(self, **kwargs: Any) -> Any:
        answer = self.env.reset(**kwargs)
        self._pause(self.profile.after_reset)
        return answer

    def perform(self, action: Any) -> Any:
        result = self.env.perform(action)
        if result.ok:
            self._pause(self.profile.after_action)
        return result

    def evaluate(self, last_action_failed: bool) -> float:
        return self.explain_score(last_action_failed).score

    def explain_score(self, last_action_failed: bool) -> ScoreExplanation:
        time.sleep(self.profile.before_evaluate)
        return self.env.explain_score(last_action_failed)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.env.perform(Wait(seconds=0))  # nothing done: the screen is captured (and settled) anew


def timed(env: Any, timing: Timing) -> Any:
    """`env` as the profile wants it: itself for the adaptive default."""
    profile = PROFILES[timing]
    return env if profile == TimingProfile() else TimedEnv(env, profile)
