"""`KimiPolicy`, the `Policy` for Kimi checkpoints: screenshot + history → request → reply → checked Step."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from actions.coords import Frame, PointChain, to_screen
from actions.errors import ActionError
from actions.models import Action, Step
from actions.parser import parse_parts
from actions.reply import split_reply
from agent.backends.base import Backend
from agent.backends.chat import Completion, Sampling
from agent.episode.history import History, HistoryConfig
from agent.episode.protocol import Decision, Observation
from agent.episode.tokens import PromptCount, Segment, count_prompt, segments
from agent.trajectory.store import Attempt, RequestRecord
from prompts import Variant, agent_system_prompt, agent_task_text, feedback_text


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

    def decide(self, observation: Observation) -> Decision:
        """Show the model the observation's screenshot and return its checked step.

        The observation's note is shown before the screenshot. Raises `BackendError` when the
        model cannot be reached; a reply that cannot be used is fed back up to `max_attempts`
        times, then reported in `Decision.error`.
        """
        frame = observation.frame
        size = (frame.image_width, frame.image_height)
        self.history.observe(observation.image_url, size, observation.name, observation.note)
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
                step, code = _checked(completion)
                screen_actions, chains = resolve(step, frame)
            except ActionError as err:
                parse_seconds += time.perf_counter() - started
                attempts.append(Attempt(response=completion, error=str(err)))
                feedback = feedback_text(str(err))
                continue
            parse_seconds += time.perf_counter() - started
            request = self._recorded(feedback)
            self.history.answer(step, code)
            return Decision(
                step, screen_actions, chains, completion, attempts, request, tokens,
                model_seconds, parse_seconds,
            )
        return Decision(
            None, [], [], completion, attempts[:-1], self._recorded(feedback), tokens,
            model_seconds, parse_seconds, error=attempts[-1].error,
        )

    def _recorded(self, feedback: str | None) -> RequestRecord:
        """The last request as sent, images named by frame file instead of their bytes."""
        return RequestRecord(
            model=self.config.model, messages=self.history.messages(feedback, names=True),
            sampling=self.config.sampling,
        )


def read_reply(text: str) -> tuple[Step, str]:
    """The reply split once: its `Step`, and the code text the actions were read from (for history)."""
    parts = split_reply(text)
    return parse_parts(parts), parts.code


def resolve(step: Step, frame: Frame) -> tuple[list[Action], list[PointChain | None]]:
    """Each action with its point resolved to `screen` space against `frame`, and the chain that got it so."""
    resolved = [to_screen(action, frame) for action in step.actions]
    return [a for a, _ in resolved], [c for _, c in resolved]


def _checked(completion: Completion) -> tuple[Step, str]:
    if completion.cut_off:
        raise ActionError(
            "the reply was cut off at max_tokens before it finished; answer more briefly"
        )
    step, code = read_reply(completion.text)
    if not step.thought and completion.reasoning.strip():
        # A server with a reasoning parser (vLLM's kimi_k2 for Kimi-K2.5) returns the thinking
        # in `reasoning_content`, not in the text: it is the step's thought all the same.
        step = step.model_copy(update={"thought": completion.reasoning.strip()})
    return step, code
