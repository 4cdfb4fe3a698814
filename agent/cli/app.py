"""`kimi-agent`: the entry point; each command group lives in its own module of this package."""

from __future__ import annotations

from typing import Annotated

import typer

from agent import __version__
from agent.cli.demo import demo_command
from agent.cli.doctor import doctor_command
from agent.cli.eval import eval_command, import_command
from agent.cli.ground import ground_command
from agent.cli.parse import parse_command
from agent.cli.replay import record_command, replay_command
from agent.cli.run import run_command
from agent.cli.serve import serve_command
from agent.cli.tasks import app as tasks_app
from agent.cli.trajectories import export_command, view_command

app = typer.Typer(
    name="kimi-agent",
    help="A GUI desktop agent for Kimi-VL: perceive (screenshot), think (Kimi-VL), act (mouse and keyboard).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(tasks_app, name="tasks")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kimi-agent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """A GUI desktop agent for Kimi-VL."""


# The order of --help.
for name, command in (
    ("parse", parse_command), ("run", run_command), ("serve", serve_command), ("doctor", doctor_command),
    ("demo", demo_command), ("eval", eval_command), ("import", import_command), ("ground", ground_command),
    ("view", view_command), ("replay", replay_command), ("record", record_command), ("export", export_command),
):
    app.command(name)(command)


def main() -> None:
    """Console-script entry point."""
    app()
