"""`kimi-agent eval`: the command line of `agent.evaluation.dispatcher`."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Optional, get_args

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT
from agent.cli.ground import grounding_eval
from agent.cli.options import backend_name, env_kind, parse_size
from agent.evaluation.dispatcher import run_eval
from agent.evaluation.options import EnvChoice, EvalOptions, RayOptions
from agent.evaluation.ray_executor import RayExecutorError, import_ray
from agent.evaluation.results import SUMMARY_FILE, Summary, TaskResult
from agent.safety import PolicyError, load_policy
from environments.kinds import VM_KINDS
from environments.settings import SettingError
from environments.tasks.load import TaskLoadError
from environments.tasks.suite import SUITE_INDEX

console = Console()


def eval_command(
    tasks: Annotated[Optional[Path], typer.Option(help="A task file, a folder of them, or an index file {domain: \\[ids]} (with --examples). Default: the shipped local suite.", show_default=False)] = None,
    examples: Annotated[Optional[Path], typer.Option(help="Folder an index file's ids resolve in (default: 'examples' beside it).")] = None,
    results: Annotated[Path, typer.Option(help="Where per-task folders and summary.json go; rerunning resumes.")] = Path("results"),
    env: Annotated[str, typer.Option(help="auto (each task's own 'env' field, default xvfb), xvfb, browser, desktop, or a VM: osworld, waa; static: a generated screen for harness benchmarks.")] = "auto",
    vm_url: Annotated[Optional[list[str]], typer.Option(help="VM server URL for --env osworld/waa (repeat: one per worker).")] = None,
    vm_urls_file: Annotated[Optional[Path], typer.Option(help="A file with one VM server URL per line; with --executor ray, optionally followed by a Ray custom resource the VM's actor needs (pins it to the VM's node).")] = None,
    vm_token: Annotated[Optional[str], typer.Option(envvar="KIMI_VM_TOKEN", help="Bearer token for the VM servers.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Tasks run at once, each worker in its own process (or Ray actor) with its own environment.")] = 1,
    executor: Annotated[str, typer.Option(help="local (worker processes on this machine) or ray (actors on a Ray cluster; needs the 'ray' extra).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray: the cluster's address (HOST:PORT of `ray start --head`). Default: RAY_ADDRESS, else the cluster last started here, else a one-machine cluster for this run.")] = None,
    actor_cpus: Annotated[float, typer.Option(min=0, help="Ray: CPUs each actor reserves.")] = 1.0,
    actor_memory: Annotated[Optional[str], typer.Option(help="Ray: memory each actor reserves, e.g. 2G or 512M (placement only, not a limit).")] = None,
    ray_resources: Annotated[Optional[str], typer.Option(help='Ray: custom resources each actor reserves, as JSON, e.g. \'{"display": 1}\' (nodes declare them with `ray start --resources`).')] = None,
    requeue: Annotated[int, typer.Option(min=0, help="Ray: reruns of a task whose actor or node died, before it counts as errored.")] = 1,
    policy: Annotated[Optional[Path], typer.Option(help="Action policy (TOML). Default: the sandbox policy (denies only session-ending keys) on xvfb, browser and VMs; the full default policy on --env desktop. Nobody confirms during eval, so `confirm` rules refuse.", rich_help_panel="Safety", show_default=False)] = None,
    max_repeats: Annotated[int, typer.Option(min=0, help="Runaway: the same actions asked for this many times in a row on a screen they did not change (0: off, the default in eval, so scores stay comparable; `run` uses 3).", rich_help_panel="Safety")] = 0,
    max_unchanged: Annotated[int, typer.Option(min=0, help="Runaway: this many steps in a row that left the screen unchanged (0: off, the default in eval; `run` uses 6).", rich_help_panel="Safety")] = 0,
    on_runaway: Annotated[str, typer.Option(help="intervene: warn the model first, stop if it goes on; stop: stop at once.", rich_help_panel="Safety")] = "intervene",
    backend: Annotated[str, typer.Option(help="openai: an OpenAI-compatible server (--base-url, or the local vllm serve); vllm-offline: vllm.LLM in the worker (needs the vllm extra and a GPU; --workers 1); scripted: recorded replies (--script), no model.")] = "openai",
    script: Annotated[Optional[Path], typer.Option(help="With --backend scripted: a folder of per-task solutions (script files that name their instruction), a script file or an episode folder.")] = None,
    base_url: Annotated[Optional[list[str]], typer.Option(help="OpenAI-compatible endpoint (repeat: dealt round-robin to workers). Default: use or start `vllm serve` on port 8000.")] = None,
    model: Annotated[str, typer.Option(help="Model name the server serves (also picks prompt variant and sampling).")] = DEFAULT_CHECKPOINT,
    api_key: Annotated[Optional[str], typer.Option(envvar="KIMI_AGENT_API_KEY", help="Bearer token for the endpoint.")] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Step budget per task (OSWorld's harnesses use 15, 50 or 100).")] = 15,
    temperature: Annotated[Optional[float], typer.Option(help="Override the checkpoint's recommended temperature.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Override the checkpoint's max_tokens.")] = None,
    size: Annotated[str, typer.Option(help="Screen size of each virtual desktop / browser viewport, WIDTHxHEIGHT.")] = "1280x800",
    retries: Annotated[int, typer.Option(min=0, help="Reruns of an errored task on a fresh environment.")] = 1,
    offline: Annotated[bool, typer.Option(help="Never download: reference files must already be in the download cache.")] = False,
    grounding: Annotated[Optional[Path], typer.Option(help="Evaluate grounding on a ScreenSpot-V2/Pro folder instead of tasks (results in RESULTS/grounding).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Grounding: requests in flight at once.")] = 8,
    bbox_format: Annotated[Optional[str], typer.Option(help="Grounding: xywh (ScreenSpot-V2) or xyxy (ScreenSpot-Pro); default from the layout.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Grounding: only the first N samples.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Run nothing: summarise this results folder (table, and a chart with --out).", show_default=False)] = None,
    compare: Annotated[Optional[Path], typer.Option(help="With --report: a second results folder to compare task by task.", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(help="With --report: write an HTML page with a bar chart and the tables.", show_default=False)] = None,
) -> None:
    """Run OSWorld-format tasks with the agent, score each with its evaluator, and summarise.

    Each task gets RESULTS/<domain>/<id>/ with result.txt (its score), log.txt and the trajectory; RESULTS/summary.json counts every scheduled task. Errored tasks are reported apart, never dropped, and rerun on resume.
    """
    if report is not None:
        raise typer.Exit(show_report(report, compare, out))
    if grounding is not None:
        grounding_eval(grounding, results / "grounding", base_url, model, api_key, concurrency, bbox_format, limit)
    env_kind(env, get_args(EnvChoice))
    urls = list(vm_url or [])
    vm_resources = [""] * len(urls)
    if vm_urls_file is not None:
        for line in vm_urls_file.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                url, *rest = line.split()
                if len(rest) > 1:
                    raise typer.BadParameter(f"{line.strip()!r}: a line is a URL and at most one resource name",
                                             param_hint="--vm-urls-file")
                urls.append(url)
                vm_resources.append(rest[0] if rest else "")
    if executor not in ("local", "ray"):
        raise typer.BadParameter("use local or ray", param_hint="--executor")
    name = backend_name(backend, script)
    if name == "vllm-offline" and (workers > 1 or executor == "ray"):
        raise typer.BadParameter("vllm-offline loads the model in each worker: use --workers 1 on the local executor, or "
                                 "serve the model once (kimi-agent serve) and give its --base-url", param_hint="--backend")
    if executor == "ray":
        try:
            import_ray()
        except RayExecutorError as err:
            console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
            raise typer.Exit(2) from None
        if name == "openai" and not base_url:
            raise typer.BadParameter("--executor ray needs the model endpoint(s) every node can reach", param_hint="--base-url")
    if env in VM_KINDS and len(urls) < workers:
        raise typer.BadParameter(f"--env {env} needs one VM URL per worker ({workers})", param_hint="--vm-url")
    screen = parse_size(size)
    ray_options = RayOptions(
        address=ray_address, cpus=actor_cpus, memory=_bytes(actor_memory) if actor_memory else None,
        resources=_resources(ray_resources) if ray_resources else (), vm_resources=tuple(vm_resources), requeue=requeue,
    )
    if on_runaway not in ("intervene", "stop"):
        raise typer.BadParameter("use intervene or stop", param_hint="--on-runaway")
    if policy is not None:
        try:
            load_policy(policy)
        except PolicyError as err:
            raise typer.BadParameter(str(err), param_hint="--policy") from None
    options = EvalOptions(
        tasks=tasks or SUITE_INDEX, examples=examples, results=results, env=env, base_urls=tuple(base_url or ()), model=model,
        backend=name, script=script,
        api_key=api_key, max_steps=max_steps, size=screen, retries=retries, offline=offline,
        workers=workers, vm_urls=tuple(urls), vm_token=vm_token, temperature=temperature, max_tokens=max_tokens,
        executor="ray" if executor == "ray" else "local", ray=ray_options,
        policy=policy, max_repeats=max_repeats or None, max_unchanged=max_unchanged or None,
        on_runaway="stop" if on_runaway == "stop" else "intervene",
    )
    progress = Progress(
        TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=console, transient=True,
    )
    bar = progress.add_task("", total=None)
    running: set[str] = set()
    counted: list[int] = []  # results reported so far

    def started(task, index: int, total: int) -> None:
        running.add(task.id)
        if index == 0:  # finished tasks of an earlier run were reported first
            progress.update(bar, total=len(counted) + total)
        progress.update(bar, description=f"{len(running)} running; latest {task.domain}/{task.id}")

    def finished(result: TaskResult, summary: Summary) -> None:
        counted.append(1)
        running.discard(result.task_id)
        progress.update(bar, completed=len(summary.tasks), description=f"{len(running)} running; " + _running_rate(summary))
        progress.console.print(_result_line(result), highlight=False)

    try:
        with progress:
            summary = run_eval(options, started, finished, on_status=lambda s: progress.console.print(s, markup=False))
    except TaskLoadError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except (BackendError, SettingError) as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except RayExecutorError as err:
        console.print(f"[red]cannot evaluate on Ray: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished tasks are kept; rerun the same command to resume[/yellow]")
        raise typer.Exit(130) from None
    console.print(domain_table(summary))
    console.print(f"summary: {escape(str(results / SUMMARY_FILE))}", highlight=False)
    raise typer.Exit(1 if summary.errored else 0)


def show_report(folder: Path, other: Path | None, out: Path | None) -> int:
    """Print the per-domain table (and differences with `other`); write the HTML page to `out`."""
    from agent.evaluation.report import compare, read_results, render_html, rows

    a = read_results(folder)
    b = read_results(other) if other else None
    if not a.tasks or (b is not None and not b.tasks):
        console.print(f"[red]no task results under {escape(str(folder if not a.tasks else other))}[/red]")
        return 2
    for label, results in (("A", a), ("B", b)) if b else (("", a),):
        console.print(f"[bold]{escape(label + ': ' if label else '')}{escape(str(results.folder))}[/bold]", highlight=False)
        table = Table()
        for column in ("domain", "tasks", "finished", "errored", "mean score"):
            table.add_column(column, justify="left" if column == "domain" else "right")
        for row in rows(results):
            table.add_row(row.domain, str(row.tasks), str(row.finished), str(row.errored), f"{row.mean:.3f}",
                          style="bold" if row.domain == "all" else None)
        console.print(table)
    if b is not None:
        differences = compare(a, b)
        console.print(f"[bold]tasks whose score differs ({len(differences)})[/bold]")
        table = Table()
        for column in ("domain", "task", "A", "B"):
            table.add_column(column)
        for d in differences:
            table.add_row(d.domain, d.task_id, "—" if d.a is None else f"{d.a:g}", "—" if d.b is None else f"{d.b:g}")
        console.print(table)
    if out is not None:
        out.write_text(render_html(a, b), encoding="utf-8")
        console.print(f"report: {escape(str(out))}", highlight=False)
    return 0


def import_command(
    source: Annotated[Path, typer.Argument(help="A reference-harness result folder: one task's (traj.jsonl, step_*.png, result.txt) or a tree of them.", show_default=False)],
    dest: Annotated[Path, typer.Argument(help="Where to write: DEST/<domain>/<task id>/trajectory (so view, replay and eval --report read it).", show_default=False)],
    examples: Annotated[Optional[Path], typer.Option(help="OSWorld's examples folder, to fill in each task's instruction.")] = None,
    model: Annotated[str, typer.Option(help="Model name to record.")] = "unknown",
) -> None:
    """Convert results of OSWorld's own harness into kimi-agent trajectories (and result.txt), without running anything."""
    import shutil

    from agent.trajectory.osworld_import import ImportError_, import_reference

    found = sorted({p.parent for p in source.rglob("traj.jsonl")}) if source.is_dir() else []
    if not found:
        console.print(f"[red]no traj.jsonl under {escape(str(source))}[/red]")
        raise typer.Exit(2)
    failed = 0
    for folder in found:
        domain, task_id = folder.parent.name, folder.name
        instruction = ""
        if examples is not None and (examples / domain / f"{task_id}.json").exists():
            import json

            instruction = json.loads((examples / domain / f"{task_id}.json").read_text()).get("instruction", "")
        target = dest / domain / task_id
        try:
            import_reference(folder, target / "trajectory", instruction, model, task_id=task_id, domain=domain)
        except (ImportError_, OSError, ValueError) as err:
            console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
            failed += 1
            continue
        if (folder / "result.txt").exists():
            shutil.copyfile(folder / "result.txt", target / "result.txt")
        console.print(f"imported {escape(domain)}/{escape(task_id)}", highlight=False)
    console.print(f"{len(found) - failed} imported, {failed} failed")
    raise typer.Exit(1 if failed else 0)


def _bytes(text: str) -> int:
    """'2G', '512M', '1.5GiB' or a plain number of bytes."""
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not found:
        raise typer.BadParameter("use bytes or a size such as 2G or 512M", param_hint="--actor-memory")
    return int(float(found[1]) * 1024 ** "_KMGT".index(found[2].upper() or "_"))


def _resources(text: str) -> tuple[tuple[str, float], ...]:
    try:
        parsed = json.loads(text)
        resources = tuple((str(name), float(amount)) for name, amount in parsed.items())
    except (ValueError, AttributeError, TypeError):
        raise typer.BadParameter('use a JSON object of amounts, e.g. \'{"display": 1}\'', param_hint="--ray-resources") from None
    for name, amount in resources:
        if name in ("CPU", "GPU", "memory", "object_store_memory"):
            raise typer.BadParameter(f"{name} is one of Ray's built-in resources; only custom ones go here (CPU and memory: --actor-cpus, --actor-memory)", param_hint="--ray-resources")
        if not (math.isfinite(amount) and amount >= 0):
            raise typer.BadParameter(f"{name}: {amount:g} is not an amount (a finite number, at least 0)", param_hint="--ray-resources")
    return resources


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
