"""Wiring for `kimi-agent run`: environment, backend (starting vLLM if needed), policy, recorder."""

from __future__ import annotations

import os
import shlex
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from actions.coords import Frame
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for, default_sampling
from agent.backends.openai_compat import OpenAICompatBackend, is_serving
from agent.backends.vllm_server import ServeConfig, VLLMServer
from agent.episode.loop import Budget, EpisodeResult, Perception, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.safety import (
    DEFAULT_PANIC_KEY,
    Confirmer,
    ConfirmMode,
    Guards,
    PanicKey,
    PanicSignal,
    RunawayConfig,
    default_policy,
    load_policy,
)
from agent.safety.runaway import DEFAULT_MAX_REPEATS, DEFAULT_MAX_UNCHANGED, RunawayMode
from agent.trajectory.store import EpisodeInfo, StepRecord, TrajectoryWriter
from environments.encode import EncodedImage, ImageFormat, encode_image, resize_for_model
from environments.screen import Screenshot, frame_for

EnvName = Literal["desktop", "xvfb", "browser", "osworld", "waa"]
DEFAULT_RECORDINGS = Path("recordings")
LOCAL_DISPLAY_ENVS: tuple[EnvName, ...] = ("desktop", "xvfb")
"""Envs that act on an X display of this machine: the panic key listens there. (The corner
fail-safe is on only for `desktop`, whose pointer a person can reach.)"""


@dataclass(frozen=True)
class RunOptions:
    instruction: str
    env: EnvName = "desktop"
    base_url: str | None = None
    model: str = DEFAULT_CHECKPOINT
    api_key: str | None = None
    max_steps: int = 30
    max_seconds: float | None = None
    record: Path = DEFAULT_RECORDINGS
    monitor: int = 1
    scale: float = 1.0
    size: tuple[int, int] = (1920, 1080)
    launch: tuple[str, ...] = ()
    url: str = "about:blank"
    image_format: ImageFormat = "jpeg"
    resize: bool = True
    temperature: float | None = None
    max_tokens: int | None = None
    serve_log: Path = field(default=Path("recordings/vllm-serve.log"))
    vm_url: str | None = None
    vm_token: str | None = None
    policy: Path | None = None
    """Policy file replacing the shipped one (agent/safety/default_policy.toml)."""
    confirm: ConfirmMode = "risky"
    panic_key: str | None = DEFAULT_PANIC_KEY
    """None: no panic key."""
    max_repeats: int | None = DEFAULT_MAX_REPEATS
    max_unchanged: int | None = DEFAULT_MAX_UNCHANGED
    on_runaway: RunawayMode = "intervene"


def make_guards(options: RunOptions) -> Guards:
    """The guards `options` ask for; raises `PolicyError` or `PanicKeyError` for bad settings."""
    policy = load_policy(options.policy) if options.policy is not None else default_policy()
    panic = PanicSignal(options.panic_key) if options.panic_key and options.env in LOCAL_DISPLAY_ENVS else None
    return Guards(
        policy=policy, confirm=Confirmer(options.confirm),
        runaway=RunawayConfig(options.max_repeats, options.max_unchanged, options.on_runaway), panic=panic,
    )


def make_perception(image_format: ImageFormat, resize: bool, max_patches: int) -> Perception:
    """Screenshot → (encoded image, coordinate frame), resized to Kimi-VL's 28-px grid if asked."""

    def encode(shot: Screenshot) -> tuple[EncodedImage, Frame]:
        image = resize_for_model(shot.image, max_patches) if resize else shot.image
        return encode_image(image, image_format), frame_for(shot, image.size)

    return Perception(encode)


def make_env(options: RunOptions):
    """The environment `options` asks for (imported here: pyautogui needs DISPLAY first)."""
    if options.env in ("osworld", "waa"):
        from environments.remote.env import RemoteVMEnv

        if not options.vm_url:
            raise ValueError(f"--env {options.env} needs --vm-url")
        return RemoteVMEnv(options.vm_url, options.vm_token, flavor=options.env)
    if options.env == "browser":
        from environments.browser import BrowserEnv

        width, height = options.size
        return BrowserEnv(width, height, url=options.url, device_scale_factor=options.scale)
    if options.env == "xvfb":
        from environments.xvfb import XvfbEnv

        width, height = options.size
        return XvfbEnv(width, height, launch=[shlex.split(cmd) for cmd in options.launch], scale=options.scale)
    from environments.desktop import DesktopEnv

    return DesktopEnv(monitor=options.monitor, scale=options.scale)


def open_backend(
    stack: ExitStack, base_url: str | None, model: str, api_key: str | None, serve_log: Path,
    on_status: Callable[[str], None],
) -> OpenAICompatBackend:
    """A client for `base_url`; with None, the local `vllm serve` (started, and stopped with `stack`, if not running)."""
    if base_url is None:
        serve = ServeConfig(checkpoint=model)
        base_url = serve.base_url
        if not is_serving(base_url):
            on_status(f"nothing answers at {base_url}: starting vllm serve {model} (log: {serve_log})")
            server = stack.enter_context(VLLMServer(serve, serve_log))
            stack.callback(server.stop)
    backend = OpenAICompatBackend(base_url, model, api_key=api_key)
    stack.callback(backend.close)
    return backend


def policy_config(model: str, temperature: float | None = None, max_tokens: int | None = None) -> PolicyConfig:
    """The checkpoint's prompt variant and recommended sampling, with any overrides."""
    checkpoint = checkpoint_for(model)
    updates = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    sampling = default_sampling(model).model_copy(update=updates)
    return PolicyConfig(model=model, variant=checkpoint.variant, sampling=sampling, max_patches=checkpoint.max_patches)


def run_instruction(
    options: RunOptions,
    on_step: Callable[[StepRecord], None] | None = None,
    on_status: Callable[[str], None] = lambda _: None,
) -> EpisodeResult:
    """Run one episode as `options` say and return its result; every process started is stopped."""
    config = policy_config(options.model, options.temperature, options.max_tokens)
    guards = make_guards(options)
    with ExitStack() as stack:
        backend = open_backend(stack, options.base_url, options.model, options.api_key, options.serve_log, on_status)
        env = make_env(options)
        stack.callback(env.close)
        policy = KimiPolicy(backend, config, options.instruction)
        writer = TrajectoryWriter.create(
            options.record,
            EpisodeInfo(instruction=options.instruction, model=options.model, env=options.env, started_at=time.time()),
        )
        stack.callback(writer.close)
        perception = make_perception(options.image_format, options.resize, config.max_patches)
        if guards.panic is not None:  # after make_env: an xvfb env sets DISPLAY
            stack.enter_context(PanicKey(guards.panic))
            on_status(f"panic key: {guards.panic.keys} on display {os.environ.get('DISPLAY')} stops the run")
        return run_episode(
            env, policy, perception, writer, Budget(options.max_steps, options.max_seconds), on_step, guards=guards,
        )
