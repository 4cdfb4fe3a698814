"""Evaluating typed screen-space actions against a policy: one verdict per action, with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from actions.coords import point_of
from actions.keys import UnknownKeyError
from actions.models import Action, Hotkey, KeyDown, KeyUp, Press, TypeText
from agent.safety.rules import SEVERITY, Policy, Rule, Verdict, key_name


@dataclass(frozen=True)
class Check:
    """The verdict for one action: which rule decided it (None: the policy's default) and why."""

    verdict: Verdict
    rule: str | None
    reason: str


def chords(actions: Sequence[Action], held: Iterable[str] = ()) -> list[list[frozenset[str]]]:
    """For each action, the key sets it holds down at once, starting with the keys `held` by
    earlier steps (a `key_down` stays down until a `key_up`, across steps).

    A hotkey is one chord; each key of `press` is a chord with whatever `key_down` still
    holds; `key_down` adds its key to the held ones, so a chord built key by key is seen as a
    whole; text typed while keys are held presses each character with them (`win` + typing
    "l" locks the screen, and a typed backspace under ctrl+alt is ctrl+alt+backspace).
    """
    down = set(held)
    out: list[list[frozenset[str]]] = []
    for action in actions:
        match action:
            case Hotkey():
                out.append([frozenset(down | {key_name(k) for k in action.keys})])
            case Press():
                out.append([frozenset(down | {key_name(k)}) for k in dict.fromkeys(action.keys)])
            case KeyDown():
                down.add(key_name(action.key))
                out.append([frozenset(down)])
            case KeyUp():
                down.discard(key_name(action.key))
                out.append([])
            case TypeText() if down:
                typed = (_typed_key(c) for c in dict.fromkeys(action.text))
                out.append([frozenset(down | {key}) for key in typed if key is not None])
            case _:
                out.append([])
    return out


def held_after(actions: Sequence[Action], held: Iterable[str] = ()) -> frozenset[str]:
    """The keys still held down once `actions` have been performed."""
    down = set(held)
    for action in actions:
        if isinstance(action, KeyDown):
            down.add(key_name(action.key))
        elif isinstance(action, KeyUp):
            down.discard(key_name(action.key))
    return frozenset(down)


_TYPED_KEYS = {"\b": "backspace", "\n": "enter", "\r": "enter", "\t": "tab"}


def _typed_key(char: str) -> str | None:
    """The key typing `char` presses (None for characters no key table names: typed another way)."""
    if char in _TYPED_KEYS:
        return _TYPED_KEYS[char]
    try:
        return key_name(char)
    except UnknownKeyError:
        return None


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

    def check_step(self, actions: Sequence[Action], held: Iterable[str] = ()) -> list[Check]:
        """One `Check` per action, in order; `held`: keys earlier steps left held down."""
        return [self._check(action, chord) for action, chord in zip(actions, chords(actions, held))]

    def _check(self, action: Action, held: Sequence[frozenset[str]]) -> Check:
        strictest: Rule | None = None
        for rule in self.rules:
            if matches(rule, action, held) and (strictest is None or SEVERITY[rule.verdict] > SEVERITY[strictest.verdict]):
                strictest = rule
        if strictest is None:
            return Check(self.policy.default, None, f"no rule matched; the policy's default is {self.policy.default}")
        return Check(strictest.verdict, strictest.label, strictest.reason or f"rule {strictest.label!r}")
