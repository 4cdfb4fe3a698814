"""`kimi-agent`: one entry point, one subcommand per job."""

from __future__ import annotations

import json
import shlex
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from actions import Frame, ParseError, parse_reply
from actions.errors import ActionError
from actions.wire import step_to_wire
from agent import __version__
from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT
from agent.backends.vllm_server import DEFAULT_PORT, ServeConfig, VLLMServer
from agent.cli.demo import run_demo
from agent.trajectory.describe import describe_step
from agent.cli.doctor import run_checks
from agent.cli.eval import eval_command, import_command
from agent.cli.ground import ground_command
from agent.episode.loop import EpisodeResult
from agent.cli.replay import record_command, replay_command
from agent.episode.run import DEFAULT_RECORDINGS, RunOptions, run_instruction
from agent.safety import DEFAULT_PANIC_KEY, PanicKeyError, PolicyError
from agent.safety.runaway import DEFAULT_MAX_REPEATS, DEFAULT_MAX_UNCHANGED
from agent.cli.tasks import app as tasks_app
from agent.trajectory.store import StepRecord
from agent.cli.trajectories import export_command, view_command
from environments.browser import BrowserStartError
from environments.remote.client import VMError
from environments.screen import CaptureError
from environments.settings import SettingError
from environments.virtual_desktop import DesktopStartError

