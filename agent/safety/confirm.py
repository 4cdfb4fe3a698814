"""Asking a person at the terminal before an action is performed."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal, TextIO

ConfirmMode = Literal["never", "risky", "always"]
"""never: ask nobody (actions the policy marks `confirm` are denied); risky: ask for those;
always: ask for every action the policy does not deny."""
Answer = Literal["yes", "no", "nobody"]
"""`nobody`: no person could be asked (no terminal, or --confirm never)."""


@dataclass
class Terminal:
    """Where questions go and answers come from; `None` input means no person can answer."""

    input: TextIO | None
    output: TextIO

    @classmethod
    def controlling(cls) -> Terminal:
        """The terminal the run was started from, if stdin is one (not in eval workers or pipes)."""
        return cls(sys.stdin if sys.stdin is not None and sys.stdin.isatty() else None, sys.stderr)


@dataclass
class Confirmer:
    """Asks per `mode`; every answer other than y/yes is a no."""

    mode: ConfirmMode = "never"
    terminal: Terminal | None = None
    """Default: the controlling terminal, looked up when first needed."""

    def wants(self, verdict: str) -> bool:
        """Whether an action with this policy verdict needs a person's yes."""
        return verdict == "confirm" or (verdict == "allow" and self.mode == "always")

    def ask(self, question: str) -> Answer:
        """Ask `question`; 'nobody' when mode is never or no terminal can answer."""
        if self.mode == "never":
            return "nobody"
        if self.terminal is None:
            self.terminal = Terminal.controlling()
        if self.terminal.input is None:
            return "nobody"
        self.terminal.output.write(f"{question}\nPerform it? [y/N] ")
        self.terminal.output.flush()
        line = self.terminal.input.readline()
        return "yes" if line.strip().lower() in ("y", "yes") else "no"
