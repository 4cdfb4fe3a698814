"""Runaway detection on its own: repeats on an unchanged screen, and an unchanged screen."""

from __future__ import annotations

import pytest

from actions.models import Click, Point, Press, Wait
from agent.safety.runaway import RunawayConfig, RunawayWatch

CLICK = (Click(at=Point(x=10, y=10, space="screen")),)
OTHER = (Press(keys=("a",)),)


def test_the_same_action_on_an_unchanged_screen_warns_at_k_then_stops() -> None:
    watch = RunawayWatch(RunawayConfig(max_repeats=3, max_unchanged=None))
    assert watch.before(CLICK) is None and watch.after(1, False) is None
    assert watch.before(CLICK) is None and watch.after(1, False) is None
    warn = watch.before(CLICK)
    assert (warn.kind, warn.verdict) == ("repeat", "warn") and "3 times" in warn.reason
    watch.after(0, None)  # the warned step is not performed
    stop = watch.before(CLICK)
    assert (stop.kind, stop.verdict) == ("repeat", "stop") and stop.reason.startswith("runaway:")


def test_a_repeat_that_changes_the_screen_is_progress() -> None:
    watch = RunawayWatch(RunawayConfig(max_repeats=2, max_unchanged=None))
    for _ in range(5):
        assert watch.before(CLICK) is None
        assert watch.after(1, True) is None


def test_unknown_change_never_triggers() -> None:
    watch = RunawayWatch(RunawayConfig(max_repeats=2, max_unchanged=2))
    for _ in range(5):
        assert watch.before(CLICK) is None
        assert watch.after(1, None) is None


def test_a_different_action_resets_the_warning() -> None:
    watch = RunawayWatch(RunawayConfig(max_repeats=2, max_unchanged=None))
    watch.before(CLICK), watch.after(1, False)
    assert watch.before(CLICK).verdict == "warn"
    watch.after(0, None)
    assert watch.before(OTHER) is None
    watch.after(1, True)
    watch.before(CLICK), watch.after(1, False)
    assert watch.before(CLICK).verdict == "warn"  # warned afresh, not stopped


def test_an_unchanged_screen_for_m_steps_warns_then_stops_and_stop_mode_stops_at_once() -> None:
    watch = RunawayWatch(RunawayConfig(max_repeats=None, max_unchanged=3))
    steps = [watch.after(1, False) for _ in range(4)]
    assert steps[:2] == [None, None]
    assert (steps[2].kind, steps[2].verdict) == ("unchanged", "warn") and (steps[3].verdict) == "stop"
    strict = RunawayWatch(RunawayConfig(max_repeats=None, max_unchanged=2, on_runaway="stop"))
    assert strict.after(1, False) is None and strict.after(1, False).verdict == "stop"


def test_limits_below_two_are_refused() -> None:
    with pytest.raises(ValueError, match="max_repeats must be at least 2"):
        RunawayConfig(max_repeats=1)


def test_waiting_again_is_left_to_the_unchanged_screen_limit() -> None:
    watch = RunawayWatch(RunawayConfig(max_repeats=2, max_unchanged=4))
    triggers = []
    for _ in range(5):
        triggers.append(watch.before((Wait(seconds=2),)))
        triggers.append(watch.after(1, False))
    assert [(t.kind, t.verdict) for t in triggers if t] == [("unchanged", "warn"), ("unchanged", "stop")]