app = typer.Typer(
    name="kimi-agent",
    help="A GUI desktop agent for Kimi-VL: perceive (screenshot), think (Kimi-VL), act (mouse and keyboard).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
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


def _print_step(record: StepRecord) -> None:
    console.print(describe_step(record), highlight=False)
    for event in record.guard:
        answer = f" (answer: {event.answer})" if event.answer else ""
        colour = "yellow" if event.verdict in ("confirm", "warn") else "red"
        console.print(f"  [{colour}]guard {event.kind}: {event.verdict}{answer}[/{colour}] {escape(event.reason)}", highlight=False)


def _print_summary(result: EpisodeResult) -> None:
    parts = ("capture", "encode", "model", "parse", "execute", "settle")
    steps = max(len(result.steps), 1)
    times = "  ".join(f"{p} {result.total(p) / steps * 1000:.0f}ms" for p in parts)
    colour = "green" if result.outcome == "done" else "red"
    console.print(f"[{colour}]outcome: {result.outcome}[/{colour}] after {len(result.steps)} step(s)", highlight=False)
    if result.answer:
        console.print(f"answer: {escape(result.answer)}", highlight=False)
    if result.error:
        console.print(f"[red]error: {escape(result.error)}[/red]", highlight=False)
    console.print(f"per step: {times}", highlight=False)
    console.print(f"trajectory: {escape(result.folder)}", highlight=False)


@app.command()
def run(
    instruction: Annotated[str, typer.Argument(help="What the agent should do, in plain words.")],
    env: Annotated[str, typer.Option(help="desktop: the X display in $DISPLAY; xvfb: a managed virtual desktop; browser: a Chromium page (--url); osworld/waa: a VM server (--vm-url).")] = "desktop",
    vm_url: Annotated[Optional[str], typer.Option(help="VM server speaking OSWorld's protocol, e.g. http://192.168.1.5:5000 (--env osworld/waa).")] = None,
    vm_token: Annotated[Optional[str], typer.Option(envvar="KIMI_VM_TOKEN", help="Bearer token for the VM server.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1. Default: use or start `vllm serve` on port 8000.")] = None,
    model: Annotated[str, typer.Option(help="Model name the server serves (also picks prompt variant and sampling).")] = DEFAULT_CHECKPOINT,
    api_key: Annotated[Optional[str], typer.Option(envvar="KIMI_AGENT_API_KEY", help="Bearer token for the endpoint.")] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Stop after this many steps.")] = 30,
    max_seconds: Annotated[Optional[float], typer.Option(min=1, help="Stop after this much wall-clock time.")] = None,
    record: Annotated[Path, typer.Option(help="Folder for trajectories (one sub-folder per episode).")] = DEFAULT_RECORDINGS,
    monitor: Annotated[int, typer.Option(min=0, help="Monitor to capture and act on (1 = primary, 0 = all).")] = 1,
    scale: Annotated[float, typer.Option(min=0.5, max=8, help="HiDPI scale: physical pixels per logical point (the browser's device scale factor).")] = 1.0,
    size: Annotated[str, typer.Option(help="Screen size of the xvfb desktop or the browser viewport (CSS px), WIDTHxHEIGHT.")] = "1920x1080",
    url: Annotated[str, typer.Option(help="Page the browser opens first (--env browser).")] = "about:blank",
    launch: Annotated[Optional[list[str]], typer.Option(help="Program to start on the xvfb desktop first (repeatable), e.g. 'xterm'.")] = None,
    image_format: Annotated[str, typer.Option(help="jpeg (fast, default) or png (lossless) or webp.")] = "jpeg",
    resize: Annotated[bool, typer.Option(help="Resize screenshots to multiples of 28 px (Kimi-VL's patch grid).")] = True,
    temperature: Annotated[Optional[float], typer.Option(help="Override the checkpoint's recommended temperature.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Override the checkpoint's max_tokens.")] = None,
    policy: Annotated[Optional[Path], typer.Option(help="Action policy (TOML) replacing the shipped one, which denies session-ending keys, asks before destructive shell commands and allows 300 actions.", rich_help_panel="Safety")] = None,
    confirm: Annotated[str, typer.Option(help="Ask at the terminal before actions: never (actions the policy marks confirm are refused), risky (only those), always (every action). Without a terminal on stdin nobody is asked and those actions are refused (always then refuses to start).", rich_help_panel="Safety")] = "risky",
    panic_key: Annotated[str, typer.Option(help="Global key combination on the X display the agent acts on (desktop, xvfb) that stops the run before its next action.", rich_help_panel="Safety")] = DEFAULT_PANIC_KEY,
    no_panic_key: Annotated[bool, typer.Option("--no-panic-key", help="Do not listen for the panic key.", rich_help_panel="Safety")] = False,
    max_repeats: Annotated[int, typer.Option(min=0, help="Runaway: the same actions asked for this many times in a row on a screen they did not change (0: off).", rich_help_panel="Safety")] = DEFAULT_MAX_REPEATS,
    max_unchanged: Annotated[int, typer.Option(min=0, help="Runaway: this many steps in a row that left the screen unchanged (0: off).", rich_help_panel="Safety")] = DEFAULT_MAX_UNCHANGED,
    on_runaway: Annotated[str, typer.Option(help="intervene: warn the model first (a repeated step is not performed), stop if it goes on; stop: stop at once.", rich_help_panel="Safety")] = "intervene",
) -> None:
    """Run INSTRUCTION on a desktop with Kimi-VL until it is done, fails, or a budget runs out.

    Each step captures the screen, asks the model, checks its reply and acts; every step is recorded under --record. Every action is checked against the action policy first; a denied one is not performed and the model is told why. Exits 0 when the model reports success.
    """
    if env not in ("desktop", "xvfb", "browser", "osworld", "waa"):
        raise typer.BadParameter("use desktop, xvfb, browser, osworld or waa", param_hint="--env")
    if env in ("osworld", "waa") and not vm_url:
        raise typer.BadParameter(f"--env {env} needs the VM server's URL", param_hint="--vm-url")
    if image_format not in ("jpeg", "png", "webp"):
        raise typer.BadParameter("use jpeg, png or webp", param_hint="--image-format")
    try:
        width, height = (int(n) for n in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter("use WIDTHxHEIGHT, e.g. 1920x1080", param_hint="--size") from None
    if confirm not in ("never", "risky", "always"):
        raise typer.BadParameter("use never, risky or always", param_hint="--confirm")
    if confirm == "always" and not sys.stdin.isatty():
        raise typer.BadParameter("always needs a person at a terminal, and stdin is not one; use risky or never", param_hint="--confirm")
    if on_runaway not in ("intervene", "stop"):
        raise typer.BadParameter("use intervene or stop", param_hint="--on-runaway")
    for value, hint in ((max_repeats, "--max-repeats"), (max_unchanged, "--max-unchanged")):
        if value == 1:
            raise typer.BadParameter("use 2 or more, or 0 to turn the check off", param_hint=hint)
    options = RunOptions(
        instruction=instruction, env=env, base_url=base_url, model=model, api_key=api_key,
        max_steps=max_steps, max_seconds=max_seconds, record=record, monitor=monitor, scale=scale,
        size=(width, height), launch=tuple(launch or ()), url=url, image_format=image_format, resize=resize,
        temperature=temperature, max_tokens=max_tokens, vm_url=vm_url, vm_token=vm_token,
        policy=policy, confirm=confirm, panic_key=None if no_panic_key else panic_key,
        max_repeats=max_repeats or None, max_unchanged=max_unchanged or None, on_runaway=on_runaway,
    )
    try:
        result = run_instruction(options, on_step=_print_step, on_status=lambda s: console.print(s, markup=False, highlight=False))
    except (BackendError, DesktopStartError, BrowserStartError, CaptureError, ActionError, VMError, PolicyError, PanicKeyError,
            SettingError) as err:
        console.print(f"[red]cannot run: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    _print_summary(result)
    raise typer.Exit(0 if result.outcome == "done" else 1)


@app.command()
def serve(
    checkpoint: Annotated[str, typer.Option(help="Hugging Face id or local path of the Kimi-VL checkpoint.")] = DEFAULT_CHECKPOINT,
    served_name: Annotated[Optional[str], typer.Option(help="Model name clients use (default: the checkpoint).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    max_model_len: Annotated[int, typer.Option(help="Context length to allocate.")] = 32768,
    max_num_batched_tokens: Annotated[int, typer.Option(help="Must exceed the largest image's token count.")] = 16384,
    images_per_prompt: Annotated[int, typer.Option(help="--limit-mm-per-prompt image count.")] = 8,
    max_num_seqs: Annotated[Optional[int], typer.Option(help="Lower this on 24 GB GPUs.")] = None,
    log: Annotated[Path, typer.Option(help="Where the server's output goes.")] = Path("recordings/vllm-serve.log"),
    dry_run: Annotated[bool, typer.Option(help="Print the vllm command line and exit.")] = False,
) -> None:
    """Start `vllm serve` for a Kimi-VL checkpoint with the right flags, wait until healthy, and supervise it until Ctrl+C."""
    config = ServeConfig(
        checkpoint=checkpoint, served_name=served_name, host=host, port=port, max_model_len=max_model_len,
        max_num_batched_tokens=max_num_batched_tokens, images_per_prompt=images_per_prompt, max_num_seqs=max_num_seqs,
    )
    console.print(" ".join(shlex.quote(a) for a in config.command()), highlight=False)
    if dry_run:
        return
    server = VLLMServer(config, log)
    try:
        server.start()
        console.print(f"[green]serving {config.name} at {config.base_url}[/green] (log: {log}); Ctrl+C stops it", highlight=False)
        while server.process is not None and server.process.poll() is None:
            time.sleep(1)
        console.print(f"[red]vllm serve exited:[/red]\n{escape(server.log_tail())}", highlight=False)
        raise typer.Exit(1)
    except BackendError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("stopping vllm serve")
    finally:
        server.stop()


@app.command()
def doctor(
    base_url: Annotated[str, typer.Option(help="Model server to probe.")] = f"http://127.0.0.1:{DEFAULT_PORT}/v1",
) -> None:
    """Check this machine for what `run` and `serve` need, and say exactly what to fix."""
    marks = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    checks = run_checks(base_url)
    for check in checks:
        fix = f"  [dim]→ {escape(check.fix)}[/dim]" if check.fix else ""
        console.print(f"{marks[check.status]} {check.name:16s} {escape(check.detail)}{fix}", highlight=False)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)


@app.command()
def demo(
    parse_only: Annotated[bool, typer.Option(help="Only parse the shipped example replies (no desktop).")] = False,
) -> None:
    """Run the shipped demonstration on a managed virtual desktop.

    With a GPU (nvidia-smi), serves Kimi-VL and runs a real instruction. Without one, a REPLAY stand-in server answers with a shipped script over HTTP: no model is used.
    """
    if parse_only:
        _demo_parse()
        return
    raise typer.Exit(run_demo(console))


def _demo_parse() -> None:
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


# Commands defined in their own modules, listed after run/serve/doctor/demo in --help.
app.command("eval")(eval_command)
app.command("import")(import_command)
app.command("ground")(ground_command)
app.command("view")(view_command)
app.command("replay")(replay_command)
app.command("record")(record_command)
app.command("export")(export_command)


def main() -> None:
    """Console-script entry point."""
    app()
