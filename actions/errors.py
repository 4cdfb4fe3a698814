"""Typed errors of the actions package; each message can be shown to the model as is."""


class ActionError(ValueError):
    """Base class: a reply or an action that cannot be performed as given."""


class ParseError(ActionError):
    """A model reply that does not yield a valid step; the message says why."""


class CoordinateError(ActionError):
    """A point that is not a finite location on (or just at the edge of) the screen."""
