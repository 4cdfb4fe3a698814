"""The Kimi-VL policy: screenshot + history → request → reply → a checked `Step` in screen space."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from actions.coords import Frame, PointChain, to_screen
from actions.errors import ActionError
from actions.models import Action, Step
from actions.parser import parse_reply
from agent.backends.base import Backend
from agent.backends.chat import Completion, Message, Sampling
from agent.episode.history import History, HistoryConfig
from agent.episode.tokens import PromptCount, Segment, count_prompt, segments
from agent.trajectory.store import Attempt
from prompts import agent_system_prompt, agent_task_text, feedback_text

Variant = Literal["thinking", "instruct"]


@dataclass(frozen=True)
class PolicyConfig:
    model: str
    variant: Variant
    sampling: Sampling
    max_patches: int
    """The checkpoint's image limit in 14-px patches (for token accounting)."""
    max_attempts: int = 3
    """Replies asked for per step; every rejected one is fed back with the reason."""
    history: HistoryConfig = HistoryConfig()


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one screenshot, with everything needed to record it."""

    step: Step | None
    screen_actions: list[Action]
    chains: list[PointChain | None]
    response: Completion
    attempts: list[Attempt]
    request: list[Message]
    tokens: PromptCount
    model_seconds: float
    parse_seconds: float
    error: str | None = None


@dataclass
class KimiPolicy:
    """Asks the backend for each step and checks the reply before anything is executed."""

    backend: Backend
    config: PolicyConfig
    instruction: str
    history: History = field(init=False)
    _previous: list[Segment] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.history = History(
            system=agent_system_prompt(self.config.variant),
            task=agent_task_text(self.instruction),
            config=self.config.history,
        )

    def decide(self, image_url: str, frame: Frame, name: str, note: str | None = None) -> Decision:
        """Show the model the screenshot at `image_url` (of `frame`) and return its checked step.

        `note` (what the safety guard did with the previous step) is shown before the
        screenshot. Raises `BackendError` when the model cannot be reached; a reply that
        cannot be used is fed back up to `max_attempts` times, then reported in `Decision.error`.
        """
        self.history.observe(image_url, (frame.image_width, frame.image_height), name, note)
        attempts: list[Attempt] = []
        model_seconds = parse_seconds = 0.0
        feedback: str | None = None
        tokens: PromptCount | None = None
        for _ in range(self.config.max_attempts):
            messages = self.history.messages(feedback)
            current = segments(messages, self.history.image_sizes(), self.config.max_patches)
            count = count_prompt(current, self._previous)
            tokens = tokens or count
            self._previous = current
            started = time.perf_counter()
            completion = self.backend.complete(messages, self.config.sampling)
            model_seconds += time.perf_counter() - started
            started = time.perf_counter()
            try:
                step, screen_actions, chains = self._check(completion, frame)
            except ActionError as err:
                parse_seconds += time.perf_counter() - started
                attempts.append(Attempt(response=completion, error=str(err)))
                feedback = feedback_text(str(err))
                continue
            parse_seconds += time.perf_counter() - started
            request = self._recorded(feedback)
            self.history.answer(completion.text)
            return Decision(
                step, screen_actions, chains, completion, attempts, request, tokens,
                model_seconds, parse_seconds,
            )
        return Decision(
            None, [], [], completion, attempts[:-1], self._recorded(feedback), tokens,
            model_seconds, parse_seconds, error=attempts[-1].error,
        )

    def _recorded(self, feedback: str | None) -> list[Message]:
        """The last request as sent, images named by frame file instead of their bytes."""
        return self.history.messages(feedback, names=True)

    @staticmethod
    def _check(completion: Completion, frame: Frame) -> tuple[Step, list[Action], list[PointChain | None]]:
        if completion.cut_off:
            raise ActionError(
                "the reply was cut off at max_tokens before it finished; answer more briefly"
            )
        step = parse_reply(completion.text)
        resolved = [to_screen(action, frame) for action in step.actions]
        return step, [a for a, _ in resolved], [c for _, c in resolved]
