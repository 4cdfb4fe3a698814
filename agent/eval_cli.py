"""`kimi-agent eval`: the command line of `agent.evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT
from agent.evaluate import SUMMARY_FILE, EvalOptions, Summary, TaskResult, run_eval
from agent.grounding_cli import grounding_eval
from environments.tasks.load import TaskLoadError
from environments.tasks.suite import SUITE_INDEX

console = Console()


def eval_command(
    tasks: Annotated[Optional[Path], typer.Option(help="A task file, a folder of them, or an index file {domain: \\[ids]} (with --examples). Default: the shipped local suite.", show_default=False)] = None,
    examples: Annotated[Optional[Path], typer.Option(help="Folder an index file's ids resolve in (default: 'examples' beside it).")] = None,
    results: Annotated[Path, typer.Option(help="Where per-task folders and summary.json go; rerunning resumes.")] = Path("results"),
    env: Annotated[str, typer.Option(help="auto (each task's own 'env' field, default xvfb), xvfb, browser or desktop.")] = "auto",
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint. Default: use or start `vllm serve` on port 8000.")] = None,
    model: Annotated[str, typer.Option(help="Model name the server serves (also picks prompt variant and sampling).")] = DEFAULT_CHECKPOINT,
    api_key: Annotated[Optional[str], typer.Option(envvar="KIMI_AGENT_API_KEY", help="Bearer token for the endpoint.")] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Step budget per task (OSWorld's harnesses use 15, 50 or 100).")] = 15,
    size: Annotated[str, typer.Option(help="Screen size of each virtual desktop / browser viewport, WIDTHxHEIGHT.")] = "1280x800",
    retries: Annotated[int, typer.Option(min=0, help="Reruns of an errored task on a fresh environment.")] = 1,
    offline: Annotated[bool, typer.Option(help="Never download: reference files must already be in the download cache.")] = False,
    grounding: Annotated[Optional[Path], typer.Option(help="Evaluate grounding on a ScreenSpot-V2/Pro folder instead of tasks (results in RESULTS/grounding).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Grounding: requests in flight at once.")] = 8,
    bbox_format: Annotated[Optional[str], typer.Option(help="Grounding: xywh (ScreenSpot-V2) or xyxy (ScreenSpot-Pro); default from the layout.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Grounding: only the first N samples.")] = None,
) -> None:
    """Run OSWorld-format tasks with the agent, score each with its evaluator, and summarise.

    Each task gets RESULTS/<domain>/<id>/ with result.txt (its score), log.txt and the trajectory; RESULTS/summary.json counts every scheduled task. Errored tasks are reported apart, never dropped, and rerun on resume.
    """
    if grounding is not None:
        grounding_eval(grounding, results / "grounding", base_url, model, api_key, concurrency, bbox_format, limit)
    if env not in ("auto", "xvfb", "browser", "desktop"):
        raise typer.BadParameter("use auto, xvfb, browser or desktop", param_hint="--env")
    try:
        width, height = (int(n) for n in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter("use WIDTHxHEIGHT, e.g. 1280x800", param_hint="--size") from None
    options = EvalOptions(
        tasks=tasks or SUITE_INDEX, examples=examples, results=results, env=env, base_url=base_url, model=model, api_key=api_key,
        max_steps=max_steps, size=(width, height), retries=retries, offline=offline,
    )
    progress = Progress(
        TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=console, transient=True,
    )
    bar = progress.add_task("", total=None)

    def started(task, index: int, total: int) -> None:
        progress.update(bar, total=total, description=f"running {task.domain}/{task.id}")

    def finished(result: TaskResult, summary: Summary) -> None:
        progress.update(bar, completed=len(summary.tasks), description=_running_rate(summary))
        progress.console.print(_result_line(result), highlight=False)

    try:
        with progress:
            summary = run_eval(options, started, finished, on_status=lambda s: progress.console.print(s, markup=False))
    except TaskLoadError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except BackendError as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished tasks are kept; rerun the same command to resume[/yellow]")
        raise typer.Exit(130) from None
    console.print(domain_table(summary))
    console.print(f"summary: {escape(str(results / SUMMARY_FILE))}", highlight=False)
    raise typer.Exit(1 if summary.errored else 0)


def _running_rate(summary: Summary) -> str:
    return (f"{summary.finished} finished, {summary.errored} errored, "
            f"success {summary.total_score:g}/{summary.scheduled}")


def _result_line(result: TaskResult) -> str:
    name = escape(f"{result.domain}/{result.task_id}")
    if result.status == "errored":
        return f"[red]ERROR[/red] {name}: {escape(result.error or '')}"
    colour = "green" if (result.score or 0) >= 1 else "yellow" if (result.score or 0) > 0 else "red"
    resumed = " (finished earlier)" if result.resumed else f" in {result.steps} step(s), {result.seconds:.1f} s"
    return f"[{colour}]{result.score:g}[/{colour}] {name}{resumed}"


def domain_table(summary: Summary) -> Table:
    table = Table(title="scores (mean over every scheduled task; errored tasks count as nothing)")
    for column in ("domain", "scheduled", "finished", "errored", "score"):
        table.add_column(column, justify="left" if column == "domain" else "right")
    for domain, row in sorted(summary.by_domain.items()):
        table.add_row(domain, str(row["scheduled"]), str(row["finished"]), str(row["errored"]),
                      f"{row['total_score'] / row['scheduled']:.3f}")
    table.add_row("all", str(summary.scheduled), str(summary.finished), str(summary.errored),
                  f"{summary.mean_score:.3f}", style="bold")
    return table
