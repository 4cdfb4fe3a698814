"""Several `TaskWorker`s at once, each in its own process with its own environment.

Processes, not threads: pyautogui binds one X display per process, so each managed desktop
needs a process of its own (browser pages and VMs would do with threads, but one model fits
all). Workers pull tasks from a shared queue, so fast workers take more. A worker that dies
mid-task has that task reported as errored and is replaced; no task is lost.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from agent.evaluation.options import EvalOptions, WorkerSpec
from agent.evaluation.results import TaskResult, task_folder
from agent.evaluation.worker import open_worker
from environments.kinds import VM_KINDS
from environments.tasks.model import Task

POLL_SECONDS = 0.5


def _worker_main(spec: WorkerSpec, tasks: Any, results: Any) -> None:
    # Stopped by the driver: unwind, so the worker's desktop or browser is closed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        worker = open_worker(stack, spec)
        while (item := tasks.get()) is not None:
            task, folder = item
            results.put(("start", multiprocessing.current_process().name, task.id))
            results.put(("done", multiprocessing.current_process().name, worker.run_task(task, Path(folder))))


def run_pool(
    options: EvalOptions,
    tasks: list[Task],
    on_start: Callable[[Task, int, int], None],
    on_result: Callable[[TaskResult], None],
) -> None:
    """Run `tasks` on `options.workers` worker processes; `on_result` gets every task exactly once."""
    kinds_need_vm = options.env in VM_KINDS
    if kinds_need_vm and len(options.vm_urls) < options.workers:
        raise ValueError(f"--workers {options.workers} needs as many VM URLs; got {len(options.vm_urls)}")
    context = multiprocessing.get_context("spawn")
    task_queue, results = context.Queue(), context.Queue()
    by_id = {task.id: task for task in tasks}
    for task in tasks:
        task_queue.put((task, str(task_folder(options.results, task.domain, task.id))))
    workers: dict[str, tuple[Any, int]] = {}

    def spawn(slot: int) -> None:
        """Start worker number `slot`: its VM, and its endpoint (the endpoints dealt round-robin)."""
        vm_url = options.vm_urls[slot] if kinds_need_vm else None
        base_url = options.base_urls[slot % len(options.base_urls)] if options.base_urls else None
        process = context.Process(target=_worker_main, args=(options.worker_spec(base_url, vm_url), task_queue, results), daemon=True)
        process.start()
        workers[process.name] = (process, slot)
        task_queue.put(None)  # one stop sign per worker

    for slot in range(min(options.workers, len(tasks))):
        spawn(slot)
    running: dict[str, str] = {}
    started = finished = 0
    try:
        while finished < len(tasks):
            try:
                kind, name, payload = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                for name, (process, slot) in list(workers.items()):
                    if process.is_alive():
                        continue
                    del workers[name]
                    if name in running:
                        task = by_id[running.pop(name)]
                        on_result(TaskResult(task.id, task.domain, "errored",
                                             error=f"worker process died (exit status {process.exitcode})"))
                        finished += 1
                    if finished + len(running) < len(tasks):
                        spawn(slot)
                continue
            if kind == "start":
                running[name] = payload
                on_start(by_id[payload], started, len(tasks))
                started += 1
            else:
                running.pop(name, None)
                on_result(payload)
                finished += 1
    finally:
        deadline = time.monotonic() + 5
        for process, _ in workers.values():
            process.join(max(0.1, deadline - time.monotonic()))  # done: they are closing their environments
        for process, _ in workers.values():
            if process.is_alive():
                process.terminate()
                process.join(10)
            if process.is_alive():
                process.kill()
