"""`TaskWorker`: runs and scores tasks one at a time on environments it owns, for any executor."""

from __future__ import annotations

import os
import socket
import time
import traceback
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from agent.backends.base import Backend
from agent.backends.registry import open_backend
from agent.episode.loop import Budget, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.episode.protocol import PolicyFactory
from agent.episode.run import make_perception, policy_config
from agent.evaluation.options import EnvChoice, GuardSettings, WorkerSpec
from agent.evaluation.results import LOG_FILE, TaskResult, clear_folder
from agent.safety import Guards, RunawayConfig, default_policy, load_policy, sandbox_policy
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter
from environments.base import ScreenEnv, TaskOptions
from environments.kinds import EnvKind, make_env
from environments.tasks.model import Task


def eval_guards(settings: GuardSettings, kind: str) -> Guards:
    """The guards of an evaluation episode: nobody confirms, so `confirm` rules refuse. Without
    --policy, disposable environments get the sandbox policy and a real desktop the default one."""
    if settings.policy is not None:
        policy = load_policy(settings.policy)
    else:
        policy = default_policy() if kind == "desktop" else sandbox_policy()
    return Guards(policy=policy, runaway=RunawayConfig(settings.max_repeats, settings.max_unchanged, settings.on_runaway))


def env_kind(task: Task, requested: EnvChoice) -> EnvKind:
    """The environment a task runs in: as asked, or with `auto` the task's own `env` field (default xvfb)."""
    if requested != "auto":
        return requested
    wanted = (task.model_extra or {}).get("env", "xvfb")
    return wanted if wanted in ("xvfb", "browser", "desktop") else "xvfb"


class TaskWorker:
    """Runs tasks one at a time on environments it owns (one per kind, built on first use and
    rebuilt after an error). A plain object with `run_task`, so other executors can host it."""

    def __init__(
        self, spec: WorkerSpec, backend: Backend, label: str | None = None, policy: PolicyFactory | None = None,
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.config: PolicyConfig = policy_config(spec.backend.model, spec.temperature, spec.max_tokens)
        self.policy: PolicyFactory = policy or partial(KimiPolicy, backend, self.config)
        # Named in each task's log: several processes, or hosts, write into one results folder.
        self.label = label or f"pid {os.getpid()} on {socket.gethostname()}"
        self._envs: dict[EnvKind, ScreenEnv] = {}

    def _env(self, kind: EnvKind) -> ScreenEnv:
        if kind not in self._envs:
            self._envs[kind] = make_env(self.spec.env_config(kind))
        return self._envs[kind]

    def _discard(self, kind: EnvKind) -> None:
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
        for attempt in range(1 + self.spec.retries):
            result = self._attempt(task, folder, attempt)
            if result.status == "finished":
                break
        return result

    def _attempt(self, task: Task, folder: Path, attempt: int) -> TaskResult:
        clear_folder(folder, keep_log=attempt > 0)
        kind = env_kind(task, self.spec.env)
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
                        env, self.policy(task.instruction),
                        make_perception("jpeg", True, self.config.max_patches), writer,
                        Budget(self.spec.max_steps),
                        reset_options=TaskOptions(task=task, workdir=folder / "work", offline=self.spec.offline),
                        guards=eval_guards(self.spec.guards, kind),
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


def open_worker(stack: ExitStack, spec: WorkerSpec, label: str | None = None) -> TaskWorker:
    """A worker with its own client for the spec's endpoint, both closed with `stack` (for an executor's process)."""
    backend = open_backend(spec.backend, stack)
    worker = TaskWorker(spec, backend, label)
    stack.callback(worker.close)
    return worker


