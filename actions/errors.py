"""Typed errors of the actions package; each message can be shown to the model as is."""

from __future__ import annotations

from pydantic import ValidationError


class ActionError(ValueError):
    """Base class: a reply or an action that cannot be performed as given."""


class ParseError(ActionError):
    """A model reply that does not yield a valid step; the message says why."""


class CoordinateError(ActionError):
    """A point that is not a finite location on (or just at the edge of) the screen."""


class ExecutionError(ActionError):
    """An action that could not be performed; the message says why."""


class FailSafeTriggered(RuntimeError):
    """pyautogui's corner fail-safe fired: the pointer is in a screen corner (on a person's desktop,
    the way to stop the run; the agent's own clicks are clamped there too, which this cannot tell apart).

    Not an `ActionError`: the environment must not report it as one failed action; it ends
    the episode (the loop records it as stopped).
    """


def first_error(err: Exception, top: str = "") -> str:
    """One line for a user or the model: `loc.path: msg` of a pydantic error's first problem.

    `top` names the place when the problem is the whole value (an empty location); other
    exceptions give the first line of their text, or their type's name when it is empty.
    """
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or top
        # pydantic puts "Value error, " before a validator's own message; it tells the reader nothing
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
