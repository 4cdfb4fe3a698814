"""The policy boundary: what a policy is shown (`Observation`), what it returns (`Decision`), and `Policy`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from actions.coords import Frame, PointChain
from actions.models import Action, Step
from agent.backends.chat import Completion
from agent.episode.tokens import PromptCount
from agent.trajectory.store import Attempt, RequestRecord


@dataclass(frozen=True)
class Observation:
    """One screenshot as the model will see it, and what the trajectory calls it."""

    image_url: str
    frame: Frame
    """How the image relates to the screen: every point the model gives is resolved against it."""
    name: str
    """The frame file the trajectory stores the image as."""
    note: str | None = None
    """What the safety guard did with the previous step, shown before the screenshot."""


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one screenshot, with everything needed to record it.

    `screen_actions` are the step's actions resolved once, against the observation's frame:
    the environment performs exactly these, and `chains` (one per action) are how each
    point got there, so the recorded chain is the executed one.
    """

    step: Step | None
    screen_actions: list[Action]
    chains: list[PointChain | None]
    response: Completion
    attempts: list[Attempt]
    request: RequestRecord
    tokens: PromptCount
    model_seconds: float
    parse_seconds: float
    error: str | None = None


class Policy(Protocol):
    """Decides the next step of one episode from each observation (implemented by `KimiPolicy`)."""

    @property
    def instruction(self) -> str: ...

    def decide(self, observation: Observation) -> Decision:
        """The checked step for `observation`; raises `BackendError` when the model cannot be reached."""
        ...


PolicyFactory = Callable[[str], Policy]
"""A new policy for an episode with the given instruction (what an evaluation worker is given)."""
