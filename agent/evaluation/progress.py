"""The live state of an eval run for its display: counts by status, running tasks, ETA and running score."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agent.evaluation.results import STATUSES, TaskResult


@dataclass
class Progress:
    total: int = 0
    """Every scheduled task (known before the first episode)."""
    pending: int = 0
    """Tasks this invocation runs (the others were scored earlier, or are unsupported/unloadable)."""
    workers: int = 1
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    score: float = 0.0
    running: dict[str, float] = field(default_factory=dict)
    """'domain/id' → monotonic start time."""
    durations: list[float] = field(default_factory=list)
    """Seconds of each task run (not resumed) by this invocation."""
    ran: int = 0

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def start(self, name: str) -> None:
        self.running[name] = time.monotonic()

    def finish(self, result: TaskResult) -> None:
        started = self.running.pop(f"{result.domain}/{result.task_id}", None)
        self.counts[result.status] += 1
        self.score += result.score or 0.0
        if started is not None:
            self.ran += 1
            self.durations.append(time.monotonic() - started)

    def eta(self) -> float | None:
        """Seconds left: the tasks still to run, `workers` at a time, at the mean duration so far
        (less what the running ones have already spent). None before the first task ends."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        now = time.monotonic()
        left = max(0, self.pending - self.ran - len(self.running))
        in_flight = sum(max(0.0, mean - (now - t)) for t in self.running.values())
        return (left * mean + in_flight) / max(1, min(self.workers, left + len(self.running)))


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
