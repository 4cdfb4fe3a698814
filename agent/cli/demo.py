"""`kimi-agent demo`: the main job on a managed virtual desktop, with or without a GPU."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Callable

import typer
from rich.console import Console
from rich.markup import escape

from actions import Frame, ParseError, parse_reply
from actions.wire import step_to_wire
from agent.backends.scripted import ScriptedReplies
from agent.episode.run import RunOptions, run_instruction
from agent.trajectory.describe import describe_step
from agent.trajectory.store import StepRecord
from environments.kinds import EnvConfig

SCRIPT = "write_note.scripted.json"
XTERM = ("xterm", "-geometry", "80x24+0+0", "-fa", "Monospace", "-fs", "11")
DEMO_ENV = EnvConfig("xvfb", size=(1280, 800), launch=(XTERM,))
NOTE = Path("/tmp/kimi-agent-demo/note.txt")


def has_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None and subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def run_demo(console: Console) -> int:
    """Run the demonstration; returns the exit status."""
    script_file = resources.files("agent.cli") / "examples" / SCRIPT
    script = ScriptedReplies.model_validate_json(script_file.read_text(encoding="utf-8"))
    instruction = script.instruction or "Write a note in the terminal."
    show = _printer(console)
    if has_gpu():
        console.print("[bold]GPU found:[/bold] serving Kimi-VL with vLLM and running a real instruction.")
        result = run_instruction(
            RunOptions(instruction=instruction, env=DEMO_ENV),
            on_step=show, on_status=lambda s: console.print(s, markup=False, highlight=False),
        )
        console.print(f"outcome: {result.outcome}; trajectory: {escape(result.folder)}", highlight=False)
        return 0 if result.outcome == "done" else 1
    console.print(
        "[bold yellow]No GPU here: NO MODEL IS USED.[/bold yellow] A SCRIPTED stand-in server answers over HTTP "
        f"with the recorded Kimi-VL-format replies in agent/cli/examples/{SCRIPT};\nthe agent loop, parser, "
        "executor and recorder are real, on a real virtual X desktop.",
        highlight=False,
    )
    NOTE.unlink(missing_ok=True)
    with resources.as_file(script_file) as script_path:
        server = subprocess.Popen(
            [sys.executable, "-m", "agent.backends.scripted_server", "--script", str(script_path), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            base_url = server.stdout.readline().split()[-1] + "/v1"
            console.print(f"scripted stand-in listening at {base_url}", highlight=False)
            result = run_instruction(
                RunOptions(
                    instruction=instruction, env=DEMO_ENV, base_url=base_url, model="replay",
                    max_steps=len(script.replies),
                ),
                on_step=show,
            )
        finally:
            server.terminate()
            server.wait()
            server.stdout.close()
    written = NOTE.read_text(encoding="utf-8").strip() if NOTE.exists() else "(missing)"
    console.print(f"outcome: {result.outcome}; {NOTE} holds: {escape(repr(written))}", highlight=False)
    console.print(f"trajectory: {escape(result.folder)}", highlight=False)
    console.print("[bold yellow]No model was used: replies came from the scripted stand-in.[/bold yellow]")
    return 0 if result.outcome == "done" and written == "Hello from Kimi-VL" else 1


def _printer(console: Console) -> Callable[[StepRecord], None]:
    return lambda record: console.print(describe_step(record), highlight=False)


def demo_command(
    parse_only: Annotated[bool, typer.Option(help="Only parse the shipped example replies (no desktop).")] = False,
) -> None:
    """Run the shipped demonstration on a managed virtual desktop.

    With a GPU (nvidia-smi), serves Kimi-VL and runs a real instruction. Without one, a SCRIPTED stand-in server answers with a shipped script over HTTP: no model is used.
    """
    if parse_only:
        _demo_parse()
        return
    raise typer.Exit(run_demo(Console()))


def _demo_parse() -> None:
    console = Console()
    examples = resources.files("agent.cli") / "examples"
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
