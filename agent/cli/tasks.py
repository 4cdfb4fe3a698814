"""`kimi-agent tasks …`: inspecting OSWorld-format task files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Inspect OSWorld-format task files.", no_args_is_help=True)
console = Console()


@app.command(epilog="Example: kimi-agent tasks check OSWorld/evaluation_examples/test_all.json")
def check(
    path: Annotated[Path, typer.Argument(
        help="A task file, a folder of them, or an index file ({domain: \\[ids]}).")],
    examples: Annotated[Optional[Path], typer.Option(
        help="Folder an index file's ids resolve in (default: examples/ beside it).")] = None,
    missing: Annotated[int, typer.Option(help="How many unimplemented names to list.")] = 15,
) -> None:
    """Load every task, report files that fail to parse (exit 1 if any), and show what this project can run.

    A file fails to parse when it is not a task, or when a parameter of a step, getter or metric this
    project implements does not fit that one's model. A task counts as runnable only if every setup
    type, getter and metric it needs is implemented; the tasks among them that also need an account, a
    live website or an optional library are counted apart.
    """
    # Imported here: the task registry pulls in every metric's libraries (pandas, openpyxl …), ~1.5 s.
    from environments.tasks.load import TaskLoadError, load_tasks
    from environments.tasks.support import support_table, with_parameters_checked

    try:
        loaded = with_parameters_checked(load_tasks(path, examples))
    except TaskLoadError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if not loaded.tasks and not loaded.failures:
        console.print(f"[red]no task files (*.json) under {escape(str(path))}[/red]", highlight=False)
        raise typer.Exit(2)
    console.print(f"{len(loaded.tasks) + len(loaded.failures)} task files read: {len(loaded.tasks)} tasks, "
                  f"{len(loaded.failures)} failed to parse", highlight=False)
    for failure in loaded.failures:
        console.print(f"[red]FAILED[/red] {escape(failure.reason)}", highlight=False)
    table = support_table(loaded.tasks)
    out = Table(title=f"runnable by kimi-desktop-agent: {table.runnable} of {table.total}")
    for column in ("domain", "tasks", "runnable"):
        out.add_column(column, justify="left" if column == "domain" else "right")
    for domain, (count, runnable) in sorted(table.by_domain.items()):
        out.add_row(domain, str(count), str(runnable))
    out.add_row("[bold]all[/bold]", f"[bold]{table.total}[/bold]", f"[bold]{table.runnable}[/bold]")
    console.print(out)
    if table.missing:
        needed = Table(title="not implemented yet (tasks needing it)")
        needed.add_column("setup type / getter / metric")
        needed.add_column("tasks", justify="right")
        for name, count in table.missing.most_common(missing):
            needed.add_row(name, str(count))
        console.print(needed)
    if table.needs:
        outside = Table(title="runnable, but scoring for real needs (tasks needing it)")
        outside.add_column("outside the project")
        outside.add_column("tasks", justify="right")
        for need, count in table.needs.most_common():
            outside.add_row(escape(need), str(count))
        console.print(outside)
    raise typer.Exit(1 if loaded.failures else 0)
