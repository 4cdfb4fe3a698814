"""What an `eval` run is asked to do (`EvalOptions`), and the small part of it each worker receives (`WorkerSpec`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.backends.openai_compat import ExtraBody
from agent.backends.registry import DEFAULT_SERVE_LOG, BackendName, BackendSpec
from agent.safety import RunawayMode
from environments.kinds import EnvConfig, EnvKind
from environments.tasks.rules import RulesName
from environments.vm.hardware import Hardware

Timing = Literal["adaptive", "osworld", "waa"]
"""`--timing`: wait until the screen settles (ours), or also sleep as OSWorld's or WAA's runner does (timing.py)."""
EnvChoice = Literal["auto", "xvfb", "browser", "desktop", "osworld", "waa", "static"]
"""`--env`: a kind, or `auto` (each task's own `env` field)."""
Executor = Literal["local", "ray"]
ProviderName = Literal["qemu", "url"]
"""`--provider`: a VM each worker boots from an image (qemu), or one a person started (url)."""


@dataclass(frozen=True)
class VMSpec:
    """The VM every worker owns for its life (`--provider`): how to start it and whether to revert it.

    qemu: booted from `image` (never written), snapshotted once as `init_state` and restored before every
    task after the first. url: the worker's `--vm-url`, reverted by `revert_command` when one is given."""

    provider: ProviderName
    image: Path | None = None
    revert: bool = True
    """False (`--no-revert`): task k runs on what task k-1 left; the run is marked not comparable."""
    revert_command: str | None = None
    accel: Literal["kvm", "tcg", "auto"] = "auto"
    memory_mib: int = 2048
    cores: int = 2
    hardware: Hardware = Hardware()
    """qemu: firmware, TPM and disk controller (WAA's Windows 11 image: uefi-secure with a TPM)."""
    vnc_displays: tuple[int, int] = (10, 99)
    """First and last VNC display (5900 + N on 127.0.0.1) the VMs may take."""
    boot_timeout: float = 300.0

    @property
    def revert_policy(self) -> str:
        """What happens before a task on a used VM (qemu may fall back from snapshot to reboot)."""
        if not self.revert:
            return "none"
        if self.provider == "qemu":
            return "snapshot"
        return "command" if self.revert_command else "none"


@dataclass(frozen=True)
class GuardSettings:
    """The guards an evaluation episode runs under (see `agent.evaluation.worker.eval_guards`)."""

    policy: Path | None = None
    max_repeats: int | None = None
    max_unchanged: int | None = None
    on_runaway: RunawayMode = "intervene"


@dataclass(frozen=True)
class WorkerSpec:
    """One worker's settings: its model backend, its environments' settings, budget and guards."""

    backend: BackendSpec
    temperature: float | None
    max_tokens: int | None
    env: EnvChoice
    size: tuple[int, int]
    vm_url: str | None
    vm_token: str | None
    max_steps: int
    retries: int
    offline: bool
    guards: GuardSettings
    timing: Timing = "adaptive"
    vm: VMSpec | None = None
    rules: RulesName = "osworld"
    observe_size: tuple[int, int] | None = None
    """The size every screenshot is resized to before the model sees it (WAA's runs: 1280×720); None: as captured."""

    def env_config(self, kind: EnvKind) -> EnvConfig:
        """The settings of this worker's environment of `kind` (chosen per task with `--env auto`)."""
        return EnvConfig(kind, size=self.size, vm_url=self.vm_url, vm_token=self.vm_token)


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
    env: EnvChoice = "auto"
    base_urls: tuple[str, ...] = ()
    """OpenAI-compatible endpoints, dealt round-robin to workers; none: use or start `vllm serve`."""
    backend: BackendName = "openai"
    script: Path | None = None
    """`backend` scripted: a script file, an episode folder, or a folder of per-task solutions."""
    model: str = "moonshotai/Kimi-VL-A3B-Thinking-2506"
    api_key: str | None = None
    max_steps: int = 15
    size: tuple[int, int] = (1280, 800)
    retries: int = 1
    offline: bool = False
    serve_log: Path = DEFAULT_SERVE_LOG
    temperature: float | None = None
    max_tokens: int | None = None
    workers: int = 1
    vm_urls: tuple[str, ...] = ()
    """One VM server per worker for --env osworld/waa."""
    vm_token: str | None = None
    vm: VMSpec | None = None
    """The VM provider: each worker owns one VM (osworld/waa tasks run in it through its server)."""
    executor: Executor = "local"
    ray: RayOptions = RayOptions()
    policy: Path | None = None
    """Action policy file; None: the sandbox policy, or the default policy on --env desktop."""
    max_repeats: int | None = None
    max_unchanged: int | None = None
    """Runaway limits (None: off, the default in eval: an intervention changes what the model
    sees and does, and scores must stay comparable with other harnesses)."""
    on_runaway: RunawayMode = "intervene"
    timing: Timing = "adaptive"
    new_run: bool = False
    """Start a new run in a folder that holds another one (which is moved aside), instead of refusing."""
    osworld_results: Path | None = None
    """Also write each task's result in OSWorld's layout under this folder (see osworld_layout.py)."""
    waa_results: Path | None = None
    """Also write each task's result in WAA's layout (OSWorld's with a trial folder) under this folder."""
    rules: RulesName = "osworld"
    """Whose failure rules setup and scoring follow (environments/tasks/rules.py): WAA's with --env waa."""
    observe_size: tuple[int, int] | None = None
    """Screenshots resized to this before the model sees them (`--observe-size`); None: as captured."""
    extra_body: ExtraBody | None = None
    """Fields merged into every chat request (`--extra-body`); part of the run's identity."""

    @property
    def guards(self) -> GuardSettings:
        return GuardSettings(self.policy, self.max_repeats, self.max_unchanged, self.on_runaway)

    def worker_spec(self, base_url: str | None, vm_url: str | None) -> WorkerSpec:
        """What one worker needs (and only that): sent to every worker process and Ray actor."""
        return WorkerSpec(
            backend=BackendSpec(
                self.backend, self.model, base_url, self.api_key, self.script, self.serve_log,
                extra_body=self.extra_body,
            ),
            temperature=self.temperature,
            max_tokens=self.max_tokens, env=self.env,
            size=self.size, vm_url=vm_url, vm_token=self.vm_token,
            max_steps=self.max_steps, retries=self.retries, offline=self.offline, guards=self.guards,
            timing=self.timing, vm=self.vm, rules=self.rules, observe_size=self.observe_size,
        )
