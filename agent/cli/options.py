"""Option values every command reads the same way: a screen size, an environment kind, a backend."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import typer

from agent.backends.registry import BACKEND_NAMES, BackendName
from environments.kinds import EnvConfigError, check_kind


def parse_size(text: str, example: str = "1280x800", hint: str = "--size") -> tuple[int, int]:
    """WIDTHxHEIGHT as two positive whole numbers, or a usage error showing `example`."""
    try:
        width, height = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"use WIDTHxHEIGHT, e.g. {example}", param_hint=hint) from None
    return width, height


def env_kind(name: str, allowed: tuple[str, ...]) -> str:
    """`--env NAME` if it is one of `allowed`, else a usage error listing them."""
    try:
        return check_kind(name, allowed)
    except EnvConfigError as err:
        raise typer.BadParameter(str(err), param_hint="--env") from None


def backend_name(name: str, script: Path | None) -> BackendName:
    """`--backend NAME` if it is known and `--script` is given exactly when it is `scripted`, else a usage error."""
    if name not in BACKEND_NAMES:
        raise typer.BadParameter(f"use {', '.join(BACKEND_NAMES[:-1])} or {BACKEND_NAMES[-1]}", param_hint="--backend")
    if (name == "scripted") != (script is not None):
        raise typer.BadParameter("--backend scripted plays back --script; give both or neither", param_hint="--script")
    return cast(BackendName, name)
