"""A command-line app with the trajectory commands, registered as `kimi-agent` will register them."""

from __future__ import annotations

import typer

from agent.cli.trajectories import export_command, view_command


def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command("view")(view_command)
    app.command("export")(export_command)
    return app
