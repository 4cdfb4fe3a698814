"""`kimi-agent view` and `kimi-agent export`: trajectories as a page, a video, or training data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from agent.export import export_dataset, find_episodes
from agent.export.datasets import ExportFormat, VariantChoice
from agent.trajectory.store import EPISODE_FILE, TrajectoryReadError, TrajectoryVersionError, read_trajectory
from agent.view import VideoUnavailable, render_html, write_gif, write_mp4

console = Console()
PAGE_NAME = "trajectory.html"


def view_command(
    folder: Annotated[Path, typer.Argument(help="An episode folder (holding episode.json), or a folder with exactly one under it, such as an eval task's results folder.")],
    out: Annotated[Path | None, typer.Option(help=f"HTML page to write. Default: FOLDER/{PAGE_NAME}.", show_default=False)] = None,
    frames_beside: Annotated[bool, typer.Option(help="Copy the frames into OUT's folder (OUT_frames/) instead of embedding them in the page as data URLs.")] = False,
    html: Annotated[bool, typer.Option(help="Write the HTML page (--no-html: only the videos).")] = True,
    gif: Annotated[Path | None, typer.Option(help="Also write an animated GIF with the actions drawn on each step's frame.", show_default=False)] = None,
    mp4: Annotated[Path | None, typer.Option(help="Also write an H.264 MP4 with the actions drawn in (needs the 'video' extra: PyAV).", show_default=False)] = None,
    seconds_per_step: Annotated[float, typer.Option(min=0.05, max=60, help="How long each step's frame shows in the GIF/MP4.")] = 1.0,
) -> None:
    """Render a recorded episode: one self-contained HTML page (frames with the actions drawn on them, thoughts, raw replies, timings), and optionally a GIF or MP4.

    Open the page in any browser: ←/→ or j/k move between steps, Home/End go to the first/last. Model output on the page is shown as text, never run.
    """
    try:
        episode = _one_episode(folder)
        trajectory = read_trajectory(episode)
        if html:
            page = render_html(trajectory, out or episode / PAGE_NAME, frames_beside=frames_beside)
            console.print(f"page: {escape(str(page))} ({len(trajectory.steps)} steps)", highlight=False, soft_wrap=True)
        if gif is not None:
            count = write_gif(trajectory, gif, seconds_per_step)
            console.print(f"gif: {escape(str(gif))} ({count} frames)", highlight=False, soft_wrap=True)
        if mp4 is not None:
            count = write_mp4(trajectory, mp4, seconds_per_step)
            console.print(f"mp4: {escape(str(mp4))} ({count} frames)", highlight=False, soft_wrap=True)
    except (FileNotFoundError, TrajectoryVersionError, VideoUnavailable, ValueError) as err:
        console.print(f"[red]cannot view: {escape(str(err))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def export_command(
    folders: Annotated[list[Path], typer.Argument(help="Episode folders, or folders searched for them (a recordings folder, an eval results folder).")],
    out: Annotated[Path, typer.Option(help="File to write: a JSON array for sharegpt, JSON lines for grounding. Image paths in it are relative to its folder.")],
    data_format: Annotated[str, typer.Option("--format", help="sharegpt: one multimodal conversation per step, as the agent would ask it (LLaMA-Factory's layout); grounding: one {image, instruction, point} line per click.")] = "sharegpt",
    variant: Annotated[str, typer.Option(help="Reply layout for sharegpt: thinking, instruct, or auto (the prompt each episode was recorded with).")] = "auto",
    successful_only: Annotated[bool, typer.Option(help="Only episodes scored 1 by their evaluator (or, unscored, that ended with done).")] = False,
) -> None:
    """Export recorded episodes as fine-tuning data, with the agent's own prompt and reply format and coordinates as fractions 0..1 of each frame."""
    if data_format not in ("sharegpt", "grounding"):
        raise typer.BadParameter("use sharegpt or grounding", param_hint="--format")
    if variant not in ("auto", "thinking", "instruct"):
        raise typer.BadParameter("use auto, thinking or instruct", param_hint="--variant")
    fmt: ExportFormat = "sharegpt" if data_format == "sharegpt" else "grounding"
    chosen: VariantChoice = "thinking" if variant == "thinking" else "instruct" if variant == "instruct" else "auto"
    try:
        report = export_dataset(folders, out, fmt, chosen, successful_only)
    except (FileNotFoundError, TrajectoryVersionError, TrajectoryReadError) as err:
        console.print(f"[red]cannot export: {escape(str(err))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    skipped = f", {report.skipped} unsuccessful left out" if report.skipped else ""
    console.print(
        f"{escape(str(out))}: {report.samples} {fmt} samples from {report.episodes} episode(s){skipped}",
        highlight=False, soft_wrap=True,
    )


def _one_episode(folder: Path) -> Path:
    found = find_episodes([folder])
    if len(found) != 1:
        names = ", ".join(str(p) for p in found[:5])
        raise FileNotFoundError(f"{folder} holds {len(found)} episodes ({EPISODE_FILE}): name one of {names}")
    return found[0]
