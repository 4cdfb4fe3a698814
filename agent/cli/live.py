"""Live feedback for `run`: a start banner with the trajectory folder, and a spinner with the seconds the
model has been thinking (and, when the answer is streamed, the tokens received so far) — on a terminal only;
without one (a pipe, a log file) plain lines, no spinner."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.text import Text

from agent.backends.openai_compat import StreamProgress
from agent.episode.loop import LoopEvents
from agent.episode.run import RunOptions


@dataclass
class _Thinking:
    """The spinner's text, rendered afresh at every refresh so the seconds (and streamed tokens) count up."""

    number: int
    since: float = field(default_factory=time.monotonic)
    progress: StreamProgress | None = None
    """Set as a streamed answer arrives; None: nothing streamed yet (or the server does not stream)."""

    def __rich__(self) -> Text:
        seconds = f"{time.monotonic() - self.since:.1f} s"
        step, p = f"step {self.number}: the model is", self.progress
        if p is None:
            return Text(f"{step} thinking… {seconds}")
        if not p.answering:
            return Text(f"{step} thinking… {seconds}, {_tokens(p.thinking_tokens)}")
        thought = f"{_tokens(p.thinking_tokens)} of thinking, " if p.thinking_tokens else ""
        return Text(f"{step} answering… {seconds}, {thought}{_tokens(p.answer_tokens)}")


def _tokens(count: int) -> str:
    return f"{count} token" if count == 1 else f"{count} tokens"


class LiveFeedback:
    """Prints the banner when the episode starts and shows the spinner while the model thinks."""

    def __init__(self, console: Console, facts: list[tuple[str, str]]) -> None:
        self.console = console
        self.facts = facts
        self._status: Status | None = None
        self._thinking: _Thinking | None = None

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
        self._thinking = _Thinking(index + 1)
        self._status = Status(self._thinking, console=self.console, spinner="dots")
        self._status.start()

    def progress(self, progress: StreamProgress) -> None:
        """A streamed answer's progress, shown by the spinner at its next refresh."""
        if self._thinking is not None:
            self._thinking.progress = progress

    def acting(self, index: int) -> None:
        self.stop()

    def stop(self) -> None:
        """Remove the spinner (before anything asks at the terminal, and when the run ends)."""
        if self._status is not None:
            self._status.stop()
            self._status = None
        self._thinking = None


def run_facts(options: RunOptions) -> list[tuple[str, str]]:
    """The banner's lines for `run`: what answers, where, and on what."""
    if options.backend == "scripted":
        model = f"none: scripted replies from {options.script} (stand-in for {options.model})"
        endpoint = "in this process"
    else:
        model = options.model
        local = f"{options.serve.base_url} (vllm serve, started if nothing answers)"
        endpoint = {"vllm-offline": "vLLM in this process"}.get(options.backend, options.base_url or local)
        endpoint += ", answers streamed" if options.stream and options.backend == "openai" else ""
    env = options.env
    size = f"{env.size[0]}x{env.size[1]}"
    where = {"xvfb": f"{size} virtual desktop", "browser": f"{size} page {env.url}",
             "desktop": f"monitor {env.monitor} of the display in $DISPLAY"}.get(env.kind, env.vm_url or "")
    launch = "".join(f", launching {shlex.join(argv)}" for argv in env.launch)
    return [("instruction", options.instruction), ("model", model), ("endpoint", endpoint),
            ("env", f"{env.kind}: {where}{launch}")]
