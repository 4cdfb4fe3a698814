"""Gymnasium environments running OSWorld-format tasks: reset runs the setup, the reward is
the evaluator's score when the episode ends (done, fail, or a `ScoredTimeLimit` truncating it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import gymnasium
import pytest

import environments  # noqa: F401  (registers the environments)
from environments.budget import ScoredTimeLimit
from environments.tasks.suite import SUITE

pytestmark = pytest.mark.browser
PRICING = SUITE / "examples" / "chrome" / "open-pricing-page.json"
CLICK_PRICING = json.dumps({"type": "click", "at": {"x": 0.3438, "y": 0.2588, "space": "relative"}})
DONE = json.dumps({"type": "done"})
FAIL = json.dumps({"type": "fail"})


@pytest.fixture
def env() -> Iterator[gymnasium.Env]:
    env = ScoredTimeLimit(gymnasium.make("KimiBrowser-v0", width=1280, height=800), 5)
    yield env
    env.close()


def test_reset_runs_the_setup_and_the_reward_is_the_score_at_the_end(env: gymnasium.Env) -> None:
    observation, _ = env.reset(options={"task": str(PRICING)})
    assert observation["instruction"] == "Open the Pricing page of the Kimi Shop website."
    assert observation["screenshot"].shape == (800, 1280, 3)
    assert env.unwrapped.page.url.endswith("/site/index.html")  # opened by chrome_open_tabs

    _, reward, terminated, truncated, info = env.step(CLICK_PRICING)
    assert (reward, terminated, truncated) == (0.0, False, False) and info["result"].ok
    _, reward, terminated, truncated, info = env.step(DONE)
    assert (reward, terminated, truncated, info["score"]) == (1.0, True, False, 1.0)


def test_an_unsolved_episode_scores_zero_and_a_final_fail_scores_zero(env: gymnasium.Env) -> None:
    env.reset(options={"task": str(PRICING)})
    assert env.step(DONE)[1] == 0.0
    env.reset(options={"task": str(PRICING)})
    env.step(CLICK_PRICING)
    _, reward, terminated, _, _ = env.step(FAIL)
    assert (reward, terminated) == (0.0, True)


def test_running_out_of_steps_is_truncated_and_scored() -> None:
    env = ScoredTimeLimit(gymnasium.make("KimiBrowser-v0", width=1280, height=800), 1)
    try:
        env.reset(options={"task": str(PRICING)})
        _, reward, terminated, truncated, info = env.step(CLICK_PRICING)
        assert (reward, terminated, truncated, info["score"]) == (1.0, False, True, 1.0)
    finally:
        env.close()


def test_each_reset_starts_the_task_afresh(env: gymnasium.Env) -> None:
    env.reset(options={"task": str(PRICING)})
    home = env.unwrapped.task_session.workdir
    env.step(CLICK_PRICING)
    env.reset(options={"task": str(PRICING)})
    assert not home.exists() and env.unwrapped.task_session.workdir != home
    assert env.unwrapped.page.url.endswith("/site/index.html")
    assert len(env.unwrapped.page.context.pages) == 1


def test_invalid_actions_never_raise_during_a_task(env: gymnasium.Env) -> None:
    env.reset(options={"task": str(PRICING)})
    _, reward, terminated, _, info = env.step('{"type": "click", "at": {"x": "nan"}}')
    assert (reward, terminated) == (0.0, False) and info["result"].error
