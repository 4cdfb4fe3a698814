"""`kimi-agent eval --executor ray`: the same `TaskWorker`s as Ray actors, across the hosts of a Ray cluster.

Each actor owns one environment (a managed desktop, a browser, or one VM) and reserves what it
declares (CPUs, memory, custom resources such as `display` or a VM's own), so Ray places it on a
node that has them. With `--provider qemu` each actor boots its own VM on its node from the run's image
(the same path, checked by SHA-256 when the actor starts), reverts it before every task after the first
as local workers do, and QEMU dies with the actor process however it ends (`environments.vm.lifetime`:
Ray runs a plain actor's methods on its process's main thread, the thread QEMU's death signal follows).
Tasks are pulled: the driver hands the next task to whichever actor is idle, so fast actors take
more. Results are stored by the driver (`store_result`), exactly as with local workers, so resume is
the same. An actor, or its node, that dies has its task run again (up to `RayOptions.requeue` times,
then it counts as errored) and is replaced; the run goes on.

Actors write each task's trajectory and log into the results folder themselves: on several hosts
that folder must be one shared filesystem mounted at the same path everywhere (checked when each
actor starts). Ray is imported only here, and only when this executor is used.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.evaluation.options import EvalOptions, VMSpec, WorkerSpec
from agent.evaluation.results import TaskResult, task_folder
from agent.evaluation.worker import open_worker
from agent.trajectory.atomic import write_atomic
from environments.kinds import VM_KINDS
from environments.settings import all_settings
from environments.tasks.model import Task
from environments.vm.digest import image_sha256

INSTALL_HINT = "pip install 'kimi-desktop-agent[ray]'"
MARKER_FILE = ".ray-run"
POLL_SECONDS = 1.0
CLOSE_SECONDS = 60.0


class RayExecutorError(RuntimeError):
    """The Ray executor cannot run: the message says what to install or change."""


class ResultsNotShared(RayExecutorError):
    """An actor's node does not see the driver's results folder."""


def import_ray() -> Any:
    """The `ray` module, or an error saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise RayExecutorError(
            f"--executor ray needs Ray, on this machine and on every node of the cluster: {INSTALL_HINT}"
        ) from err
    return ray


def check_shared(marker: Path, token: str) -> None:
    """Fail unless `marker` holds `token`: this node sees the results folder the driver writes."""
    try:
        seen = marker.read_text(encoding="utf-8")
    except OSError:
        seen = None
    if seen != token:
        raise ResultsNotShared(
            f"{socket.gethostname()} does not see the driver's results folder at {marker.parent}: mount one "
            "shared filesystem (NFS, CephFS, ...) at the same path on every node, or pass --results on one"
        )


class ImageNotOnNode(RayExecutorError):
    """An actor's node lacks the run's VM image at the driver's path, or holds another file there."""


def check_image(vm: VMSpec | None, digest: str | None) -> None:
    """Fail unless this node holds the image the actor's VM boots from: the driver's path and SHA-256 (the
    manifest's). A node's first check reads the whole image; the digest is then cached beside it."""
    if vm is None or vm.provider != "qemu" or vm.image is None:
        return
    host = socket.gethostname()
    if not vm.image.is_file():
        raise ImageNotOnNode(f"{host} has no VM image at {vm.image}: copy the driver's image to that path on "
                             "every node that may run an actor (or mount it there from a shared filesystem)")
    found = image_sha256(vm.image)
    if digest is not None and found != digest:
        raise ImageNotOnNode(f"{host}: {vm.image} is not the driver's image (sha256 {found[:12]}…, the "
                             f"driver's {digest[:12]}…): copy the driver's image to that path")


class TaskActor:
    """A `TaskWorker` hosted in a Ray actor process, with its own environment and model client."""

    def __init__(self, spec: WorkerSpec, marker: str, token: str, image_digest: str | None = None) -> None:
        import ray

        check_shared(Path(marker), token)
        check_image(spec.vm, image_digest)
        node = ray.get_runtime_context().get_node_id()
        self.where = f"ray actor pid {os.getpid()} on {socket.gethostname()} (node {node[:8]}, model {spec.backend.base_url or spec.backend.name})"
        self._stack = ExitStack()
        self._worker = open_worker(self._stack, spec, self.where)

    def location(self) -> str:
        return self.where

    def run_task(self, task: Task, folder: str) -> TaskResult:
        return self._worker.run_task(task, Path(folder))

    def close(self) -> None:
        """Close the environment (desktop, browser, VM) before the actor is killed."""
        self._stack.close()


@dataclass
class _Slot:
    """One actor's place: its endpoint and VM stay when a dead actor is replaced."""

    index: int
    base_url: str | None
    vm_url: str | None
    resources: dict[str, float]
    actor: Any = None
    started: bool = False
    busy: bool = False


def actor_demand(options: EvalOptions, slot: _Slot) -> dict[str, float]:
    """What one actor reserves, in Ray's resource names."""
    demand = {"CPU": options.ray.cpus, **slot.resources}
    if options.ray.memory:
        demand["memory"] = float(options.ray.memory)
    return {name: amount for name, amount in demand.items() if amount}


