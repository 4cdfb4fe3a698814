"""`kimi-agent`: the entry point; each command group lives in its own module of this package, imported on use.

Importing every command module costs 1.3–1.6 s (pandas, openpyxl, gymnasium, numpy …); `kimi-agent --help`
and `--version` need none of them, so the root group lists the commands from `COMMANDS` and imports a
command's module only when that command runs or prints its own help.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.main import get_command_from_info, get_group
from typer.models import CommandInfo

from agent import __version__


@dataclass(frozen=True)
class CommandEntry:
    """One command of the root group: where it lives, its one-line summary, and an example for its --help."""

    name: str
    target: str
    """'module:attribute': a command function, or a `typer.Typer` of subcommands (with their own examples)."""
    summary: str
    """What `kimi-agent --help` says of it without importing its module: its docstring's first line."""
    example: str = ""


# The order of --help.
COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry(
        "parse", "agent.cli.parse:parse_command",
        "Parse a raw Kimi-VL reply into typed actions and print them as one JSON object.",
        "kimi-agent parse -f reply.txt --width 1280 --height 800"),
    CommandEntry(
        "run", "agent.cli.run:run_command",
        "Run INSTRUCTION on a desktop with Kimi-VL until it is done, fails, or a budget runs out.",
        'kimi-agent run --env xvfb --launch xterm --base-url http://gpu-box:8000/v1 "List /tmp"'),
    CommandEntry(
        "serve", "agent.cli.serve:serve_command",
        "Start `vllm serve` for a Kimi checkpoint with its flags, wait until healthy, and supervise it "
        "until Ctrl+C.",
        "kimi-agent serve --dry-run > serve.sh"),
    CommandEntry(
        "doctor", "agent.cli.doctor:doctor_command",
        "Check this machine for what one command needs (--for, default run) and only that; say what to fix.",
        "kimi-agent doctor --for eval"),
    CommandEntry(
        "demo", "agent.cli.demo:demo_command",
        "Run the shipped demonstration on a managed virtual desktop.",
        "kimi-agent demo --parse-only"),
    CommandEntry(
        "eval", "agent.cli.eval:eval_command",
        "Run OSWorld-format tasks with the agent, score each with its evaluator, and summarise.",
        "kimi-agent eval --backend scripted --script environments/tasks/suite/solutions --results results/x"),
    CommandEntry(
        "import", "agent.cli.eval:import_command",
        "Convert results of OSWorld's own harness into kimi-agent trajectories (and result.txt), without "
        "running anything.",
        "kimi-agent import osworld_results/ imported/ --examples OSWorld/evaluation_examples/examples"),
    CommandEntry(
        "ground", "agent.cli.ground:ground_command",
        "Ask Kimi-VL where an element is: one request with the grounding prompt; print the point.",
        'kimi-agent ground screenshot.png "the Save button" --out point.png'),
    CommandEntry(
        "view", "agent.cli.trajectories:view_command",
        "Render a recorded episode: one self-contained HTML page (frames with the actions drawn on them, "
        "thoughts, raw replies, timings), and optionally a GIF or MP4.",
        "kimi-agent view recordings/20261204-101500-open-the-editor --gif episode.gif"),
    CommandEntry(
        "replay", "agent.cli.replay:replay_command",
        "Re-execute a recorded trajectory's actions step by step on a fresh environment, checking each "
        "step's screen first.",
        "kimi-agent replay recordings/20261204-101500-open-the-editor --env xvfb --launch xterm"),
    CommandEntry(
        "record", "agent.cli.replay:record_command",
        "Record a human demonstration on the display in $DISPLAY as a trajectory that `replay` can "
        "re-execute.",
        'kimi-agent record demos/save-a-file --instruction "Save the open file"'),
    CommandEntry(
        "export", "agent.cli.trajectories:export_command",
        "Export recorded episodes as fine-tuning data, with the agent's own prompt and reply format and "
        "coordinates as fractions 0..1 of each frame.",
        "kimi-agent export recordings/ --out data/sharegpt.json --successful-only"),
    CommandEntry("tasks", "agent.cli.tasks:app", "Inspect OSWorld-format task files."),
    CommandEntry("vm", "agent.cli.vm:app",
                 "Build, boot, list, watch and stop QEMU VMs (our Debian guest image, OSWorld's or WAA's)."),
)


