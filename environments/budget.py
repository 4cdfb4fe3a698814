"""A step limit for Gymnasium callers that scores the task when it truncates the episode.

The environments count no steps themselves (the agent loop keeps its own budget). Gymnasium's
`TimeLimit` truncates with the last step's reward, 0; OSWorld scores an episode that ran out of
steps like any other, so this limit asks the task's evaluator for the reward instead.
"""

from __future__ import annotations

from typing import Any

from gymnasium.wrappers import TimeLimit


class ScoredTimeLimit(TimeLimit):
    """`TimeLimit(env, max_steps)` whose truncating step carries the task's score (reward and `info["score"]`)."""

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(action)
        env = self.env.unwrapped
        if truncated and not terminated and getattr(env, "task_session", None) is not None:
            reward = info["score"] = env.evaluate(last_action_failed=False)
        return observation, reward, terminated, truncated, info
