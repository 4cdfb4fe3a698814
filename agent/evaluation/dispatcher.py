"""`kimi-agent eval`: run a suite of OSWorld-format tasks and score every one honestly.

Every scheduled task is in the denominator: an errored task (setup failure, model server
down, evaluation failure), an unsupported one (it needs a step, getter or metric this project
does not implement: found before any episode, never run) and an interrupted one are reported
as such, never dropped. The dispatcher locks the results folder, writes the run's manifest
before the first task, and runs the pending tasks on one in-process worker, a pool of worker
processes (`agent.evaluation.pool`) or Ray actors (`agent.evaluation.ray_executor`); only it
stores results. A `Guardian` stops every process of the run if the dispatcher dies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from agent.backends.registry import open_openai
from agent.evaluation.lock import ResultsLock
from agent.evaluation.manifest import Manifest, build_manifest, claim_folder
from agent.evaluation.options import EvalOptions
from agent.evaluation.osworld_layout import WAA_TRIAL, osworld_folder, write_osworld_task
from agent.evaluation.pool import run_pool, start_resource_tracker
from agent.evaluation.ray_executor import run_ray
from agent.evaluation.results import (
    SUMMARY_FILE, Summary, TaskResult, finished_result, store_result, summarize, task_folder, unloadable,
    unloadable_entry,
)
from agent.evaluation.worker import TaskWorker, open_worker
from agent.trajectory.atomic import write_atomic
from environments.processes import Guardian, new_token
from environments.tasks.load import load_tasks
from environments.tasks.model import Task
from environments.tasks.support import support_of


@dataclass(frozen=True)
class Plan:
    """What this invocation will do, known before any episode."""

    manifest: Manifest
    total: int
    pending: int
    """Tasks to run now; the rest are already scored, unsupported or unloadable."""


def run_eval(
    options: EvalOptions,
    on_start: Callable[[Task, int, int], None] = lambda *_: None,
    on_result: Callable[[TaskResult, Summary], None] = lambda *_: None,
    on_status: Callable[[str], None] = lambda _: None,
    on_plan: Callable[[Plan], None] = lambda _: None,
) -> Summary:
    """Run every task `options.tasks` names (skipping those already scored in this run); write summary.json.

    Raises `FolderLocked` when another eval writes the folder, `ManifestError` when it holds another run."""
    loaded = load_tasks(options.tasks, options.examples)
    failures = [unloadable(f) for f in loaded.failures]
    manifest = build_manifest(options, loaded.tasks, [unloadable_entry(f) for f in loaded.failures])
    token = new_token()
    if options.executor == "local" and options.workers > 1:
        start_resource_tracker()
    with ExitStack() as guard:
        lock = guard.enter_context(ResultsLock(options.results, token))
        guardian = Guardian(token, hold_fds=(lock.fd,) if lock.fd is not None else ())
        guard.callback(guardian.close)
        manifest = claim_folder(options.results, manifest, options.new_run)
        running: dict[str, Task] = {}

        def record(result: TaskResult) -> None:
            running.pop(result.task_id, None)
            folder = task_folder(options.results, result.domain, result.task_id)
            if not result.resumed:
                store_result(folder, result)
            for out, trial in ((options.osworld_results, None), (options.waa_results, WAA_TRIAL)):
                if out is not None and not (result.resumed and osworld_folder(
                        out, options.model, result.domain, result.task_id, trial).exists()):
                    write_osworld_task(out, options.model, result, folder / "trajectory", trial)
            summary = summarize(options.results, manifest.tasks)
            write_summary(options.results, summary, manifest)
            on_result(result, summary)

        def start(task: Task, index: int, total: int) -> None:
            running[task.key] = task
            on_start(task, index, total)

        earlier: list[TaskResult] = []
        pending: list[Task] = []
        for task in loaded.tasks:
            done = finished_result(task_folder(options.results, task.domain, task.key), task)
            if done is not None:
                earlier.append(replace(done, resumed=True))
                continue
            missing = support_of(task).missing
            if missing:  # pre-flight: never run, never retried
                earlier.append(TaskResult(task.key, task.domain, "unsupported",
                                          error="not implemented: " + ", ".join(missing)))
            else:
                pending.append(task)
        on_plan(Plan(manifest, len(manifest.tasks), len(pending)))
        for result in failures + earlier:
            record(result)
        try:
            if pending:
                _run(options, pending, start, record, on_status)
        except KeyboardInterrupt:
            for task in running.values():
                store_result(task_folder(options.results, task.domain, task.key),
                             TaskResult(task.key, task.domain, "interrupted", error="interrupted (Ctrl+C)"))
            raise
        finally:
            write_summary(options.results, summarize(options.results, manifest.tasks), manifest)
    return summarize(options.results, manifest.tasks)


def write_summary(results: Path, summary: Summary, manifest: Manifest) -> None:
    """summary.json: the counts, and whether the run can stand beside a leaderboard score (with why not)."""
    facts = {"comparable": manifest.comparable, "notes": manifest.notes}
    write_atomic(results / SUMMARY_FILE, json.dumps({**summary.to_json(), **facts}, indent=2) + "\n")


def _run(
    options: EvalOptions, pending: list[Task], start: Callable[[Task, int, int], None],
    record: Callable[[TaskResult], None], on_status: Callable[[str], None],
) -> None:
    with ExitStack() as stack:
        backend = None
        if options.backend == "openai":  # one endpoint at least, the local `vllm serve` if none is given
            first = options.base_urls[0] if options.base_urls else None
            backend = open_openai(stack, first, options.model, options.api_key, options.serve_log, on_status)
            options = replace(options, base_urls=options.base_urls or (backend.base_url,))
        if options.executor == "ray":
            run_ray(options, pending, start, record, on_status)
        elif options.workers > 1:
            run_pool(options, pending, start, record)
        else:
            spec = options.worker_spec(
                options.base_urls[0] if options.base_urls else None,
                options.vm_urls[0] if options.vm_urls else None,
            )
            worker = TaskWorker(spec, backend) if backend is not None else open_worker(stack, spec)
            stack.callback(worker.close)
            for index, task in enumerate(pending):
                start(task, index, len(pending))
                record(worker.run_task(task, task_folder(options.results, task.domain, task.key)))
