"""The one protocol every model backend implements, and its typed errors."""

from __future__ import annotations

from typing import Protocol, Sequence

from agent.backends.chat import Completion, Message, Sampling


class Backend(Protocol):
    """Something that answers a chat request: a vLLM server, an in-process model, a replay."""

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        """Answer `messages`; raise a `BackendError` subclass when no answer can be had."""
        ...


class BackendError(RuntimeError):
    """No completion could be obtained; the message says what to do."""


class BackendUnavailable(BackendError):
    """The server could not be reached (refused, reset, DNS) after the allowed retries."""


class BackendTimeout(BackendError):
    """The server did not answer in time after the allowed retries."""


class BackendResponseError(BackendError):
    """The server answered, but with an error status or a body that is not a chat completion."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ScriptExhausted(BackendError):
    """A replay backend was asked for more replies than the recording holds."""
