"""`kimi-agent eval`: run a suite of OSWorld-format tasks and score every one honestly.

Every scheduled task is in the denominator: an errored task (setup failure, model server
down, evaluation failure) is reported as errored, never dropped and never counted as 0.
The dispatcher runs the pending tasks on one in-process worker, a pool of worker processes
(`agent.evaluation.pool`) or Ray actors (`agent.evaluation.ray_executor`); only it stores results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace

from agent.backends.registry import open_openai
from agent.evaluation.options import EvalOptions
from agent.evaluation.pool import run_pool
from agent.evaluation.ray_executor import run_ray
from agent.evaluation.results import (
    SUMMARY_FILE, Summary, TaskResult, finished_result, store_result, task_folder, unloadable,
)
from agent.evaluation.worker import TaskWorker, open_worker
from agent.trajectory.atomic import write_atomic
from environments.tasks.load import load_tasks
from environments.tasks.model import Task


def run_eval(
    options: EvalOptions,
    on_start: Callable[[Task, int, int], None] = lambda *_: None,
    on_result: Callable[[TaskResult, Summary], None] = lambda *_: None,
    on_status: Callable[[str], None] = lambda _: None,
) -> Summary:
    """Run every task `options.tasks` names (skipping those already finished) and write summary.json."""
    loaded = load_tasks(options.tasks, options.examples)
    summary = Summary()
    for failure in loaded.failures:
        summary.add(unloadable(failure))
    options.results.mkdir(parents=True, exist_ok=True)
    pending: list[Task] = []

    def record(result: TaskResult) -> None:
        if not result.resumed:
            store_result(task_folder(options.results, result.domain, result.task_id), result)
        summary.add(result)
        on_result(result, summary)
        write_atomic(options.results / SUMMARY_FILE, json.dumps(summary.to_json(), indent=2) + "\n")

    for task in loaded.tasks:
        done = finished_result(task_folder(options.results, task.domain, task.id), task)
        if done is not None:
            record(done)
        else:
            pending.append(task)
    if pending:
        with ExitStack() as stack:
            backend = None
            if options.backend == "openai":  # one endpoint at least, the local `vllm serve` if none is given
                first = options.base_urls[0] if options.base_urls else None
                backend = open_openai(stack, first, options.model, options.api_key, options.serve_log, on_status)
                options = replace(options, base_urls=options.base_urls or (backend.base_url,))
            if options.executor == "ray":
                run_ray(options, pending, on_start, record, on_status)
            elif options.workers > 1:
                run_pool(options, pending, on_start, record)
            else:
                spec = options.worker_spec(
                    options.base_urls[0] if options.base_urls else None, options.vm_urls[0] if options.vm_urls else None,
                )
                worker = TaskWorker(spec, backend) if backend is not None else open_worker(stack, spec)
                stack.callback(worker.close)
                for index, task in enumerate(pending):
                    on_start(task, index, len(pending))
                    record(worker.run_task(task, task_folder(options.results, task.domain, task.id)))
    write_atomic(options.results / SUMMARY_FILE, json.dumps(summary.to_json(), indent=2) + "\n")
    return summary
