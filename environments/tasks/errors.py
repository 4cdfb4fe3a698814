"""Why a task cannot run: a setup step that failed, or a step, getter or metric this project lacks."""


class SetupError(RuntimeError):
    """A setup step could not be carried out; the message names the step and why."""


class MachineRequestError(RuntimeError):
    """The machine's server answered a request with an error status, or could not be reached: what
    WindowsAgentArena's harness logs and carries on from while setting a task up."""


class UnsupportedError(LookupError):
    """A task needs a setup type, getter or metric this project does not implement."""
