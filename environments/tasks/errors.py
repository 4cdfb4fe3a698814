"""Why a task cannot run: a setup step that failed, or a step, getter or metric this project lacks."""


class SetupError(RuntimeError):
    """A setup step could not be carried out; the message names the step and why."""


class UnsupportedError(LookupError):
    """A task needs a setup type, getter or metric this project does not implement."""
