"""Evaluating typed screen-space actions against a policy: one verdict per action, with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actions.coords import point_of
from actions.models import Action, Hotkey, KeyDown, KeyUp, Press, TypeText
from agent.safety.rules import SEVERITY, Policy, Rule, Verdict, key_name

DESCRIBED_TEXT = 80
"""Characters of typed text quoted when an action is described to the model or a person."""


@dataclass(frozen=True)
class Check:
    """The verdict for one action: which rule decided it (None: the policy's default) and why."""

    verdict: Verdict
    rule: str | None
    reason: str


def chords(actions: Sequence[Action]) -> list[list[frozenset[str]]]:
    """For each action, the key sets it holds down at once.

    A hotkey is one chord; each key of `press` is a chord with whatever `key_down` still
    holds; `key_down` adds its key to the held ones, so a chord built key by key across a
    step is seen as a whole.
    """
    held: set[str] = set()
    out: list[list[frozenset[str]]] = []
    for action in actions:
        match action:
            case Hotkey():
                out.append([frozenset(held | {key_name(k) for k in action.keys})])
            case Press():
                out.append([frozenset(held | {key_name(k)}) for k in dict.fromkeys(action.keys)])
            case KeyDown():
                held.add(key_name(action.key))
                out.append([frozenset(held)])
            case KeyUp():
                held.discard(key_name(action.key))
                out.append([])
            case _:
                out.append([])
    return out


def matches(rule: Rule, action: Action, held: Sequence[frozenset[str]]) -> bool:
    """Whether every matcher `rule` sets matches `action` (whose chords are `held`)."""
    if rule.kinds is not None and action.type not in rule.kinds:
        return False
    if rule.keys is not None and not any(combo <= chord for combo in rule.keys for chord in held):
        return False
    if rule.text is not None and not (
        isinstance(action, TypeText) and any(p.search(action.text) for p in rule.text)
    ):
        return False
    if rule.region is not None:
        point = point_of(action)
        # Without a point the action happens wherever the pointer is: a region cannot say.
        if point is None or point.space != "screen" or not rule.region.contains(point.x, point.y):
            return False
    return True


class PolicyChecker:
    """A policy plus rules the run adds (the panic key), ready to check a step's actions."""

    def __init__(self, policy: Policy, extra: Sequence[Rule] = ()) -> None:
        self.policy = policy
        self.rules: tuple[Rule, ...] = (*policy.rules, *extra)

    def check_step(self, actions: Sequence[Action]) -> list[Check]:
        """One `Check` per action, in order."""
        return [self._check(action, held) for action, held in zip(actions, chords(actions))]

    def _check(self, action: Action, held: Sequence[frozenset[str]]) -> Check:
        strictest: Rule | None = None
        for rule in self.rules:
            if matches(rule, action, held) and (strictest is None or SEVERITY[rule.verdict] > SEVERITY[strictest.verdict]):
                strictest = rule
        if strictest is None:
            return Check(self.policy.default, None, f"no rule matched; the policy's default is {self.policy.default}")
        return Check(strictest.verdict, strictest.label, strictest.reason or f"rule {strictest.label!r}")


def describe(action: Action) -> str:
    """A short, human-readable description of a screen action."""
    point = point_of(action)
    where = f" at ({point.x:g}, {point.y:g})" if point is not None else ""
    match action:
        case TypeText():
            text = action.text if len(action.text) <= DESCRIBED_TEXT else action.text[:DESCRIBED_TEXT] + "…"
            return f"type {text!r}"
        case Hotkey():
            return "hotkey " + "+".join(action.keys)
        case Press():
            return "press " + ", ".join(action.keys) + (f" ×{action.presses}" if action.presses > 1 else "")
        case KeyDown() | KeyUp():
            return f"{action.type} {action.key}"
        case _:
            return f"{action.type}{where}"
