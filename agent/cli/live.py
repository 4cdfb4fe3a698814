"""Live feedback for `run`: a start banner with the trajectory folder, and a spinner with the seconds the
model has been thinking — on a terminal only; without one (a pipe, a log file) plain lines, no spinner."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.text import Text

from agent.episode.loop import LoopEvents
from agent.episode.run import RunOptions


@dataclass
class _Thinking:
    """The spinner's text, rendered afresh at every refresh so the seconds count up."""

    number: int
    since: float = field(default_factory=time.monotonic)

    def __rich__(self) -> Text:
        return Text(f"step {self.number}: the model is thinking… {time.monotonic() - self.since:.1f} s")


class LiveFeedback:
    """Prints the banner when the episode starts and shows the spinner while the model thinks."""

    def __init__(self, console: Console, facts: list[tuple[str, str]]) -> None:
        self.console = console
        self.facts = facts
        self._status: Status | None = None

    @property
    def events(self) -> LoopEvents:
        return LoopEvents(started=self.started, thinking=self.thinking, acting=self.acting)

    def started(self, folder: Path) -> None:
        width = max(len(name) for name, _ in [*self.facts, ("trajectory", "")])
        for name, value in [*self.facts, ("trajectory", str(folder))]:
            self.console.print(f"[dim]{name:<{width}}[/dim] {escape(value)}", highlight=False, soft_wrap=True)

    def thinking(self, index: int) -> None:
        if not self.console.is_terminal:
            return
        self.stop()
        self._status = Status(_Thinking(index + 1), console=self.console, spinner="dots")
        self._status.start()

    def acting(self, index: int) -> None:
        self.stop()

    def stop(self) -> None:
        """Remove the spinner (before anything asks at the terminal, and when the run ends)."""
        if self._status is not None:
            self._status.stop()
            self._status = None


def run_facts(options: RunOptions) -> list[tuple[str, str]]:
    """The banner's lines for `run`: what answers, where, and on what."""
    if options.backend == "scripted":
        model = f"none: scripted replies from {options.script} (stand-in for {options.model})"
        endpoint = "in this process"
    else:
        model = options.model
        local = "http://127.0.0.1:8000/v1 (vllm serve, started if nothing answers)"
        endpoint = {"vllm-offline": "vLLM in this process"}.get(options.backend, options.base_url or local)
    env = options.env
    size = f"{env.size[0]}x{env.size[1]}"
    where = {"xvfb": f"{size} virtual desktop", "browser": f"{size} page {env.url}",
             "desktop": f"monitor {env.monitor} of the display in $DISPLAY"}.get(env.kind, env.vm_url or "")
    launch = "".join(f", launching {shlex.join(argv)}" for argv in env.launch)
    return [("instruction", options.instruction), ("model", model), ("endpoint", endpoint),
            ("env", f"{env.kind}: {where}{launch}")]