class _Driver:
    """Hands tasks to idle actors, replaces dead ones, and reports every task exactly once."""

    def __init__(self, ray: Any, options: EvalOptions, tasks: list[Task], on_start: Callable[[Task, int, int], None],
                 on_result: Callable[[TaskResult], None], on_status: Callable[[str], None], marker: Path, token: str) -> None:
        self.ray, self.options, self.total = ray, options, len(tasks)
        self.on_start, self.on_result, self.on_status = on_start, on_result, on_status
        self.marker, self.token = marker, token
        vm = options.vm
        # The digest the manifest records (cached beside the image): every actor's node must boot that file.
        self.image_digest = image_sha256(vm.image) if vm is not None and vm.image is not None else None
        self.pending: deque[Task] = deque(tasks)
        self.waiting: dict[Any, tuple[_Slot, Task | None]] = {}  # in flight: a task, or None for "actor started"
        self.idle: list[_Slot] = []
        self.requeued: dict[str, int] = {}
        self.announced: set[str] = set()
        self.ever_started = False
        self.last_failure = ""
        # A VM given by URL per actor (`--vm-url`); with `--provider qemu` each actor boots its own instead.
        needs_vm = options.env in VM_KINDS and (options.vm is None or options.vm.provider == "url")
        count = min(options.workers, len(tasks))
        if needs_vm and len(options.vm_urls) < count:
            raise RayExecutorError(f"--workers {count} on --env {options.env} needs as many VM URLs; got {len(options.vm_urls)}")
        vm_resources = options.ray.vm_resources
        self.slots = [
            _Slot(
                index, options.base_urls[index % len(options.base_urls)] if options.base_urls else None,
                options.vm_urls[index] if needs_vm else None,
                {**dict(options.ray.resources),
                 **({vm_resources[index]: 1.0} if needs_vm and index < len(vm_resources) and vm_resources[index] else {})},
            )
            for index in range(count)
        ]
        self.actor_class = ray.remote(TaskActor)

    def check_placeable(self) -> None:
        """Fail now, not after a timeout, if no node could ever hold an actor."""
        nodes = [node["Resources"] for node in self.ray.nodes() if node.get("Alive")]
        for slot in self.slots:
            demand = actor_demand(self.options, slot)
            if not any(all(node.get(k, 0) >= v for k, v in demand.items()) for node in nodes):
                raise RayExecutorError(
                    f"no node of the cluster has what actor {slot.index} asks for, {_fmt(demand)}; nodes have: "
                    + "; ".join(_fmt(node) for node in nodes)
                    + ". Lower --actor-cpus/--actor-memory, or start nodes with `ray start --resources '{...}'`"
                )

    def start(self, slot: _Slot) -> None:
        demand = actor_demand(self.options, slot)
        custom = {k: v for k, v in demand.items() if k not in ("CPU", "memory")}
        slot.actor = self.actor_class.options(
            num_cpus=self.options.ray.cpus, memory=self.options.ray.memory, resources=custom,
            max_restarts=0, max_task_retries=0, scheduling_strategy="SPREAD",
            # Actors inherit their node's environment, not the driver's: pass on the agent's settings.
            runtime_env={"env_vars": all_settings()},
        ).remote(self.options.worker_spec(slot.base_url, slot.vm_url), str(self.marker), self.token,
                 self.image_digest)
        slot.started = slot.busy = False
        self.waiting[slot.actor.location.remote()] = (slot, None)

    def run(self) -> None:
        self.check_placeable()
        for slot in self.slots:
            self.start(slot)
        without_actor_since = time.monotonic()  # no actor up (yet, or any more: nodes lost)
        while self.pending or any(task is not None for _, task in self.waiting.values()):
            if not self.waiting:
                break  # every actor failed to start
            if any(slot.started for slot in self.slots):
                without_actor_since = time.monotonic()
            elif time.monotonic() - without_actor_since > self.options.ray.start_timeout:
                self.last_failure = (
                    f"no actor could be placed within {self.options.ray.start_timeout:g} s; each asks for "
                    f"{_fmt(actor_demand(self.options, self.slots[0]))} and the cluster has "
                    f"{_fmt(self.ray.available_resources())} free: add nodes or lower the actors' demands"
                )
                break
            done, _ = self.ray.wait(list(self.waiting), num_returns=1, timeout=POLL_SECONDS)
            for ref in done:
                slot, task = self.waiting.pop(ref)
                if task is None:
                    self.on_ready(ref, slot)
                else:
                    self.on_done(ref, slot, task)
        if self.pending:
            if not self.ever_started:
                raise RayExecutorError(f"no Ray actor could start: {self.last_failure}")
            for task in self.pending:
                self.report(TaskResult(task.key, task.domain, "errored",
                                       error=f"no Ray actor left to run it; the last failure: {self.last_failure}"))
            self.pending.clear()

    def on_ready(self, ref: Any, slot: _Slot) -> None:
        try:
            where = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            self.last_failure = _cause(err)
            self.on_status(f"Ray actor {slot.index} could not start (not replaced): {self.last_failure}")
            self.ray.kill(slot.actor)
            return
        slot.started = self.ever_started = True
        self.on_status(f"actor {slot.index}: {where}")
        self.hand_out(slot)

    def on_done(self, ref: Any, slot: _Slot, task: Task) -> None:
        slot.busy = False
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as err:  # run_task itself raised: the actor lives on
            result = TaskResult(task.key, task.domain, "errored", error=f"the worker failed: {_cause(err)}")
        except self.ray.exceptions.RayError as err:  # the actor's process or its node died
            cause = _cause(err)
            self.last_failure = cause
            self.ray.kill(slot.actor)
            self.start(slot)
            count = self.requeued.get(task.key, 0)
            if count < self.options.ray.requeue:
                self.requeued[task.key] = count + 1
                self.on_status(f"{task.domain}/{task.key}: its Ray actor died ({cause}); requeued ({count + 1}/"
                               f"{self.options.ray.requeue}), actor {slot.index} replaced")
                self.pending.appendleft(task)
                while self.idle and self.pending:
                    self.hand_out(self.idle.pop())
                return
            result = TaskResult(task.key, task.domain, "errored",
                                error=f"its Ray actor died {count + 1} time(s); the last time: {cause}")
        self.report(result)
        self.hand_out(slot)

    def report(self, result: TaskResult) -> None:
        result.requeued = self.requeued.get(result.task_id, 0)
        self.on_result(result)

    def hand_out(self, slot: _Slot) -> None:
        """Give an idle actor the next task (pulled: whichever actor is free first takes it)."""
        if not self.pending:
            self.idle.append(slot)
            return
        task = self.pending.popleft()
        folder = task_folder(self.options.results, task.domain, task.key)
        folder.mkdir(parents=True, exist_ok=True)
        slot.busy = True
        self.waiting[slot.actor.run_task.remote(task, str(folder))] = (slot, task)
        if task.key not in self.announced:
            self.on_start(task, len(self.announced), self.total)
            self.announced.add(task.key)

    def stop(self) -> None:
        """Close idle actors' environments, then end every actor (busy ones at once: interrupted)."""
        closing = [slot.actor.close.remote() for slot in self.slots if slot.started and not slot.busy]
        if closing:
            self.ray.wait(closing, num_returns=len(closing), timeout=CLOSE_SECONDS)
        for slot in self.slots:
            if slot.actor is not None:
                self.ray.kill(slot.actor)