class _ReadableOption(TyperOption):
    """An option whose type reads TEXT, INTEGER, PATH … (not `<str>`, `<list[str]>`); none for a flag."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag or self.count:
            return None
        return readable_type(self.display_type(ctx))


class _ReadableArgument(TyperArgument):
    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return readable_type(self.display_type(ctx))


_TYPE_WORDS = {
    "str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER", "float range": "NUMBER",
    "path": "PATH", "Path": "PATH", "bool": "BOOLEAN",
}


def readable_type(label: str) -> str:
    """typer's `<int range>`, `<list[Path]>` … as the words click users know: INTEGER, PATH …"""
    bare = label.strip("<>")
    if bare.startswith("list[") and bare.endswith("]"):
        bare = bare[5:-1]
    return _TYPE_WORDS.get(bare, bare.upper())


def readable_help(command: Any) -> None:
    """Give every parameter of `command` (and its subcommands) a readable type and an upper-case name."""
    help_option = command.get_help_option(typer.Context(command))  # made, cached on first use: convert it too
    for param in [*command.params, *([help_option] if help_option else [])]:
        if type(param) is TyperOption:
            param.__class__ = _ReadableOption  # only overrides how the type is displayed
        elif type(param) is TyperArgument:
            param.__class__ = _ReadableArgument
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub)


class _Pending(typer.core.TyperCommand):
    """A command not imported yet: enough to list it in `kimi-agent --help`."""


class LazyGroup(TyperGroup):
    """The root group: lists `COMMANDS` without importing them; imports a command when it is resolved."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for entry in COMMANDS:
            self.commands[entry.name] = _Pending(name=entry.name, short_help=entry.summary, callback=None)
        readable_help(self)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # click would print "Aborted!" and exit 1; `eval` and `run` say more first
            typer.echo("interrupted (Ctrl+C)", err=True)
            raise typer.Exit(130) from None

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Pending) and name is not None:
            command = self.commands[name] = load_command(name, self.rich_markup_mode)
        return name, command, rest


def load_command(name: str, markup: Any = typer.core.DEFAULT_MARKUP_MODE) -> Any:
    """The click command of `COMMANDS` entry `name`, its module imported now."""
    entry = next(e for e in COMMANDS if e.name == name)
    module, attribute = entry.target.split(":")
    target = getattr(import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: Any = get_group(target)
        command.name = name
    else:
        shown = entry.example and "Example:" not in (target.__doc__ or "")  # some docstrings give their own
        info = CommandInfo(name=name, callback=target, epilog=f"Example: {entry.example}" if shown else None)
        command = get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=markup)
    readable_help(command)
    return command


app = typer.Typer(
    name="kimi-agent",
    cls=LazyGroup,
    help="A GUI desktop agent for Kimi-VL: perceive (screenshot), think (Kimi-VL), act (mouse and keyboard).",
    epilog="Example: kimi-agent run --help",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


def unwrapped_output() -> None:
    """Without a terminal, print long lines whole instead of wrapping them at rich's 80 columns.

    `serve --dry-run > serve.sh` must stay one runnable line, and a piped path or URL must stay greppable.
    Rich reads COLUMNS for every console, so it is set very wide even when inherited (readline exports the
    parent terminal's width to child processes); typer's help and error panels read TERMINAL_WIDTH, set to
    that inherited width or 100, so `--help | less` stays readable.
    """
    if not sys.stdout.isatty():
        os.environ.setdefault("TERMINAL_WIDTH", os.environ.get("COLUMNS", "100"))
        os.environ["COLUMNS"] = "100000"


def main() -> None:
    """Console-script entry point."""
    unwrapped_output()
    app()
