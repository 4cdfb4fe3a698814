"""`kimi-agent eval`: run a suite of OSWorld-format tasks and score every one honestly.

Layout of `--results DIR`:
    DIR/<domain>/<task id>/result.txt    the score (written last, atomically: a finished task)
    DIR/<domain>/<task id>/error.txt     why the task errored (it is rerun on resume)
    DIR/<domain>/<task id>/log.txt       setup, episode and evaluation log
    DIR/<domain>/<task id>/trajectory/   the episode (view/replay it)
    DIR/<domain>/<task id>/work/         the task's home and cache (files the evaluator read)
    DIR/summary.json                     counts and mean score over every scheduled task

Every scheduled task is in the denominator: an errored task (setup failure, model server
down, evaluation failure) is reported as errored, never dropped and never counted as 0.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from agent.trajectory.atomic import write_atomic
from agent.backends.base import Backend
from agent.backends.openai_compat import OpenAICompatBackend
from agent.episode.loop import Budget, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.episode.run import make_perception, open_backend, policy_config
from agent.safety import Guards, RunawayConfig, RunawayMode, default_policy, load_policy, sandbox_policy
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter
from environments.tasks.load import LoadFailure, load_tasks
from environments.tasks.model import Task

EnvKind = Literal["auto", "xvfb", "browser", "desktop", "osworld", "waa", "static"]
Status = Literal["finished", "errored"]
Executor = Literal["local", "ray"]
RESULT_FILE, ERROR_FILE, LOG_FILE, SUMMARY_FILE = "result.txt", "error.txt", "log.txt", "summary.json"


@dataclass(frozen=True)
class RayOptions:
    """Where the Ray actors run and what each one reserves (`--executor ray`)."""

    address: str | None = None
    """A running cluster (`ray start --head`); None: RAY_ADDRESS, else the last cluster `ray start`ed on
    this machine, else a one-machine cluster for this run."""
    cpus: float = 1.0
    memory: int | None = None
    """Bytes of memory each actor reserves (Ray places by it; it is not a limit)."""
    resources: tuple[tuple[str, float], ...] = ()
    """Custom resources every actor asks for, e.g. (("display", 1),) against `ray start --resources`."""
    vm_resources: tuple[str, ...] = ()
    """Beside each VM URL, a custom resource (or "") its actor asks one unit of: pins it to the VM's node."""
    requeue: int = 1
    """Times a task whose actor (or node) died is run again before it counts as errored."""
    start_timeout: float = 300.0
    """Seconds to wait while no actor is up (at the start, or after every actor died) before giving up."""


@dataclass(frozen=True)
class EvalOptions:
    tasks: Path
    examples: Path | None = None
    results: Path = Path("results")
    env: EnvKind = "auto"
    base_urls: tuple[str, ...] = ()
    """OpenAI-compatible endpoints, dealt round-robin to workers; none: use or start `vllm serve`."""
    model: str = "moonshotai/Kimi-VL-A3B-Thinking-2506"
    api_key: str | None = None
    max_steps: int = 15
    size: tuple[int, int] = (1280, 800)
    retries: int = 1
    offline: bool = False
    serve_log: Path = Path("recordings/vllm-serve.log")
    temperature: float | None = None
    max_tokens: int | None = None
    workers: int = 1
    vm_urls: tuple[str, ...] = ()
    """One VM server per worker for --env osworld/waa."""
    vm_token: str | None = None
    executor: Executor = "local"
    ray: RayOptions = RayOptions()
    policy: Path | None = None
    """Action policy file; None: the sandbox policy, or the default policy on --env desktop."""
    max_repeats: int | None = None
    max_unchanged: int | None = None
    """Runaway limits (None: off, the default in eval: an intervention changes what the model
    sees and does, and scores must stay comparable with other harnesses)."""
    on_runaway: RunawayMode = "intervene"


@dataclass
class TaskResult:
    task_id: str
    domain: str
    status: Status
    score: float | None = None
    error: str | None = None
    steps: int = 0
    seconds: float = 0.0
    outcome: str | None = None
    resumed: bool = False
    requeued: int = 0
    """Times the task was run again because the Ray actor running it died (the local pool errors it instead)."""


def eval_guards(options: EvalOptions, kind: str) -> Guards:
    """The guards of an evaluation episode: nobody confirms, so `confirm` rules refuse. Without
    --policy, disposable environments get the sandbox policy and a real desktop the default one."""
    if options.policy is not None:
        policy = load_policy(options.policy)
    else:
        policy = default_policy() if kind == "desktop" else sandbox_policy()
    return Guards(policy=policy, runaway=RunawayConfig(options.max_repeats, options.max_unchanged, options.on_runaway))