def run_ray(
    options: EvalOptions,
    tasks: list[Task],
    on_start: Callable[[Task, int, int], None],
    on_result: Callable[[TaskResult], None],
    on_status: Callable[[str], None] = lambda _: None,
) -> None:
    """Run `tasks` on `options.workers` Ray actors; `on_result` gets every task exactly once."""
    ray = import_ray()
    # Actors run in other working directories, perhaps on other hosts: every path they get is absolute.
    options = replace(options, results=options.results.resolve(),
                      policy=options.policy.resolve() if options.policy is not None else None,
                      script=options.script.resolve() if options.script is not None else None)
    tasks = [task.model_copy(update={"source_path": task.source_path.resolve()}) if task.source_path else task
             for task in tasks]
    token = uuid.uuid4().hex
    marker = options.results / MARKER_FILE
    write_atomic(marker, token)
    connected_before = ray.is_initialized()
    if not connected_before:
        try:
            if options.ray.address not in (None, "auto", "local"):
                _reachable(options.ray.address)  # ray.init retries an unreachable address for minutes
            ray.init(address=options.ray.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
        except (ConnectionError, ValueError) as err:
            marker.unlink(missing_ok=True)
            raise RayExecutorError(f"cannot reach the Ray cluster ({err}): start it with `ray start --head` "
                                   "and pass its address with --ray-address") from err
    driver: _Driver | None = None
    try:
        driver = _Driver(ray, options, tasks, on_start, on_result, on_status, marker, token)
        driver.run()
    finally:
        if driver is not None:
            driver.stop()
        if not connected_before:
            ray.shutdown()
        marker.unlink(missing_ok=True)


def _cause(err: BaseException) -> str:
    """The first line of a Ray error (its full text repeats tracebacks and actor ids); for an actor whose
    `__init__` raised, the line of that exception (the last of the traceback Ray quotes)."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    if len(lines) > 1 and "creation task" in lines[0]:
        return f"{type(err).__name__}: the actor could not start: {lines[-1].strip()}"
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def _fmt(resources: dict[str, float]) -> str:
    shown = {k: (f"{v / 2**30:.1f} GiB" if k in ("memory", "object_store_memory") else f"{v:g}")
             for k, v in sorted(resources.items()) if not k.startswith("node:")}
    return ", ".join(f"{k} {v}" for k, v in shown.items()) or "nothing"


def _reachable(address: str) -> None:
    """Raise `ConnectionError` unless something listens at HOST:PORT (a Ray head's GCS port)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--ray-address {address!r} is not HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise ConnectionError(f"nothing answers at {address}: {err.strerror or err}") from None
