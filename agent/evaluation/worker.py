"""`TaskWorker`: runs and scores tasks one at a time on environments it owns, for any executor."""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from agent.backends.base import Backend
from agent.backends.registry import open_backend
from agent.episode.loop import Budget, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.episode.protocol import PolicyFactory
from agent.episode.run import image_encoding, make_perception, policy_config
from agent.evaluation.options import EnvChoice, GuardSettings, VMSpec, WorkerSpec
from agent.evaluation.results import LOG_FILE, TaskResult, clear_folder
from agent.evaluation.timing import timed
from agent.safety import Guards, RunawayConfig, default_policy, load_policy, sandbox_policy
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter
from environments.base import ScreenEnv, TaskOptions
from environments.kinds import EnvConfig, EnvKind, make_env
from environments.tasks.model import Task

if TYPE_CHECKING:
    from environments.vm.provider import VMProvider


def open_provider(vm: VMSpec, url: str | None, token: str | None, name: str,
                  say: Callable[[str], None]) -> VMProvider:
    """The provider of a worker's VM (not started). Imported here: only VM runs need QEMU's libraries."""
    if vm.provider == "url":
        from environments.vm.url import UrlProvider

        if url is None:
            raise ValueError("--provider url needs one --vm-url per worker")
        return UrlProvider(url, token, vm.revert_command if vm.revert else None, vm.boot_timeout, name)
    from environments.vm.qemu import QemuOptions, QemuProvider

    assert vm.image is not None
    first, last = vm.vnc_displays
    options = QemuOptions(image=vm.image, memory_mib=vm.memory_mib, cores=vm.cores, accel=vm.accel,
                          hardware=vm.hardware,
                          revert="snapshot" if vm.revert else "none", vnc_displays=range(first, last + 1),
                          boot_timeout=vm.boot_timeout, name=name)
    return QemuProvider(options, say=say)


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
        self.vm: VMProvider | None = None
        """The VM this worker owns for its life (with `spec.vm`): started on first use, in this thread,
        so QEMU dies with it (environments.vm.lifetime); rebooted when it stops answering."""
        self._vm_news: list[str] = []

    def _env(self, kind: EnvKind) -> ScreenEnv:
        if kind not in self._envs:
            config = self.spec.env_config(kind)
            if self.vm is not None and self.vm.handle is not None:
                config = EnvConfig(kind, size=self.spec.size, vm_url=self.vm.handle.server_url,
                                   vm_token=self.vm.handle.token)
            self._envs[kind] = make_env(config)
        return self._envs[kind]

    def _prepare_vm(self, note: Callable[[str], None]) -> None:
        """Start this worker's VM on first use; before every later task, revert it (as its policy says)."""
        vm = self.spec.vm
        if vm is None:
            return
        if self.vm is None:
            name = f"kimi-eval-{os.getpid()}"
            provider = open_provider(vm, self.spec.vm_url, self.spec.vm_token, name, self._vm_news.append)
            if vm.provider == "qemu":  # a url VM is already running: its env's first request checks it
                started = time.monotonic()
                provider.start()  # a failed start leaves no QEMU; the next attempt boots again
                self._vm_news.append(f"VM booted in {time.monotonic() - started:.0f} s")
            self.vm = provider
            assert self.vm.handle is not None
            self._vm_news.append(self.vm.handle.describe())
        if self.vm.revert_policy != "none":
            # A restored guest knows none of the connections opened since its snapshot: closed now (while
            # the server still answers them), the task's environment opens new ones.
            for kind in list(self._envs):
                self._discard(kind)
        started = time.monotonic()
        reverted = self.vm.before_task()
        for line in self._vm_news:
            note(f"vm: {line}")
        self._vm_news.clear()
        policy = self.vm.revert_policy
        if reverted:
            note(f"vm: reverted ({policy}) in {time.monotonic() - started:.1f} s")
        elif policy == "none":
            note("vm: not reverted (revert policy none): the task runs on what earlier tasks left")
        else:
            note(f"vm: pristine (revert policy {policy})")

    def _recover_vm(self, note: Callable[[str], None]) -> None:
        """After an errored attempt: a VM that stopped answering is killed and booted again (the task's
        next attempt runs on the fresh VM). A url VM is the user's: it is left as it is."""
        reboot = getattr(self.vm, "reboot", None)
        if self.vm is None or reboot is None or self.vm.healthy():
            return
        note("vm: the VM stopped answering: killed, booting it again")
        started = time.monotonic()
        try:
            reboot()
        except Exception as err:  # noqa: BLE001  the next attempt starts a new VM
            note(f"vm: reboot failed ({type(err).__name__}: {err}); the next attempt starts a new VM")
            self._stop_vm()
            return
        note(f"vm: rebooted in {time.monotonic() - started:.0f} s")

    def _stop_vm(self) -> None:
        vm, self.vm = self.vm, None
        if vm is not None:
            vm.stop()

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
        result = TaskResult(task.key, task.domain, "errored")
        for attempt in range(1 + self.spec.retries):
            result = self._attempt(task, folder, attempt)
            if result.status == "scored":
                break
        return result

    def _attempt(self, task: Task, folder: Path, attempt: int) -> TaskResult:
        clear_folder(folder, keep_log=attempt > 0)
        kind = env_kind(task, self.spec.env)
        started = time.monotonic()
        result = TaskResult(task.key, task.domain, "errored")
        with open(folder / LOG_FILE, "a", encoding="utf-8") as log:
            def note(message: str) -> None:
                log.write(f"{time.strftime('%H:%M:%S')} {message}\n")
                log.flush()

            named = task.id if task.key == task.id else f"{task.key} (id {task.id})"
            note(f"task {named} ({task.domain}) on {kind}, attempt {attempt + 1}, worker {self.label}: {task.instruction}")
            try:
                self._prepare_vm(note)
                env = timed(self._env(kind), self.spec.timing)
                writer = TrajectoryWriter(folder / "trajectory", EpisodeInfo(
                    instruction=task.instruction, model=self.config.model, env=kind, started_at=time.time(),
                    task_id=task.id, domain=task.domain,
                    vnc=self.vm.handle.vnc if self.vm is not None and self.vm.handle is not None else None,
                ))
                with writer:
                    episode = run_episode(
                        env, self.policy(task.instruction),
                        make_perception(image_encoding(self.config.model), True, self.config.max_patches,
                                        self.spec.observe_size), writer,
                        Budget(self.spec.max_steps),
                        reset_options=TaskOptions(task=task, workdir=folder / "work", offline=self.spec.offline,
                                                  rules=self.spec.rules),
                        guards=eval_guards(self.spec.guards, kind),
                    )
                    result.steps, result.outcome = len(episode.steps), episode.outcome
                    note(f"episode ended: {episode.outcome} after {len(episode.steps)} step(s)")
                    if episode.outcome == "interrupted":
                        raise KeyboardInterrupt
                    if episode.outcome == "error":
                        raise RuntimeError(episode.error or "the episode failed")
                    explanation = env.explain_score(last_action_failed=episode.outcome == "fail")
                    writer.record_score(explanation.score)
                result.status, result.score = "scored", explanation.score
                result.explanation = explanation
                note(result.score_text())
            except KeyboardInterrupt:
                note("interrupted")
                raise
            except Exception as err:  # noqa: BLE001  any failure errors this task only
                result.error = f"{type(err).__name__}: {err}"
                # The episode's own error (replies that never parse …) is one line; others keep a traceback.
                detail = "" if result.outcome == "error" else f"\n{traceback.format_exc()}"
                note(f"errored: {result.error}{detail}")
                self._discard(kind)
                self._recover_vm(note)
        result.seconds = time.monotonic() - started
        return result

    def close(self) -> None:
        for kind in list(self._envs):
            self._discard(kind)
        self._stop_vm()


def open_worker(stack: ExitStack, spec: WorkerSpec, label: str | None = None) -> TaskWorker:
    """A worker with its own client for the spec's endpoint, both closed with `stack` (for an executor's process)."""
    backend = open_backend(spec.backend, stack)
    worker = TaskWorker(spec, backend, label)
    stack.callback(worker.close)
    return worker