def task_folder(results: Path, domain: str, task_id: str) -> Path:
    return results / (domain or "default") / task_id


def env_kind(task: Task, requested: EnvKind) -> str:
    """The environment a task runs in: as asked, or with `auto` the task's own `env` field (default xvfb)."""
    if requested != "auto":
        return requested
    wanted = (task.model_extra or {}).get("env", "xvfb")
    return wanted if wanted in ("xvfb", "browser", "desktop") else "xvfb"


def make_task_env(kind: str, options: EvalOptions, vm_url: str | None) -> Any:
    """A fresh environment of `kind` for a worker (imported lazily: pyautogui needs DISPLAY first)."""
    width, height = options.size
    if kind in ("osworld", "waa"):
        from environments.remote.env import RemoteVMEnv

        if not vm_url:
            raise ValueError(f"--env {kind} needs a VM server URL (--vm-url)")
        return RemoteVMEnv(vm_url, options.vm_token, flavor=kind)
    if kind == "browser":
        from environments.browser import BrowserEnv

        return BrowserEnv(width, height)
    if kind == "static":
        from environments.static import StaticEnv

        return StaticEnv(width, height)
    if kind == "xvfb":
        from environments.xvfb import XvfbEnv

        return XvfbEnv(width, height)
    from environments.desktop import DesktopEnv

    return DesktopEnv()


class TaskWorker:
    """Runs tasks one at a time on environments it owns (one per kind, built on first use and
    rebuilt after an error). A plain object with `run_task`, so other executors can host it."""

    def __init__(self, options: EvalOptions, backend: Backend, config: PolicyConfig, vm_url: str | None = None,
                 label: str | None = None) -> None:
        self.options = options
        self.backend = backend
        self.config = config
        self.vm_url = vm_url
        # Named in each task's log: several processes, or hosts, write into one results folder.
        self.label = label or f"pid {os.getpid()} on {socket.gethostname()}"
        self._envs: dict[str, Any] = {}

    def _env(self, kind: str) -> Any:
        if kind not in self._envs:
            self._envs[kind] = make_task_env(kind, self.options, self.vm_url)
        return self._envs[kind]

    def _discard(self, kind: str) -> None:
        env = self._envs.pop(kind, None)
        if env is not None:
            try:
                env.close()
            except Exception:  # noqa: BLE001  a broken environment is replaced whatever its state
                pass

    def run_task(self, task: Task, folder: Path) -> TaskResult:
        """Run and score one task into `folder` (trajectory and log; the driver stores the result),
        retrying an errored attempt on a fresh environment."""
        result = TaskResult(task.id, task.domain, "errored")
        for attempt in range(1 + self.options.retries):
            result = self._attempt(task, folder, attempt)
            if result.status == "finished":
                break
        return result

    def _attempt(self, task: Task, folder: Path, attempt: int) -> TaskResult:
        _clear(folder, keep_log=attempt > 0)
        kind = env_kind(task, self.options.env)
        started = time.monotonic()
        result = TaskResult(task.id, task.domain, "errored")
        with open(folder / LOG_FILE, "a", encoding="utf-8") as log:
            def note(message: str) -> None:
                log.write(f"{time.strftime('%H:%M:%S')} {message}\n")
                log.flush()

            note(f"task {task.id} ({task.domain}) on {kind}, attempt {attempt + 1}, worker {self.label}: {task.instruction}")
            try:
                env = self._env(kind)
                writer = TrajectoryWriter(folder / "trajectory", EpisodeInfo(
                    instruction=task.instruction, model=self.config.model, env=kind, started_at=time.time(),
                    task_id=task.id, domain=task.domain,
                ))
                with writer:
                    episode = run_episode(
                        env, KimiPolicy(self.backend, self.config, task.instruction),
                        make_perception("jpeg", True, self.config.max_patches), writer,
                        Budget(self.options.max_steps),
                        reset_options={"task": task, "workdir": folder / "work", "offline": self.options.offline},
                        guards=eval_guards(self.options, kind),
                    )
                    result.steps, result.outcome = len(episode.steps), episode.outcome
                    note(f"episode ended: {episode.outcome} after {len(episode.steps)} step(s)")
                    if episode.outcome == "interrupted":
                        raise KeyboardInterrupt
                    if episode.outcome == "error":
                        raise RuntimeError(episode.error or "the episode failed")
                    score = env.evaluate(last_action_failed=episode.outcome == "fail")
                    writer.record_score(score)
                result.status, result.score = "finished", score
                note(f"score {score:g}")
            except KeyboardInterrupt:
                note("interrupted")
                raise
            except Exception as err:  # noqa: BLE001  any failure errors this task only
                result.error = f"{type(err).__name__}: {err}"
                note(f"errored: {result.error}\n{traceback.format_exc()}")
                self._discard(kind)
        result.seconds = time.monotonic() - started
        return result

    def close(self) -> None:
        for kind in list(self._envs):
            self._discard(kind)


