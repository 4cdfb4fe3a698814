"""`kimi-agent ground` and `kimi-agent eval --grounding`: the command line of `agent.grounding`."""

from __future__ import annotations

import json
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated, cast

import typer
from PIL import Image
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from actions.errors import ActionError
from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, resolve_checkpoint
from agent.backends.preflight import check_endpoints
from agent.backends.registry import BackendSpec, open_backend, open_openai
from agent.cli.options import EXTRA_BODY_HELP, backend_name, extra_body
from agent.grounding import (
    BBOX_FORMATS, BboxFormat, DatasetError, Grounding, Sample, SampleResult, Summary, ask, draw_point,
    evaluate, grounding_perception, grounding_sampling, image_screenshot, load_dataset, read_answer, score,
    summarise, write_summary,
)
from environments.screen import CaptureError, ScreenCapture, Screenshot

console = Console()
SERVE_LOG = Path("recordings/vllm-serve.log")

BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1. Default: use or start `vllm serve` on port 8000.")]
Model = Annotated[str, typer.Option(help="Model name the server serves (also picks the image limit and sampling).")]
ApiKey = Annotated[str | None, typer.Option(envvar="KIMI_AGENT_API_KEY", help="Bearer token for the endpoint.")]


def ground_command(
    target: Annotated[list[str], typer.Argument(metavar="[IMAGE] INSTRUCTION", help="The screenshot file, then the element to find in plain words (with --screen, only the words).", show_default=False)],
    screen: Annotated[bool, typer.Option("--screen", help="Ground on a live capture of the display in $DISPLAY instead of an image file.")] = False,
    monitor: Annotated[int, typer.Option(min=0, help="Monitor to capture with --screen (1 = primary, 0 = all).")] = 1,
    out: Annotated[Path | None, typer.Option(help="Save the image with the point drawn on it (a PNG path).")] = None,
    base_url: BaseUrl = None,
    model: Model = DEFAULT_CHECKPOINT,
    api_key: ApiKey = None,
    temperature: Annotated[float | None, typer.Option(min=0.0, max=2.0, help="Sampling temperature (default 0: greedy, as grounding evaluations use).")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Override the checkpoint's max_tokens.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    backend: Annotated[str, typer.Option(help="openai: an OpenAI-compatible server (--base-url, or the local vllm serve); vllm-offline: vllm.LLM in this process (needs the vllm extra and a GPU); scripted: answer with the first recorded reply of --script, no model.")] = "openai",
    script: Annotated[Path | None, typer.Option(help="With --backend scripted: a script file {\"replies\": [...]} or a recorded episode folder.")] = None,
    extra_body_json: Annotated[str | None, typer.Option("--extra-body", help=EXTRA_BODY_HELP)] = None,
) -> None:
    """Ask Kimi-VL where an element is: one request with the grounding prompt; print the point.

    The image is resized and encoded as the agent does it; the point is printed in pixels of the ORIGINAL image (or screenshot) and as fractions of its size. An unusable reply prints the error and exits with status 2; nothing is ever clicked.
    """
    name = backend_name(backend, script)
    extra = extra_body(extra_body_json)
    _, warning = resolve_checkpoint(model)
    if warning and not json_output:  # --json: stdout is one JSON object and nothing else
        console.print(f"[yellow]warning: {escape(warning)}[/yellow]", highlight=False)
    shot, instruction = _target(target, screen, monitor)
    spec = BackendSpec(name, model, base_url, api_key, script, SERVE_LOG, extra_body=extra)
    try:
        check_endpoints(name, [base_url], model, api_key)
        with ExitStack() as stack:
            completion, frame = ask(open_backend(spec, stack, _status), grounding_sampling(model, temperature, max_tokens),
                                    grounding_perception(model), shot, instruction)
    except BackendError as err:
        console.print(f"[red]cannot ground: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    try:
        found = read_answer(completion, frame)
    except ActionError as err:
        if json_output:
            typer.echo(json.dumps({"error": str(err), "reply": completion.text}, ensure_ascii=False))
        else:
            console.print(f"[red]no usable point: {escape(str(err))}[/red]\nreply:", highlight=False)
            console.print(completion.text, markup=False, highlight=False)
        raise typer.Exit(2) from None
    if out is not None:
        try:
            draw_point(shot.image, found.exact, out)
        except (OSError, ValueError) as err:  # unwritable path, or an extension Pillow cannot save
            console.print(f"[red]cannot write {escape(str(out))}: {escape(str(err))}[/red]", highlight=False)
            raise typer.Exit(2) from None
    _print_grounding(found, shot, screen, out, json_output)


def _target(target: list[str], screen: bool, monitor: int) -> tuple[Screenshot, str]:
    """The screenshot to ground on (a file, or a capture with --screen) and the instruction."""
    if len(target) != (1 if screen else 2):
        usage = "with --screen give only the INSTRUCTION" if screen else "give IMAGE and INSTRUCTION (or --screen INSTRUCTION)"
        raise typer.BadParameter(usage, param_hint="[IMAGE] INSTRUCTION")
    instruction = target[-1]
    if not instruction.strip():
        raise typer.BadParameter("the instruction is empty; say which element to find", param_hint="INSTRUCTION")
    if screen:
        capture = ScreenCapture(monitor)
        try:
            return capture.capture(), instruction
        except CaptureError as err:
            console.print(f"[red]cannot capture the screen: {escape(str(err))}[/red]", highlight=False)
            raise typer.Exit(2) from None
        finally:
            capture.close()
    try:
        with Image.open(target[0]) as image:
            return image_screenshot(image), instruction
    except OSError as err:  # a missing file, or one Pillow cannot identify
        raise typer.BadParameter(f"cannot read {target[0]}: {err}", param_hint="IMAGE") from None


def _print_grounding(found: Grounding, shot: Screenshot, screen: bool, out: Path | None, as_json: bool) -> None:
    (x, y), (rx, ry), (width, height) = found.pixel, found.relative, shot.size
    if as_json:
        record = {
            "pixel": [x, y], "relative": [round(rx, 6), round(ry, 6)], "image_size": [width, height],
            "model_image_size": [found.frame.image_width, found.frame.image_height],
            "intent": found.intent, "reply": found.completion.text,
        }
        if screen:
            record["screen"] = list(found.chain.screen)
        if out is not None:
            record["drawn"] = str(out)
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    if found.intent:
        console.print(f"intent: {escape(found.intent)}", highlight=False)
    console.print(f"point: x={x} y={y} px of the {width}×{height} image (relative {rx:.4f}, {ry:.4f})", highlight=False)
    if screen:
        sx, sy = found.chain.screen
        console.print(f"screen: x={sx} y={sy} (logical points)", highlight=False)
    if out is not None:
        console.print(f"drawn: {escape(str(out))}", highlight=False)


def grounding_eval(
    dataset: Annotated[Path, typer.Argument(help="A ScreenSpot-V2 folder (screenspot_*_v2.json + screenspotv2_image/), a ScreenSpot-Pro folder (annotations/ + images/), or one annotation JSON file.", show_default=False)],
    results: Annotated[Path, typer.Option(help="Where results.jsonl and summary.json go; rerunning resumes.")] = Path("results/grounding"),
    base_url: BaseUrl = None,
    model: Model = DEFAULT_CHECKPOINT,
    api_key: ApiKey = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 8,
    bbox_format: Annotated[str | None, typer.Option(help="Box layout: xywh (\\[x, y, width, height], ScreenSpot-V2) or xyxy (\\[x1, y1, x2, y2], ScreenSpot-Pro). Default: the detected layout's.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N samples.")] = None,
) -> None:
    """Score Kimi-VL on a ScreenSpot-style grounding dataset: a hit is a point inside the target box.

    Prints accuracy overall and per ui_type, platform, application, group and data_source (those present). Unparseable replies are misses, counted apart; samples whose request failed are errored (in the denominator, asked again on resume). Exit status 1 if any sample errored.
    """
    if bbox_format is not None and bbox_format not in BBOX_FORMATS:
        raise typer.BadParameter("use xywh or xyxy", param_hint="--bbox-format")
    try:
        data = load_dataset(dataset, cast(BboxFormat | None, bbox_format))
    except DatasetError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    samples = data.samples[:limit]
    try:
        check_endpoints("openai", [base_url], model, api_key)
    except BackendError as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"{data.layout}: {len(samples)} sample(s), boxes {data.bbox_format}", highlight=False)
    progress = Progress(TextColumn("[bold]grounding"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True)
    bar = progress.add_task("", total=len(samples))
    hits = 0

    def finished(sample: Sample, result: SampleResult, resumed: bool) -> None:
        nonlocal hits
        hits += result.hit
        progress.update(bar, advance=1, description=f"{hits} hit(s)")

    try:
        with ExitStack() as stack:
            backend = open_openai(stack, base_url, model, api_key, SERVE_LOG, _status)
            ask_one = partial(score, backend=backend, sampling=grounding_sampling(model),
                              perception=grounding_perception(model))
            with progress:
                outcome = evaluate(samples, results, ask_one, concurrency, finished)
    except BackendError as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: answered samples are kept; rerun the same command to resume[/yellow]")
        raise typer.Exit(130) from None
    summary = summarise(samples, outcome, dataset=str(dataset), model=model, bbox_format=data.bbox_format)
    path = write_summary(summary, results)
    console.print(summary_table(summary))
    console.print(f"summary: {escape(str(path))}", highlight=False)
    raise typer.Exit(1 if summary.overall.errored else 0)


def summary_table(summary: Summary) -> Table:
    """Accuracy overall and per value of every breakdown."""
    table = Table(title="grounding accuracy (hits / every scheduled sample)")
    for column in ("breakdown", "value", "samples", "hits", "unparseable", "errored", "accuracy"):
        table.add_column(column, justify="left" if column in ("breakdown", "value") else "right")
    for key, values in summary.breakdowns.items():
        for value, tally in sorted(values.items()):
            table.add_row(key, escape(value), str(tally.total), str(tally.hits), str(tally.unparseable),
                          str(tally.errored), f"{tally.accuracy:.3f}")
    o = summary.overall
    table.add_row("all", "", str(o.total), str(o.hits), str(o.unparseable), str(o.errored), f"{o.accuracy:.3f}",
                  style="bold")
    return table


def _status(message: str) -> None:
    console.print(message, markup=False, highlight=False)
