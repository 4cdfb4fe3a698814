"""`kimi-agent parse`: a raw Kimi-VL reply as typed actions, printed as JSON (nothing in it is executed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from actions import Frame, parse_reply
from actions.errors import ActionError
from actions.wire import step_to_wire


def parse_command(
    file: Annotated[Optional[Path], typer.Option(
        "--file", "-f", help="Read the reply from this file instead of stdin.")] = None,
    width: Annotated[int, typer.Option(
        min=1, help="Width of the screenshot the model saw, in pixels.")] = 1920,
    height: Annotated[int, typer.Option(
        min=1, help="Height of the screenshot the model saw, in pixels.")] = 1080,
) -> None:
    """Parse a raw Kimi-VL reply into typed actions and print them as one JSON object.

    Coordinates are resolved to integer pixels of a WIDTH×HEIGHT screenshot. A reply that cannot be parsed prints {"error": "..."} and exits with status 2. Nothing in the reply is ever executed.
    """
    text = _reply_text(file)
    try:
        result = step_to_wire(parse_reply(text), Frame.of_size(width, height))
    except ActionError as err:
        typer.echo(json.dumps({"error": str(err)}, ensure_ascii=False))
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, ensure_ascii=False))


def _reply_text(file: Path | None) -> str:
    """The reply from `file` (or stdin) as text, or a usage error saying why it cannot be read."""
    where = str(file) if file else "stdin"
    try:
        return file.read_text(encoding="utf-8") if file else sys.stdin.buffer.read().decode("utf-8")
    except IsADirectoryError:
        raise typer.BadParameter(f"{where} is a folder; give the file holding the reply",
                                 param_hint="--file") from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{where} is not UTF-8 text (a binary file?)", param_hint="--file") from None
    except OSError as err:  # missing, unreadable
        raise typer.BadParameter(f"cannot read {where}: {err.strerror or err}", param_hint="--file") from None
