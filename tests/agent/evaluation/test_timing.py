"""Timing profiles: the adaptive default leaves the environment as it is; a fixed-sleep profile pauses
after reset and after each action (capturing the screen after the pause) and before evaluating."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from actions.models import Click, Point
from agent.evaluation.manifest import build_manifest
from agent.evaluation.options import EvalOptions
from agent.evaluation.timing import PROFILES, TimedEnv, TimingProfile, timed
from environments.kinds import EnvConfig, make_env


def test_the_adaptive_default_is_the_environment_itself_and_osworld_sleeps_as_its_runner() -> None:
    env = object()
    assert timed(env, "adaptive") is env
    assert PROFILES["osworld"] == TimingProfile(after_reset=60.0, after_action=2.0, before_evaluate=20.0)
    identity = build_manifest(EvalOptions(tasks=Path("."), timing="osworld"), [], []).identity
    assert identity.timing == "osworld (60 s after reset, 2 s after each action, 20 s before evaluating)"


def test_pauses_happen_where_the_profile_says_and_the_frame_is_captured_after_them() -> None:
    env = make_env(EnvConfig("static", size=(640, 400)))
    profile = TimingProfile(after_reset=0.6, after_action=0.4, before_evaluate=0.3)
    wrapped = TimedEnv(env, profile)
    try:
        started = time.monotonic()
        wrapped.reset()
        assert time.monotonic() - started >= 0.6
        before = env.last_screenshot
        started = time.monotonic()
        result = wrapped.perform(Click(at=Point(x=10, y=10, space="screen")))
        assert result.ok and time.monotonic() - started >= 0.4
        assert env.last_screenshot is not before  # a new capture, after the pause
        assert wrapped.frame == env.frame  # everything else is the environment's own
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="no task"):
            wrapped.evaluate(last_action_failed=False)
        assert time.monotonic() - started >= 0.3
    finally:
        env.close()


def test_waas_profile_and_observation_size_are_part_of_the_run() -> None:
    assert PROFILES["waa"] == TimingProfile(after_reset=60.0, after_action=5.0)
    identity = build_manifest(EvalOptions(tasks=Path("."), timing="waa", rules="waa", observe_size=(1280, 720)),
                              [], []).identity
    assert identity.timing == "waa (60 s after reset, 5 s after each action, 0 s before evaluating)"
    assert (identity.model_extra or {}).items() >= {"rules": "waa", "observe_size": "1280x720"}.items()
    plain = build_manifest(EvalOptions(tasks=Path(".")), [], []).identity
    assert "rules" not in (plain.model_extra or {}) and "observe_size" not in (plain.model_extra or {})


def test_the_model_sees_the_observation_size_and_its_points_map_back_to_the_screen() -> None:
    """WAA's runs show the model 1280×720 of a 1920×1200 screen: a point in the middle of what it sees
    lands in the middle of the screen."""
    from actions.coords import locate
    from agent.episode.run import image_encoding, make_perception

    env = make_env(EnvConfig("static", size=(1920, 1200)))
    try:
        env.reset()
        shot = env.last_screenshot
        encoded, frame = make_perception(image_encoding("replay"), False, 0, (1280, 720)).encode(shot)
        assert (frame.image_width, frame.image_height) == (1280, 720)
        assert locate(Point(x=640, y=360, space="image"), frame).screen == (960, 600)
    finally:
        env.close()
