"""Why a task scored what it did: each metric's score with what its getters returned or raised.

A person reading a 0 needs the metric that gave it, the expected and the actual value. Values
are kept as short reprs: a getter's result can be a file of megabytes or a page's whole
accessibility tree, so a file is named by its path and size and long text is cut, with its
length said. The explanation crosses processes (worker → driver) and is stored in the task's
results, hence a pydantic model.
"""

from __future__ import annotations

import os
import reprlib
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ConfigDict

MAX_REPR = 300
"""Characters of one value's repr kept in an explanation (a long text is cut, its length said)."""


class GetterOutcome(BaseModel):
    """What one getter gave the metric: a short repr of its value, or the exception it raised."""

    model_config = ConfigDict(frozen=True)

    getter: str
    value: str | None = None
    raised: str | None = None
    """`Type: message` of the exception; the value is then None."""

    def text(self) -> str:
        return f"{self.getter} raised {self.raised}" if self.raised else f"{self.getter} → {self.value}"


class MetricExplanation(BaseModel):
    """One metric of the evaluator: its score (None when it did not run) and the values it compared."""

    model_config = ConfigDict(frozen=True)

    index: int
    """From 1, in the order of the evaluator's `func` list."""
    name: str
    score: float | None = None
    actual: GetterOutcome | None = None
    """The result getter's outcome (None: the metric has no result getter, or it was not reached)."""
    expected: GetterOutcome | None = None
    options: str | None = None
    """Short repr of the metric's options, when it has any (some metrics hold their rules there)."""
    note: str = ""
    """Why the score is what it is when the metric did not decide it (a missing file), or why it
    has none (not run)."""

    def text(self) -> str:
        """Two to four lines: the metric and its score, then actual, expected and options."""
        if self.score is None:
            head = self.note or "not run"
        else:
            head = f"{self.score:g}" + (f" ({self.note})" if self.note else "")
        lines = [f"metric {self.index} {self.name}: {head}"]
        if self.actual is not None:
            lines.append(f"  actual   {self.actual.text()}")
        if self.expected is not None:
            lines.append(f"  expected {self.expected.text()}")
        if self.options:
            lines.append(f"  options  {self.options}")
        return "\n".join(lines)


class ScoreExplanation(BaseModel):
    """The task's score and how it came about: the rule that decided it and every metric's part."""

    model_config = ConfigDict(frozen=True)

    score: float
    rule: str
    """How the score follows from the metrics (or why no metric ran: infeasible, a final FAIL)."""
    metrics: list[MetricExplanation] = []
    carried_on: list[str] = []
    """Setup and postconfig steps that failed and were let pass, as the harness's rules say (WAA's)."""

    def text(self) -> str:
        """A readable block for a log: one line for the rule, then each metric, indented."""
        metrics = ("\n".join("  " + line for line in m.text().splitlines()) for m in self.metrics)
        passed = (f"  {line}" for line in self.carried_on)
        return "\n".join([f"score {self.score:g}: {self.rule}", *metrics, *passed])

    def deciding(self) -> list[MetricExplanation]:
        """The metrics a person reading a failure looks at first: those that ran and scored below 1."""
        return [m for m in self.metrics if m.score is not None and m.score < 1.0]


class _ShortRepr(reprlib.Repr):
    """reprlib's cut-down reprs, with files named by path and size and the lengths of cut text."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 160
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 6
        self.maxlevel = 3

    def repr_str(self, x: str, level: int) -> str:
        shown = super().repr_str(x, level)
        cut = f" ({len(x)} characters)" if len(x) > self.maxstring else ""
        return shown + cut + _file_note(x)

    def repr_bytes(self, x: bytes, level: int) -> str:
        return f"<{len(x)} bytes: {x[:24]!r}{'…' if len(x) > 24 else ''}>"

    def repr_PosixPath(self, x: PurePath, level: int) -> str:  # noqa: N802  (reprlib dispatches on the type's name)
        return f"{str(x)!r}{_file_note(str(x))}"


_SHORT = _ShortRepr()


def short_repr(value: Any) -> str:
    """At most about MAX_REPR characters saying what `value` is; a file path gets its size."""
    shown = _SHORT.repr(value)
    return shown if len(shown) <= MAX_REPR else shown[: MAX_REPR - 1] + "…"


def _file_note(text: str) -> str:
    """` (file, N bytes)` when `text` is the absolute path of an existing file (a getter's copy of a
    result file); nothing for any other text."""
    if not text.startswith("/") or "\n" in text or len(text) > 4096:
        return ""
    try:
        return f" (file, {os.path.getsize(text)} bytes)" if os.path.isfile(text) else ""
    except (OSError, ValueError):
        return ""


def exception_text(err: BaseException) -> str:
    """`Type: message`, the message cut like a value's repr."""
    message = str(err)
    if len(message) > MAX_REPR:
        message = message[: MAX_REPR - 1] + "…"
    return f"{type(err).__name__}: {message}" if message else type(err).__name__
