"""`kimi-agent`: one entry point, one subcommand per job."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from actions import Frame, ParseError, parse_reply
from actions.errors import ActionError
from actions.wire import step_to_wire
from agent import __version__

app = typer.Typer(
    name="kimi-agent",
    help="A GUI desktop agent for Kimi-VL: perceive (screenshot), think (Kimi-VL), act (mouse and keyboard).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


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


@app.command()
def parse(
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Read the reply from this file instead of stdin.")] = None,
    width: Annotated[int, typer.Option(min=1, help="Width of the screenshot the model saw, in pixels.")] = 1920,
    height: Annotated[int, typer.Option(min=1, help="Height of the screenshot the model saw, in pixels.")] = 1080,
) -> None:
    """Parse a raw Kimi-VL reply into typed actions and print them as one JSON object.

    Coordinates are resolved to integer pixels of a WIDTH×HEIGHT screenshot. A reply that cannot be parsed prints {"error": "..."} and exits with status 2. Nothing in the reply is ever executed.
    """
    text = file.read_text(encoding="utf-8") if file else sys.stdin.read()
    try:
        result = step_to_wire(parse_reply(text), Frame.of_size(width, height))
    except ActionError as err:
        typer.echo(json.dumps({"error": str(err)}, ensure_ascii=False))
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, ensure_ascii=False))


@app.command()
def demo() -> None:
    """Parse the shipped example replies and show the typed actions (no model, nothing executed)."""
    examples = resources.files("agent") / "examples"
    for example in sorted(examples.iterdir(), key=lambda p: p.name):
        if not example.name.endswith(".txt"):
            continue
        console.rule(f"[bold]{example.name}")
        console.print(example.read_text(encoding="utf-8").strip(), markup=False, highlight=False)
        console.print("[dim]→ parsed (1920×1080 screenshot):[/dim]")
        try:
            step = parse_reply(example.read_text(encoding="utf-8"))
        except ParseError as err:
            console.print(f"[red]refused:[/red] {err}", highlight=False)
            continue
        console.print_json(json.dumps(step_to_wire(step, Frame.of_size(1920, 1080))["actions"]))
    console.print("\nNo model was used: these are shipped example replies.")


@app.command()
def run() -> None:
    """Run an instruction on a desktop with Kimi-VL (arrives with the perceive-think-act issue)."""
    console.print("`run` arrives with the perceive-think-act issue (#4).")
    raise typer.Exit(1)


@app.command()
def serve() -> None:
    """Start and supervise `vllm serve` for a Kimi-VL checkpoint (arrives with issue #4)."""
    console.print("`serve` arrives with the perceive-think-act issue (#4).")
    raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()