@dataclass
class Summary:
    scheduled: int = 0
    finished: int = 0
    errored: int = 0
    total_score: float = 0.0
    by_domain: dict[str, dict[str, float]] = field(default_factory=dict)
    tasks: list[TaskResult] = field(default_factory=list)

    @property
    def mean_score(self) -> float:
        """Mean over every scheduled task (errored tasks count, as nothing)."""
        return self.total_score / self.scheduled if self.scheduled else 0.0

    def add(self, result: TaskResult) -> None:
        self.tasks.append(result)
        row = self.by_domain.setdefault(result.domain or "default",
                                        {"scheduled": 0, "finished": 0, "errored": 0, "total_score": 0.0})
        for target in (self.__dict__, row):
            target["scheduled"] += 1
            target[result.status] += 1
            target["total_score"] += result.score or 0.0

    def to_json(self) -> dict[str, Any]:
        domains = {d: {**row, "mean_score": row["total_score"] / row["scheduled"]} for d, row in sorted(self.by_domain.items())}
        return {
            "scheduled": self.scheduled, "finished": self.finished, "errored": self.errored,
            "mean_score": self.mean_score, "total_score": self.total_score, "by_domain": domains,
            "tasks": [asdict(t) for t in self.tasks],
        }


def open_worker(stack: ExitStack, options: EvalOptions, base_url: str, vm_url: str | None,
                label: str | None = None) -> TaskWorker:
    """A worker with its own client for `base_url`, both closed with `stack` (for an executor's process)."""
    backend = OpenAICompatBackend(base_url, options.model, api_key=options.api_key)
    stack.callback(backend.close)
    worker = TaskWorker(options, backend, policy_config(options.model, options.temperature, options.max_tokens),
                        vm_url, label)
    stack.callback(worker.close)
    return worker


def store_result(folder: Path, result: TaskResult) -> None:
    """The driver's record of a task: result.txt, written atomically and last (it marks the task
    finished for resume), or error.txt. Only the driver writes these, whichever executor ran the task."""
    folder.mkdir(parents=True, exist_ok=True)
    if result.status == "finished":
        write_atomic(folder / RESULT_FILE, f"{result.score}\n")
    else:
        write_atomic(folder / ERROR_FILE, f"{result.error}\n")


def finished_result(folder: Path, task: Task) -> TaskResult | None:
    """The stored result of a task finished by an earlier run, if any."""
    try:
        score = float((folder / RESULT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return TaskResult(task.id, task.domain, "finished", score=score, resumed=True)


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
        summary.add(_unloadable(failure))
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
            first = options.base_urls[0] if options.base_urls else None
            backend = open_backend(stack, first, options.model, options.api_key, options.serve_log, on_status)
            config = policy_config(options.model, options.temperature, options.max_tokens)
            endpoints = replace(options, base_urls=options.base_urls or (backend.base_url,))
            if options.executor == "ray":
                from agent.evaluation.ray_executor import run_ray

                run_ray(endpoints, pending, on_start, record, on_status)
            elif options.workers > 1:
                from agent.evaluation.pool import run_pool

                run_pool(endpoints, pending, on_start, record)
            else:
                worker = TaskWorker(options, backend, config, options.vm_urls[0] if options.vm_urls else None)
                stack.callback(worker.close)
                for index, task in enumerate(pending):
                    on_start(task, index, len(pending))
                    record(worker.run_task(task, task_folder(options.results, task.domain, task.id)))
    write_atomic(options.results / SUMMARY_FILE, json.dumps(summary.to_json(), indent=2) + "\n")
    return summary


def _clear(folder: Path, keep_log: bool) -> None:
    """Empty a task folder for a new attempt (keeping the log of earlier attempts of this run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if keep_log and entry.name == LOG_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _unloadable(failure: LoadFailure) -> TaskResult:
    return TaskResult(failure.path.stem, failure.path.parent.name, "errored", error=f"not loadable: {failure.reason}")
