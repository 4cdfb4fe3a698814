"""Option values every command reads the same way: a screen size, an environment kind, a backend."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import typer

from agent.backends.openai_compat import ExtraBody
from agent.backends.registry import BACKEND_NAMES, BackendName
from environments.kinds import EnvConfigError, check_kind

MAX_SIDE = 16384
"""Largest screen side accepted: Xvfb and Chromium refuse larger ones with errors far from the flag."""


def parse_size(text: str, example: str = "1280x800", hint: str = "--size") -> tuple[int, int]:
    """WIDTHxHEIGHT as two positive whole numbers, or a usage error showing `example`."""
    try:
        width, height = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"use WIDTHxHEIGHT, e.g. {example}", param_hint=hint) from None
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise typer.BadParameter(f"{text}: each side must be 1 to {MAX_SIDE} pixels, e.g. {example}",
                                 param_hint=hint)
    return width, height


def launch_commands(launch: Sequence[str] | None, hint: str = "--launch") -> tuple[tuple[str, ...], ...]:
    """Each `--launch` command line split as a shell would, its program found on PATH now, else a usage error.

    A missing program would otherwise be noticed only when its window never appears, 15 s later.
    """
    commands = []
    for line in launch or ():
        try:
            argv = tuple(shlex.split(line))
        except ValueError as err:  # an unclosed quote
            raise typer.BadParameter(f"{line!r}: {err}", param_hint=hint) from None
        if not argv:
            raise typer.BadParameter("an empty command; give a program, e.g. xterm", param_hint=hint)
        if shutil.which(argv[0]) is None:
            raise typer.BadParameter(f"{argv[0]}: program not found on PATH", param_hint=hint)
        commands.append(argv)
    return tuple(commands)


def only_with(kind: str, flags: Mapping[str, tuple[bool, tuple[str, ...]]]) -> None:
    """Refuse a flag given for an `--env` that ignores it; `flags`: flag -> (given?, the kinds using it)."""
    for flag, (given, kinds) in flags.items():
        if given and kind not in kinds:
            uses = " or ".join(f"--env {k}" for k in kinds)
            raise typer.BadParameter(f"--{flag} is used only with {uses}, not --env {kind}",
                                     param_hint=f"--{flag}")


def env_kind(name: str, allowed: tuple[str, ...]) -> str:
    """`--env NAME` if it is one of `allowed`, else a usage error listing them."""
    try:
        return check_kind(name, allowed)
    except EnvConfigError as err:
        raise typer.BadParameter(str(err), param_hint="--env") from None


def backend_name(name: str, script: Path | None) -> BackendName:
    """`--backend NAME` if known and `--script` is given exactly when it is `scripted`, else a usage error."""
    if name not in BACKEND_NAMES:
        raise typer.BadParameter(f"use {', '.join(BACKEND_NAMES[:-1])} or {BACKEND_NAMES[-1]}",
                                 param_hint="--backend")
    if (name == "scripted") != (script is not None):
        raise typer.BadParameter("--backend scripted plays back --script; give both or neither",
                                 param_hint="--script")
    return cast(BackendName, name)


PAGE_SCHEMES = ("http", "https", "file", "about", "data")


def page_url(url: str, hint: str = "--url") -> str:
    """A URL the browser can open (http, https, file, about, data), else a usage error with examples."""
    parts = urlsplit(url)
    if parts.scheme not in PAGE_SCHEMES or (parts.scheme in ("http", "https") and not parts.hostname):
        raise typer.BadParameter(f"{url!r} is not a page address: give a full URL such as "
                                 f"https://example.org, file:///path/page.html or about:blank",
                                 param_hint=hint)
    return url


EXTRA_BODY_HELP = (
    "JSON object merged into every chat request as is, for server options the agent has no flag for, "
    "e.g. '{\"structured_outputs\": {\"regex\": \"...\"}}' (vLLM's structured outputs) or '{\"top_k\": 20}'."
)


def extra_body(text: str | None, hint: str = "--extra-body") -> ExtraBody | None:
    """`--extra-body JSON` as a dict (None when not given), else a usage error: it must be a JSON object."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise typer.BadParameter(f"not JSON ({err.msg} at character {err.pos}); give an object, "
                                 "e.g. '{\"top_k\": 20}'", param_hint=hint) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"give a JSON object, e.g. '{{\"top_k\": 20}}', not {type(value).__name__}",
                                 param_hint=hint)
    if "messages" in value:
        raise typer.BadParameter("it cannot replace the messages: the agent builds them", param_hint=hint)
    return value


VLLM_HELP = "the vllm program to run, e.g. another virtual environment's bin/vllm."
VLLM_ARG_HELP = "an extra argument passed to vllm serve as is (repeatable), e.g. --vllm-arg=--enforce-eager."


def auto_start_only(backend: str, base_url: str | None, given: Mapping[str, bool]) -> None:
    """Options for the `vllm serve` a command starts itself: a usage error where it starts none,
    rather than a port or program silently ignored."""
    if backend == "openai" and base_url is None:
        return
    for hint, used in given.items():
        if used:
            raise typer.BadParameter("only for the vllm serve started when no --base-url is given "
                                     "(--backend openai)", param_hint=hint)


def output_folder(folder: Path, hint: str) -> Path:
    """`folder` when it is, or can become, a folder this process writes in; a usage error otherwise.

    Nothing is created here: the folder is made by whatever first writes in it, so a command that
    stops at a later check (the endpoint's pre-flight, say) leaves no empty folder behind.
    """
    if folder.exists():
        if not folder.is_dir():
            raise typer.BadParameter(f"{folder} is a file; give a folder", param_hint=hint)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise typer.BadParameter(f"cannot write in {folder}: permission denied", param_hint=hint)
        return folder
    ancestor = next(p for p in folder.absolute().parents if p.exists())
    if not ancestor.is_dir():
        raise typer.BadParameter(f"cannot make the folder {folder}: {ancestor} is a file", param_hint=hint)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"cannot make the folder {folder}: permission denied in {ancestor}",
                                 param_hint=hint)
    return folder
