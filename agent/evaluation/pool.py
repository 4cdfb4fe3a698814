"""Several `TaskWorker`s at once, each in its own process with its own environment.

Processes, not threads: pyautogui binds one X display per process, so each managed desktop
needs a process of its own (browser pages and VMs would do with threads, but one model fits
all). Workers pull tasks from a shared queue, so fast workers take more. A worker that dies
mid-task has that task reported as errored and is replaced; no task is lost.
"""

from __future__ import annotations

import multiprocessing
import os
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
from environments.processes import WORKER_MARK, die_with_parent, new_token, stop_marked
from environments.tasks.model import Task

POLL_SECONDS = 0.5


def _worker_main(spec: WorkerSpec, tasks: Any, results: Any, token: str, driver: int) -> None:
    # Its own session: a terminal's Ctrl+C reaches the driver alone, which stops the workers in order.
    os.setsid()
    # Dies with the driver, even a SIGKILLed one; SIGTERM unwinds, closing the worker's desktop or browser.
    die_with_parent(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.getppid() != driver:  # the driver died before the line above
        return
    # Everything this worker starts carries its mark, so whatever its environments leave behind
    # (or everything, if it is killed outright) is found and stopped by the mark.
    os.environ[WORKER_MARK] = token
    try:
        with ExitStack() as stack:
            worker = open_worker(stack, spec)
            while (item := tasks.get()) is not None:
                task, folder = item
                name = multiprocessing.current_process().name
                results.put(("start", name, task.key))
                results.put(("done", name, worker.run_task(task, Path(folder))))
    finally:
        stop_marked(WORKER_MARK, token, grace=1.0)


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, before the run marks its processes: it must
    outlive the driver's final sweep (the driver's queues unregister with it at exit) and it ends by
    itself once the driver and its workers are gone."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def run_pool(
    options: EvalOptions,
    tasks: list[Task],
    on_start: Callable[[Task, int, int], None],
    on_result: Callable[[TaskResult], None],
) -> None:
    """Run `tasks` on `options.workers` worker processes; `on_result` gets every task exactly once."""
    # A VM given by URL per worker (`--vm-url`); a qemu provider boots each worker's own instead.
    kinds_need_vm = options.env in VM_KINDS and (options.vm is None or options.vm.provider == "url")
    if kinds_need_vm and len(options.vm_urls) < options.workers:
        raise ValueError(f"--workers {options.workers} needs as many VM URLs; got {len(options.vm_urls)}")
    context = multiprocessing.get_context("spawn")
    task_queue, results = context.Queue(), context.Queue()
    by_id = {task.key: task for task in tasks}
    for task in tasks:
        task_queue.put((task, str(task_folder(options.results, task.domain, task.key))))
    workers: dict[str, tuple[Any, int, str]] = {}

    def spawn(slot: int) -> None:
        """Start worker number `slot`: its VM, and its endpoint (the endpoints dealt round-robin)."""
        vm_url = options.vm_urls[slot] if kinds_need_vm else None
        base_url = options.base_urls[slot % len(options.base_urls)] if options.base_urls else None
        token = new_token()
        process = context.Process(target=_worker_main, daemon=True, args=(
            options.worker_spec(base_url, vm_url), task_queue, results, token, os.getpid()))
        # Started with SIGINT ignored (kept across exec): a Ctrl+C during its start-up is the driver's alone.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        workers[process.name] = (process, slot, token)
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
                for name, (process, slot, token) in list(workers.items()):
                    if process.is_alive():
                        continue
                    del workers[name]
                    stop_marked(WORKER_MARK, token)  # what a killed worker left running
                    if name in running:
                        task = by_id[running.pop(name)]
                        on_result(TaskResult(task.key, task.domain, "errored",
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
    except BaseException:  # interrupted (Ctrl+C) or failed: stop the workers now, each closing its envs
        for process, _, _ in workers.values():
            process.terminate()
        raise
    finally:
        deadline = time.monotonic() + 10
        for process, _, _ in workers.values():
            process.join(max(0.1, deadline - time.monotonic()))  # done: they are closing their environments
        for process, _, token in workers.values():
            if process.is_alive():
                process.kill()
                process.join(5)
            stop_marked(WORKER_MARK, token)
