"""`kimi-agent run`: one episode on a desktop, a browser page or a VM, printed step by step."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional, cast

import typer
from rich.console import Console
from rich.markup import escape

from actions.errors import ActionError
from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, resolve_checkpoint
from agent.cli.live import LiveFeedback, run_facts
from agent.backends.preflight import PreflightError, check_endpoints
from agent.backends.vllm_server import DEFAULT_PORT
from agent.cli.options import (
    EXTRA_BODY_HELP, VLLM_ARG_HELP, VLLM_HELP, auto_start_only, backend_name, env_kind, extra_body,
    launch_commands, only_with, output_folder, page_url, parse_size,
)
from agent.episode.loop import EpisodeResult
from agent.episode.run import DEFAULT_RECORDINGS, RunOptions, run_instruction
from agent.safety import DEFAULT_PANIC_KEY, PanicKeyError, PolicyError
from agent.safety.runaway import DEFAULT_MAX_REPEATS, DEFAULT_MAX_UNCHANGED
from agent.trajectory.describe import describe_step
from agent.trajectory.store import StepRecord
from agent.watch.server import WatchServer, WatchStartError
from environments.chromium import BrowserStartError
from environments.kinds import AGENT_KINDS, MANAGED_VM_KINDS, VM_KINDS, EnvConfig, EnvKind
from environments.processes import Guardian, new_token
from environments.remote.client import VMError
from environments.screen import CaptureError
from environments.settings import SettingError
from environments.virtual_desktop import DesktopStartError

console = Console()


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


def run_command(
    instruction: Annotated[str, typer.Argument(help="What the agent should do, in plain words.")],
    env: Annotated[str, typer.Option(help="desktop: the X display in $DISPLAY; xvfb: a managed virtual desktop; browser: a Chromium page (--url); osworld/waa: a VM server (--vm-url); vm: a QEMU VM booted from --vm-image.")] = "desktop",
    vm_url: Annotated[Optional[str], typer.Option(help="VM server speaking OSWorld's protocol, e.g. http://192.168.1.5:5000 (--env osworld/waa).")] = None,
    vm_token: Annotated[Optional[str], typer.Option(envvar="KIMI_VM_TOKEN", help="Bearer token for the VM server.")] = None,
    vm_image: Annotated[Optional[Path], typer.Option(help="--env vm: a qcow2 image to boot under QEMU for this run (never written), e.g. from `kimi-agent vm build`.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1. Default: use or start `vllm serve` on --serve-port.")] = None,
    serve_port: Annotated[int, typer.Option(min=1, max=65535, help="Without --base-url: the port of the local vllm serve, used if it answers, else started there (and stopped at the end).", rich_help_panel="Local vllm serve")] = DEFAULT_PORT,
    vllm: Annotated[str, typer.Option(help=f"Without --base-url: {VLLM_HELP}", rich_help_panel="Local vllm serve")] = "vllm",
    vllm_arg: Annotated[Optional[list[str]], typer.Option(help=f"Without --base-url: {VLLM_ARG_HELP}", rich_help_panel="Local vllm serve")] = None,
    model: Annotated[str, typer.Option(help="Model name the server serves (also picks prompt variant and sampling).")] = DEFAULT_CHECKPOINT,
    api_key: Annotated[Optional[str], typer.Option(envvar="KIMI_AGENT_API_KEY", help="Bearer token for the endpoint.")] = None,
    backend: Annotated[str, typer.Option(help="openai: an OpenAI-compatible server (--base-url, or the local vllm serve); vllm-offline: vllm.LLM in this process (needs the vllm extra and a GPU); scripted: play back recorded replies (--script), no model.")] = "openai",
    script: Annotated[Optional[Path], typer.Option(help="With --backend scripted: a script file {\"replies\": [...]} or a recorded episode folder, answered in order.")] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Stop after this many steps.")] = 30,
    max_seconds: Annotated[Optional[float], typer.Option(min=1, help="Stop after this much wall-clock time.")] = None,
    record: Annotated[Path, typer.Option(help="Folder for trajectories (one sub-folder per episode).")] = DEFAULT_RECORDINGS,
    monitor: Annotated[int, typer.Option(min=0, help="Monitor to capture and act on (1 = primary, 0 = all).")] = 1,
    scale: Annotated[float, typer.Option(min=0.5, max=8, help="HiDPI scale: physical pixels per logical point (the browser's device scale factor).")] = 1.0,
    size: Annotated[str, typer.Option(help="Screen size of the xvfb desktop or the browser viewport (CSS px), WIDTHxHEIGHT.")] = "1920x1080",
    url: Annotated[str, typer.Option(help="Page the browser opens first (--env browser).")] = "about:blank",
    launch: Annotated[Optional[list[str]], typer.Option(help="Program to start on the xvfb desktop first (repeatable), e.g. 'xterm'.")] = None,
    image_format: Annotated[Optional[str], typer.Option(help="jpeg, png (lossless) or webp (lossless); default: the checkpoint's own (JPEG for Kimi-VL, WebP quality 75 for Kimi-K2.5).")] = None,
    resize: Annotated[bool, typer.Option(help="Resize screenshots to multiples of 28 px (Kimi-VL's patch grid).")] = True,
    temperature: Annotated[Optional[float], typer.Option(help="Override the checkpoint's recommended temperature.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Override the checkpoint's max_tokens.")] = None,
    extra_body_json: Annotated[Optional[str], typer.Option("--extra-body", help=EXTRA_BODY_HELP)] = None,
    policy: Annotated[Optional[Path], typer.Option(help="Action policy (TOML) replacing the shipped one, which denies session-ending keys, asks before destructive shell commands and allows 300 actions.", rich_help_panel="Safety")] = None,
    confirm: Annotated[str, typer.Option(help="Ask at the terminal before actions: never (actions the policy marks confirm are refused), risky (only those), always (every action). Without a terminal on stdin nobody is asked and those actions are refused (always then refuses to start).", rich_help_panel="Safety")] = "risky",
    panic_key: Annotated[str, typer.Option(help="Global key combination on the X display the agent acts on (desktop, xvfb) that stops the run before its next action.", rich_help_panel="Safety")] = DEFAULT_PANIC_KEY,
    no_panic_key: Annotated[bool, typer.Option("--no-panic-key", help="Do not listen for the panic key.", rich_help_panel="Safety")] = False,
    max_repeats: Annotated[int, typer.Option(min=0, help="Runaway: the same actions asked for this many times in a row on a screen they did not change (0: off).", rich_help_panel="Safety")] = DEFAULT_MAX_REPEATS,
    max_unchanged: Annotated[int, typer.Option(min=0, help="Runaway: this many steps in a row that left the screen unchanged (0: off).", rich_help_panel="Safety")] = DEFAULT_MAX_UNCHANGED,
    on_runaway: Annotated[str, typer.Option(help="intervene: warn the model first (a repeated step is not performed), stop if it goes on; stop: stop at once.", rich_help_panel="Safety")] = "intervene",
    watch: Annotated[bool, typer.Option("--watch", help="Serve a page on 127.0.0.1 showing the latest frame, intent and actions as they happen (its address is printed).")] = False,
    watch_port: Annotated[int, typer.Option(min=0, max=65535, help="Port of the --watch page (0: any free one).")] = 0,
    stream: Annotated[Optional[bool], typer.Option("--stream/--no-stream", help="Ask the server to stream its answers, so the spinner counts the tokens as they arrive; the recorded answer is the same. Default: on when stdout is a terminal (only the spinner uses it).")] = None,
) -> None:
    """Run INSTRUCTION on a desktop with Kimi-VL until it is done, fails, or a budget runs out.

    Each step captures the screen, asks the model, checks its reply and acts; every step is recorded under --record. Every action is checked against the action policy first; a denied one is not performed and the model is told why. Exits 0 when the model reports success.
    """
    kind = cast(EnvKind, env_kind(env, AGENT_KINDS + MANAGED_VM_KINDS))
    if (kind in MANAGED_VM_KINDS) != (vm_image is not None):
        raise typer.BadParameter("--env vm boots --vm-image; give both or neither", param_hint="--vm-image")
    if kind in VM_KINDS and not vm_url:
        raise typer.BadParameter(f"--env {env} needs the VM server's URL", param_hint="--vm-url")
    if image_format is not None and image_format not in ("jpeg", "png", "webp"):
        raise typer.BadParameter("use jpeg, png or webp", param_hint="--image-format")
    screen = parse_size(size, "1920x1080")
    if confirm not in ("never", "risky", "always"):
        raise typer.BadParameter("use never, risky or always", param_hint="--confirm")
    if confirm == "always" and not sys.stdin.isatty():
        raise typer.BadParameter("always needs a person at a terminal, and stdin is not one; use risky or never", param_hint="--confirm")
    if on_runaway not in ("intervene", "stop"):
        raise typer.BadParameter("use intervene or stop", param_hint="--on-runaway")
    for value, hint in ((max_repeats, "--max-repeats"), (max_unchanged, "--max-unchanged")):
        if value == 1:
            raise typer.BadParameter("use 2 or more, or 0 to turn the check off", param_hint=hint)
    name = backend_name(backend, script)
    if stream and name != "openai":
        raise typer.BadParameter(f"only an OpenAI-compatible server streams; the {name} backend does not",
                                 param_hint="--stream")
    extra = extra_body(extra_body_json)
    auto_start_only(name, base_url, {"--serve-port": serve_port != DEFAULT_PORT, "--vllm": vllm != "vllm",
                                     "--vllm-arg": bool(vllm_arg)})
    only_with(kind, {"url": (url != "about:blank", ("browser",)), "launch": (bool(launch), ("xvfb",)),
                     "size": (size != "1920x1080", ("xvfb", "browser")), "monitor": (monitor != 1, ("desktop",))})
    programs = launch_commands(launch)
    page_url(url)
    output_folder(record, "--record")
    _, warning = resolve_checkpoint(model)
    if warning:
        console.print(f"[yellow]warning: {escape(warning)}[/yellow]", highlight=False)
    options = RunOptions(
        instruction=instruction, base_url=base_url, model=model, api_key=api_key,
        backend=name, script=script,
        env=EnvConfig(
            kind, size=screen, scale=scale, monitor=monitor, launch=programs,
            url=url, vm_url=vm_url, vm_token=vm_token, vm_image=str(vm_image) if vm_image else None,
        ),
        max_steps=max_steps, max_seconds=max_seconds, record=record, image_format=image_format, resize=resize,
        temperature=temperature, max_tokens=max_tokens,
        policy=policy, confirm=confirm, panic_key=None if no_panic_key else panic_key,
        max_repeats=max_repeats or None, max_unchanged=max_unchanged or None, on_runaway=on_runaway,
        extra_body=extra, serve_port=serve_port, vllm=vllm, vllm_args=tuple(vllm_arg or ()),
        stream=console.is_terminal if stream is None else stream,
    )
    try:
        check_endpoints(name, [base_url], model, api_key, serve_port=serve_port)
    except PreflightError as err:
        console.print(f"[red]cannot run: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    feedback = LiveFeedback(console, run_facts(options))
    try:
        with ExitStack() as stack:
            # Everything this run starts (desktop, browser, apps, an auto-started vllm serve) carries its
            # mark, and the guardian stops what is left when the run ends, even when it is SIGKILLed.
            stack.callback(Guardian(new_token()).close)
            if watch:
                page = stack.enter_context(WatchServer(record, f"run: {instruction}", watch_port))
                console.print(f"watch: {page.url}", highlight=False)
            stack.callback(feedback.stop)
            result = run_instruction(options, on_step=_print_step, events=feedback.events,
                                     on_status=lambda s: console.print(s, markup=False, highlight=False),
                                     on_progress=feedback.progress)
    except (BackendError, DesktopStartError, BrowserStartError, CaptureError, ActionError, VMError, PolicyError, PanicKeyError,
            SettingError, WatchStartError) as err:
        console.print(f"[red]cannot run: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted (Ctrl+C)[/yellow]", highlight=False)
        raise typer.Exit(130) from None
    _print_summary(result)
    raise typer.Exit(0 if result.outcome == "done" else 130 if result.outcome == "interrupted" else 1)
