"""One line of terminal markup for a finished step; the actions are described by `actions.describe`."""

from __future__ import annotations

from rich.markup import escape

from actions.describe import describe_action
from agent.trajectory.store import StepRecord


def describe_step(record: StepRecord) -> str:
    """One line of rich markup for a finished step."""
    chains = record.coordinates + [None] * (len(record.actions) - len(record.coordinates))
    actions = ", ".join(describe_action(a, c) for a, c in zip(record.actions, chains)) or "-"
    status = "" if record.execution.ok else f" [red]({escape(record.execution.error or '')})[/red]"
    note = f" [red]error: {escape(record.error)}[/red]" if record.error else ""
    return (
        f"[bold]step {record.index + 1}[/bold] {escape(record.intent or '(no intent)')} "
        f"[cyan]{escape(actions)}[/cyan] [dim]model {record.timings.model:.2f}s[/dim]{status}{note}"
    )
