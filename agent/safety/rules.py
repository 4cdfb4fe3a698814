"""The action policy as a file holds it: rules with a verdict, matchers, and a per-episode budget.

A policy is a TOML file. Each `[[rules]]` entry matches an action when every matcher it
sets matches (a rule with no matchers matches every action):
  kinds   action types ("click", "type", "hotkey", "press", "key_down", "scroll", ...)
  keys    key combinations ("ctrl+alt+delete"); a combination matches a chord that holds all
          of its keys (so "ctrl+alt+f1" also matches ctrl+alt+shift+f1)
  text    regular expressions searched in the text of a `type` action
  region  [left, top, right, bottom] in screen pixels: the coordinates the executor clicks,
          after the model's point went through the coordinate chain (logical points plus
          the monitor's offset); right and bottom are exclusive
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from actions.errors import first_error
from actions.keys import UnknownKeyError, canonical_key

Verdict = Literal["allow", "confirm", "deny"]
SEVERITY: dict[Verdict, int] = {"allow": 0, "confirm": 1, "deny": 2}
"""When several rules match, the highest wins: deny > confirm > allow."""

ActionKind = Literal[
    "click", "move", "drag", "scroll", "type", "press", "hotkey", "key_down", "key_up",
    "mouse_down", "mouse_up", "wait", "done", "fail",
]

# pyautogui's table has several names for one physical key; a rule written with one must
# match an action written with another.
_SAME_KEY: dict[str, str] = {
    "del": "delete", "esc": "escape", "return": "enter", "pgup": "pageup", "pgdn": "pagedown",
    "print": "printscreen", "prntscrn": "printscreen", "prtsc": "printscreen", "prtscr": "printscreen",
    "ctrlleft": "ctrl", "ctrlright": "ctrl", "altleft": "alt", "altright": "alt",
    "shiftleft": "shift", "shiftright": "shift", "winleft": "win", "winright": "win",
    "optionleft": "option", "optionright": "option",
}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


def key_name(name: str) -> str:
    """One name per physical key: canonical, lower case, left/right and synonyms folded."""
    key = canonical_key(name)
    key = key.lower() if len(key) == 1 else key
    return _SAME_KEY.get(key, key)


def parse_combo(text: str) -> frozenset[str]:
    """'Ctrl+Alt+Del' → {'ctrl', 'alt', 'delete'}; raises `UnknownKeyError` or `ValueError`."""
    parts = [p.strip() for p in text.split("+")]
    if not text.strip() or any(not p for p in parts):
        raise ValueError(f"{text!r} is not a key combination; write keys joined by '+', e.g. 'ctrl+alt+delete'")
    return frozenset(key_name(p) for p in parts)


class Region(BaseModel):
    """A rectangle in screen pixels; `right` and `bottom` are exclusive."""

    model_config = ConfigDict(frozen=True)
    left: int
    top: int
    right: int
    bottom: int

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom


class Rule(BaseModel):
    """One rule: the verdict for the actions every set matcher matches."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = ""
    verdict: Verdict
    reason: str = ""
    kinds: frozenset[ActionKind] | None = None
    keys: tuple[frozenset[str], ...] | None = None
    text: tuple[re.Pattern[str], ...] | None = None
    region: Region | None = None

    @field_validator("keys", mode="before")
    @classmethod
    def _combos(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        combos = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"each key combination is a string like 'ctrl+alt+delete', not {item!r}")
            try:
                combos.append(parse_combo(item))
            except UnknownKeyError as err:
                raise ValueError(f"{item!r}: {err}") from None
        return tuple(combos)

    @field_validator("text", mode="before")
    @classmethod
    def _patterns(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        patterns = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"each text pattern is a string (a Python regular expression), not {item!r}")
            try:
                patterns.append(re.compile(item))
            except re.error as err:
                raise ValueError(f"{item!r} is not a valid regular expression: {err}") from None
        return tuple(patterns)

    @field_validator("region", mode="before")
    @classmethod
    def _rectangle(cls, value: object) -> object:
        if isinstance(value, list):
            if len(value) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise ValueError("a region is [left, top, right, bottom] in whole screen pixels")
            left, top, right, bottom = value
            if right <= left or bottom <= top:
                raise ValueError("a region needs right > left and bottom > top")
            return Region(left=left, top=top, right=right, bottom=bottom)
        return value

    @property
    def label(self) -> str:
        """How events and messages name this rule."""
        return self.name or "unnamed rule"


class Policy(BaseModel):
    """A whole policy: its rules, the verdict when none matches, and the action budget."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_actions: int | None = Field(None, ge=1)
    """Actions one episode may perform; None means no limit."""
    default: Verdict = "allow"
    rules: tuple[Rule, ...] = ()


DEFAULT_POLICY = Path(__file__).with_name("default_policy.toml")
SANDBOX_POLICY = Path(__file__).with_name("sandbox_policy.toml")


def load_policy(path: Path) -> Policy:
    """Read a policy file; raises `PolicyError` naming the file and the field that is wrong."""
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as err:
        raise PolicyError(f"{path}: cannot read the policy file: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise PolicyError(f"{path}: the policy file is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{path}: not valid TOML: {err}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        problem = first_error(err, top="(top level)")
        raise PolicyError(f"{path}: {problem}; see agent/safety/default_policy.toml for the format") from None


def default_policy() -> Policy:
    """The shipped policy (agent/safety/default_policy.toml)."""
    return load_policy(DEFAULT_POLICY)


def sandbox_policy() -> Policy:
    """The shipped policy for evaluations on disposable environments (agent/safety/sandbox_policy.toml)."""
    return load_policy(SANDBOX_POLICY)
