"""All safety guards of one run, and their state over one episode, as the loop consults them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from actions.describe import describe_action
from actions.models import Action, Done, Fail
from agent.safety.check import PolicyChecker, held_after
from agent.safety.confirm import Confirmer
from agent.safety.panic import PanicSignal
from agent.safety.rules import Policy, Rule, default_policy
from agent.safety.runaway import RunawayConfig, RunawayWatch, Trigger
from agent.trajectory.store import GuardEvent
from prompts import guard_note_text


@dataclass(frozen=True)
class Guards:
    """What guards a run: the policy, who confirms, runaway limits and the panic signal."""

    policy: Policy = field(default_factory=default_policy)
    confirm: Confirmer = field(default_factory=Confirmer)
    runaway: RunawayConfig = RunawayConfig()
    panic: PanicSignal | None = None

    def episode(self) -> EpisodeGuard:
        """Fresh per-episode state (action count, runaway counters, pending notes)."""
        return EpisodeGuard(self)


@dataclass(frozen=True)
class Review:
    """The guards' answer for a step before it is performed."""

    events: list[GuardEvent]
    perform: bool


class EpisodeGuard:
    """Guards one episode: reviews each step, counts actions, watches for runaways, collects notes."""

    def __init__(self, guards: Guards) -> None:
        self.guards = guards
        extra = []
        if guards.panic is not None:
            extra.append(Rule(
                name="panic-key", verdict="deny", keys=(guards.panic.combo,),
                reason=f"{guards.panic.keys} is the panic key that stops this run",
            ))
        self.checker = PolicyChecker(guards.policy, extra)
        self.watch = RunawayWatch(guards.runaway)
        self.performed = 0
        self.held: frozenset[str] = frozenset()
        """Keys performed `key_down`s left held (checked as part of every later chord)."""
        self._reviewed: Sequence[Action] = ()
        self._notes: list[str] = []

    def take_note(self) -> str | None:
        """The text for the model about its previous step, once; None when there is nothing to say."""
        notes, self._notes = self._notes, []
        return guard_note_text(notes) if notes else None

    def panicked(self) -> GuardEvent | None:
        """A stop event if the panic key has been pressed."""
        panic = self.guards.panic
        if panic is None or not panic.pressed:
            return None
        return GuardEvent(kind="panic", verdict="stop", reason=f"the panic key {panic.keys} was pressed")

    def review(self, actions: Sequence[Action]) -> Review:
        """Decide whether a step's actions are performed, before any of them is.

        A step is performed whole or not at all: one denied or unconfirmed action holds
        back the step, and the model is told why in its next request.
        """
        self._reviewed = actions
        panic = self.panicked()
        if panic is not None:
            return Review([panic], False)
        trigger = self.watch.before(actions)
        if trigger is not None:
            return self._runaway(trigger, performed=False)
        checks = self.checker.check_step(actions, self.held)
        denied = [
            GuardEvent(kind="policy", verdict="deny", action=i, rule=c.rule, reason=c.reason)
            for i, c in enumerate(checks) if c.verdict == "deny"
        ]
        if denied:
            self._notes.extend(f"{_what(actions, e.action)} was denied: {e.reason}." for e in denied)
            self._notes.append(_NOT_PERFORMED)
            return Review(denied, False)
        limit = self.guards.policy.max_actions
        if limit is not None and self.performed + _counted(actions) > limit:
            reason = f"action budget: the policy allows {limit} actions per episode and {self.performed} were performed"
            return Review([GuardEvent(kind="budget", verdict="stop", reason=reason)], False)
        events: list[GuardEvent] = []
        confirm = self.guards.confirm
        for i, (action, check) in enumerate(zip(actions, checks)):
            if not confirm.wants(check.verdict) or (check.verdict == "allow" and isinstance(action, (Done, Fail))):
                continue
            why = check.reason if check.verdict == "confirm" else "--confirm always"
            answer = confirm.ask(f"The agent wants to {describe_action(action, text_limit=None)} ({why}).")
            events.append(GuardEvent(kind="policy", verdict="confirm", action=i, rule=check.rule, reason=why, answer=answer))
            if answer != "yes":
                refusal = "a person declined it" if answer == "no" else _NOBODY[confirm.mode]
                self._notes.append(f"{_what(actions, i)} needs a person's confirmation ({why}) and {refusal}.")
                self._notes.append(_NOT_PERFORMED)
                return Review(events, False)
        return Review(events, True)

    def after(self, performed: int, changed: bool | None) -> Review | None:
        """Account for a step's effect; a review with `stop` ends the episode."""
        self.performed += performed
        self.held = held_after(self._reviewed[:performed], self.held)
        trigger = self.watch.after(performed, changed)
        return None if trigger is None else self._runaway(trigger, performed=True)

    def _runaway(self, trigger: Trigger, performed: bool) -> Review:
        event = GuardEvent(kind=trigger.kind, verdict=trigger.verdict, reason=trigger.reason)
        if trigger.verdict == "stop":
            return Review([event], False)
        advice = "Try a different approach; if the task cannot be done, say so with computer.terminate(status='failure')."
        held = "" if performed else " Your last step was not performed."
        self._notes.append(f"{trigger.reason[0].upper()}{trigger.reason[1:]}.{held} {advice}")
        return Review([event], performed)


def holds_back(event: GuardEvent) -> bool:
    """Whether this event kept its step's actions from being performed."""
    return (
        event.verdict == "deny"
        or (event.verdict == "confirm" and event.answer != "yes")
        or (event.kind == "repeat" and event.verdict == "warn")
    )


def held_back(events: Sequence[GuardEvent]) -> bool:
    """Whether these events kept a step from being performed (so its done/fail does not count)."""
    return any(holds_back(e) for e in events)


_NOT_PERFORMED = "None of your last step's actions were performed; the screenshot shows the screen as it is."
_NOBODY = {
    "never": "this run asks nobody (--confirm never), so it was refused",
    "risky": "no person can answer here (stdin is not a terminal), so it was refused",
    "always": "no person can answer here (stdin is not a terminal), so it was refused",
}


def _what(actions: Sequence[Action], index: int | None) -> str:
    action = actions[index] if index is not None else None
    return f"Action {index + 1} ({describe_action(action, text_limit=80)})" if action is not None and index is not None else "The step"


def _counted(actions: Sequence[Action]) -> int:
    """Actions that count against the budget: everything but ending the episode."""
    return sum(not isinstance(a, (Done, Fail)) for a in actions)
