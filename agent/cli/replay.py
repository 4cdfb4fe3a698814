"""`kimi-agent replay` and `kimi-agent record`: re-executing a trajectory, and recording a human one.

    python -m agent.cli.replay replay DIR [--env desktop|xvfb|browser|vm] ...
    python -m agent.cli.replay record DIR [--stop-hotkey ctrl+alt+q] ...
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from actions.describe import describe_action
from actions.errors import ActionError
from actions.keys import UnknownKeyError
from agent.cli.options import env_kind, parse_size
from agent.record.demonstration import RecordOptions, record_demonstration
from agent.record.input_grouping import parse_hotkey
from agent.replay.environment import REPLAY_KINDS, ReplayEnvRequest, replay_env
from agent.replay.reenact import (
    OnDivergence, ReplayError, ReplayOptions, ReplayReport, StepReplay, load_episode, replay, selected_steps,
)
from agent.replay.similarity import DEFAULT_THRESHOLD
from environments.base import TaskOptions
from environments.chromium import BrowserStartError
from environments.kinds import MANAGED_VM_KINDS, VM_KINDS, EnvKind, make_env
from environments.remote.client import VMError
from environments.screen import CaptureError
from environments.virtual_desktop import DesktopStartError

console = Console(soft_wrap=True)
START_ERRORS = (DesktopStartError, BrowserStartError, CaptureError, ActionError, OSError, VMError, ValueError)


def replay_command(
    trajectory: Annotated[Path, typer.Argument(help="Episode folder (holding episode.json), or a --record folder with one episode.")],
    env: Annotated[str | None, typer.Option(help="desktop: the X display in $DISPLAY; xvfb: a fresh virtual desktop (--launch); browser: a Chromium page (--url); osworld/waa: a VM server (--vm-url); vm: a QEMU VM booted from --vm-image for the replay and stopped after it. Default: the environment the recording ran on, else desktop.", show_default=False)] = None,
    vm_url: Annotated[str | None, typer.Option(help="VM server speaking OSWorld's protocol (--env osworld/waa).")] = None,
    vm_image: Annotated[Path | None, typer.Option(help="--env vm: the qcow2 image to boot (never written). Default: the image the recording's VM booted from.", show_default=False)] = None,
    vm_token: Annotated[str | None, typer.Option(envvar="KIMI_VM_TOKEN", help="Bearer token for the VM server.")] = None,
    url: Annotated[str | None, typer.Option(help="Page the browser opens first (--env browser). Default: the recorded page.")] = None,
    size: Annotated[str | None, typer.Option(help="xvfb screen / browser viewport, WIDTHxHEIGHT. Default: the recorded screen's size.")] = None,
    launch: Annotated[list[str] | None, typer.Option(help="Program to start on the xvfb desktop first (repeatable), e.g. 'xterm'. Default: the recorded launch commands.")] = None,
    monitor: Annotated[int, typer.Option(min=0, help="Monitor to act on with --env desktop (1 = primary, 0 = all).")] = 1,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Similarity below which a step has diverged. Similarity is the fraction of screen blocks (32 px at 1280 wide) that look the same (blockwise SSIM), 0..1. Measured on 1280x800 desktops: same state ≥ 0.998 (with a cursor or a ticking clock), another window or terminal content ≤ 0.88 (see agent/replay/similarity.py).")] = DEFAULT_THRESHOLD,
    on_divergence: Annotated[str, typer.Option(help="stop: stop at the first diverged step (exit 3); warn: say so and go on (exit 1 at the end).")] = "stop",
    speed: Annotated[float | None, typer.Option(min=0.01, help="Keep the recorded pace between steps, divided by SPEED (1 = as recorded, 2 = twice as fast). Default: no waits beyond settling.")] = None,
    patience: Annotated[float, typer.Option(min=0.0, help="Seconds to keep re-checking a screen that does not match yet before calling it diverged.")] = 1.0,
    from_step: Annotated[int, typer.Option("--from", min=1, help="First step to replay (1-based, as run prints them).")] = 1,
    to_step: Annotated[int | None, typer.Option("--to", min=1, help="Last step to replay (default: the last recorded).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only print the actions each step would perform; no environment.")] = False,
    evidence: Annotated[Path | None, typer.Option(help="Folder for each diverged step's recorded and live frames side by side (PNG). Default: replay-diverged/ in the episode folder.", show_default=False)] = None,
) -> None:
    """Re-execute a recorded trajectory's actions step by step on a fresh environment, checking each step's screen first.

    Before a step, the live screen is compared with the frame recorded before it; a step below --threshold has diverged (its recorded and live frames are saved side by side, see --evidence). The environment is started as the recording says it was (env, size, launch commands, page) unless an option says otherwise. Actions are replayed as recorded, never re-grounded. Exit status: 0 every step matched and ran, 3 stopped at a divergence, 1 diverged steps were warned about or an action failed, 2 cannot start.
    """
    kind = cast(EnvKind, env_kind(env, REPLAY_KINDS)) if env is not None else None
    if vm_image is not None and kind not in (*MANAGED_VM_KINDS, None):
        raise typer.BadParameter("is for --env vm", param_hint="--vm-image")
    if on_divergence not in ("stop", "warn"):
        raise typer.BadParameter("use stop or warn", param_hint="--on-divergence")
    try:
        episode = load_episode(trajectory)
        steps = selected_steps(episode, from_step, to_step)
    except (ReplayError, OSError, ValueError) as err:
        console.print(f"[red]cannot replay: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    config, reused = replay_env(episode, ReplayEnvRequest(
        kind=kind, size=parse_size(size) if size else None,
        launch=tuple(tuple(shlex.split(cmd)) for cmd in launch) if launch else None,
        url=url, monitor=monitor, vm_url=vm_url, vm_token=vm_token,
        vm_image=str(vm_image.resolve()) if vm_image is not None else None,
    ))
    if config.kind in VM_KINDS and not config.vm_url:
        raise typer.BadParameter(f"--env {config.kind} needs the VM server's URL", param_hint="--vm-url")
    if config.kind in MANAGED_VM_KINDS:
        if not config.vm_image:
            raise typer.BadParameter("--env vm needs the image to boot (the recording names none)",
                                     param_hint="--vm-image")
        if not Path(config.vm_image).is_file():
            raise typer.BadParameter(f"no image at {config.vm_image}", param_hint="--vm-image")
    elif vm_image is not None:
        raise typer.BadParameter(f"is for --env vm; this replay runs on {config.kind}", param_hint="--vm-image")
    if config.kind == "browser" and config.url == "about:blank" and url is None:
        raise typer.BadParameter("--env browser needs the page to start from (the recording names none)",
                                 param_hint="--url")
    options = ReplayOptions(threshold, cast(OnDivergence, on_divergence), speed, patience, from_step, to_step,
                            evidence=evidence or episode.folder / "replay-diverged")
    console.print(f"replaying {len(steps)} step(s) of {escape(str(episode.folder))}: {escape(episode.info.instruction)}", highlight=False)
    if dry_run:
        for step in steps:
            chains = step.coordinates + [None] * (len(step.actions) - len(step.coordinates))
            actions = ", ".join(describe_action(a, c) for a, c in zip(step.actions, chains)) or "-"
            console.print(f"step {step.index + 1}: {escape(actions)}", highlight=False)
        return
    if reused:
        console.print(f"as recorded: {escape('; '.join(reused))}", highlight=False)
    try:
        environment = make_env(config)
    except START_ERRORS as err:
        console.print(f"[red]cannot start the environment: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:  # e.g. while a VM boots: what it started dies with this process
        console.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(130) from None
    interrupted = False
    try:
        environment.reset(options=TaskOptions(instruction=episode.info.instruction))
        report = replay(environment, episode, options, on_step=lambda s: console.print(_step_line(s, threshold), highlight=False))
    except ReplayError as err:
        console.print(f"[red]cannot replay: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        interrupted = True
        console.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(130) from None
    finally:
        if interrupted:
            _close_quietly(environment)
        else:
            environment.close()
    console.print(replay_table(report, threshold))
    console.print(_verdict(report, threshold), highlight=False)
    for result in report.diverged:
        if result.evidence is not None:
            where = escape(str(result.evidence))
            console.print(f"step {result.number} diverged: recorded | live frames in {where}", highlight=False)
    raise typer.Exit(report.exit_status)


def _actions_text(result: StepReplay) -> str:
    return ", ".join(describe_action(a) for a in result.actions) or "-"


def _step_line(result: StepReplay, threshold: float) -> str:
    s = result.similarity
    verdict = "[red]DIVERGED[/red]" if result.diverged else "[green]match[/green]"
    error = f" [red]failed: {escape(result.error)}[/red]" if result.error else ""
    return (f"step {result.number}: similarity {s.score:.3f} ({s.changed_blocks}/{s.blocks} blocks differ, "
            f"threshold {threshold:.3f}) {verdict} {escape(_actions_text(result))}{error}")


def replay_table(report: ReplayReport, threshold: float) -> Table:
    """Per-step similarity, verdict and what was performed."""
    table = Table(title=f"replay (threshold {threshold:.3f})")
    for column in ("step", "similarity", "changed blocks", "screen", "performed", "actions"):
        table.add_column(column, justify="left" if column in ("screen", "actions") else "right")
    for r in report.steps:
        screen = "[red]diverged[/red]" if r.diverged else "match"
        performed = f"{r.performed}/{len(r.actions)}" + (f" [red]({escape(r.error)})[/red]" if r.error else "")
        table.add_row(str(r.number), f"{r.similarity.score:.3f}", f"{r.similarity.changed_blocks}/{r.similarity.blocks}",
                      screen, performed, escape(_actions_text(r)))
    return table


def _verdict(report: ReplayReport, threshold: float) -> str:
    if report.stopped_at is not None:
        score = report.steps[-1].similarity.score
        return f"[red]diverged at step {report.stopped_at}: similarity {score:.3f} < {threshold:.3f}; stopped[/red]"
    if report.failed is not None:
        return f"[red]step {report.failed.number} failed: {escape(report.failed.error or '')}[/red]"
    if report.diverged:
        numbers = ", ".join(str(s.number) for s in report.diverged)
        return f"[yellow]replayed {len(report.steps)} step(s); diverged at step(s) {numbers}[/yellow]"
    return f"[green]replayed {len(report.steps)} step(s); no divergence[/green]"


def record_command(
    folder: Annotated[Path, typer.Argument(help="New episode folder to write (must not exist or be empty).")],
    stop_hotkey: Annotated[str, typer.Option(help="Key combination that ends the recording (not recorded itself).")] = "ctrl+alt+q",
    max_seconds: Annotated[float | None, typer.Option(min=0.1, help="End the recording after this long.")] = None,
    monitor: Annotated[int, typer.Option(min=0, help="Monitor whose frames are recorded (1 = primary, 0 = all).")] = 1,
    instruction: Annotated[str, typer.Option(help="What the demonstration shows (stored as the episode's instruction).")] = "human demonstration",
) -> None:
    """Record a human demonstration on the display in $DISPLAY as a trajectory that `replay` can re-execute.

    Mouse clicks, drags, scrolls and keys become typed actions (double clicks within 400 ms, text runs, hotkeys), each step with the frame from just before it, until --stop-hotkey, --max-seconds or Ctrl+C.
    """
    try:
        stop_keys = parse_hotkey(stop_hotkey)
    except UnknownKeyError as err:
        raise typer.BadParameter(str(err), param_hint="--stop-hotkey") from None
    if folder.exists() and any(folder.iterdir()):
        console.print(f"[red]{escape(str(folder))} is not empty: choose a new folder[/red]", highlight=False)
        raise typer.Exit(2)
    if not os.environ.get("DISPLAY"):
        console.print("[red]DISPLAY is not set: there is no X display to record[/red]", highlight=False)
        raise typer.Exit(2)
    options = RecordOptions(folder, stop_keys, max_seconds, monitor, instruction)
    ready = f"recording on {os.environ['DISPLAY']} into {folder}; press {stop_hotkey} to stop"
    try:
        result = record_demonstration(
            options, on_ready=lambda: console.print(ready, markup=False, highlight=False),
            on_step=lambda r: console.print(f"step {r.index + 1}: {escape(r.intent)}", highlight=False),
        )
    except CaptureError as err:
        console.print(f"[red]cannot record: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if result.skipped:
        console.print(f"[yellow]not recorded (no such action): {escape(', '.join(result.skipped))}[/yellow]", highlight=False)
    console.print(f"recorded {result.steps} step(s) ({result.outcome}) into {escape(str(folder))}", highlight=False)
    if result.outcome == "interrupted":  # Ctrl+C ends a recording; the status says so, as `run` and `eval` do
        raise typer.Exit(130)


if __name__ == "__main__":
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)
    app.command("replay")(replay_command)
    app.command("record")(record_command)
    app()


def _close_quietly(environment: Any) -> None:
    """Close after Ctrl+C: a second Ctrl+C, or a part already stopped by the first, must not turn the
    one-line interruption into a traceback; what is left dies with this process."""
    try:
        environment.close()
    except (Exception, KeyboardInterrupt):  # noqa: BLE001 - nothing more to do for this environment
        pass
