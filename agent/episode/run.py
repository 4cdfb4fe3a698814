"""Wiring for `kimi-agent run`: environment, backend by name (starting vLLM if needed), policy, recorder."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

from actions.coords import Frame
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for
from agent.backends.openai_compat import ExtraBody, OnProgress
from agent.backends.registry import DEFAULT_SERVE_LOG, BackendName, BackendSpec, open_backend
from agent.backends.vllm_server import DEFAULT_PORT, ServeConfig
from agent.episode.loop import Budget, EpisodeResult, LoopEvents, Perception, run_episode
from agent.episode.history import HistoryConfig
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.safety import (
    DEFAULT_PANIC_KEY, Confirmer, ConfirmMode, Guards, PanicKey, PanicSignal, RunawayConfig, default_policy,
    load_policy,
)
from agent.safety.runaway import DEFAULT_MAX_REPEATS, DEFAULT_MAX_UNCHANGED, RunawayMode
from agent.trajectory.setup import env_setup
from agent.trajectory.store import EpisodeInfo, StepRecord, TrajectoryWriter
from environments.encode import EncodedImage, ImageEncoding, ImageFormat, encode_image, resize_for_model
from environments.kinds import LOCAL_DISPLAY_KINDS, EnvConfig, make_env
from environments.screen import Screenshot, frame_for

DEFAULT_RECORDINGS = Path("recordings")


@dataclass(frozen=True)
class RunOptions:
    instruction: str
    env: EnvConfig = EnvConfig("desktop")
    base_url: str | None = None
    model: str = DEFAULT_CHECKPOINT
    api_key: str | None = None
    max_steps: int = 30
    max_seconds: float | None = None
    record: Path = DEFAULT_RECORDINGS
    image_format: ImageFormat | None = None
    """None: the checkpoint's own encoding (JPEG for Kimi-VL, WebP q75 for Kimi-K2.5)."""
    resize: bool = True
    temperature: float | None = None
    max_tokens: int | None = None
    serve_log: Path = DEFAULT_SERVE_LOG
    backend: BackendName = "openai"
    script: Path | None = None
    """`backend` scripted: the script file or episode folder whose replies are played back."""
    policy: Path | None = None
    """Policy file replacing the shipped one (agent/safety/default_policy.toml)."""
    confirm: ConfirmMode = "risky"
    panic_key: str | None = DEFAULT_PANIC_KEY
    """None: no panic key."""
    max_repeats: int | None = DEFAULT_MAX_REPEATS
    max_unchanged: int | None = DEFAULT_MAX_UNCHANGED
    on_runaway: RunawayMode = "intervene"
    extra_body: ExtraBody | None = None
    """Fields merged into every chat request (`--extra-body`)."""
    serve_port: int = DEFAULT_PORT
    """Without `base_url`: the port of the local `vllm serve`, used if it answers, else started there."""
    vllm: str = "vllm"
    """The vllm program that start runs (`--vllm`), e.g. another virtual environment's bin/vllm."""
    vllm_args: tuple[str, ...] = ()
    """Extra `vllm serve` arguments for that start (`--vllm-arg`)."""
    stream: bool = False
    """Ask the server to stream its answers (`--stream`): the same completion, its progress seen sooner."""

    @property
    def serve(self) -> ServeConfig:
        """The `vllm serve` run starts when no `base_url` is given and nothing answers on `serve_port`."""
        return ServeConfig(checkpoint=self.model, port=self.serve_port, extra_args=self.vllm_args,
                           vllm_executable=self.vllm)

    @property
    def backend_spec(self) -> BackendSpec:
        return BackendSpec(
            self.backend, self.model, self.base_url, self.api_key, self.script, self.serve_log,
            extra_body=self.extra_body, serve=self.serve if self.base_url is None else None,
            stream=self.stream,
        )


def make_guards(options: RunOptions) -> Guards:
    """The guards `options` ask for; raises `PolicyError` or `PanicKeyError` for bad settings."""
    policy = load_policy(options.policy) if options.policy is not None else default_policy()
    local = options.env.kind in LOCAL_DISPLAY_KINDS
    panic = PanicSignal(options.panic_key) if options.panic_key and local else None
    return Guards(
        policy=policy, confirm=Confirmer(options.confirm),
        runaway=RunawayConfig(options.max_repeats, options.max_unchanged, options.on_runaway), panic=panic,
    )


def make_perception(image_format: ImageFormat | ImageEncoding, resize: bool, max_patches: int,
                    observe_size: tuple[int, int] | None = None) -> Perception:
    """Screenshot → (encoded image, coordinate frame), first resized to `observe_size` when given (as
    WAA's runs see 1280×720), then to Kimi-VL's 28-px grid if asked. The frame maps the model's
    points back to the screen through both."""

    def encode(shot: Screenshot) -> tuple[EncodedImage, Frame]:
        image = shot.image
        if observe_size is not None and image.size != observe_size:
            image = image.resize(observe_size, Image.Resampling.LANCZOS)
        image = resize_for_model(image, max_patches) if resize else image
        return encode_image(image, image_format), frame_for(shot, image.size)

    return Perception(encode)


def policy_config(
    model: str, temperature: float | None = None, max_tokens: int | None = None
) -> PolicyConfig:
    """The checkpoint's prompt variant and recommended sampling, with any overrides."""
    checkpoint = checkpoint_for(model)
    updates = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    sampling = checkpoint.sampling.model_copy(update=updates)
    return PolicyConfig(
        model=model, variant=checkpoint.variant, sampling=sampling, max_patches=checkpoint.max_patches,
        history=HistoryConfig(checkpoint.history_images, checkpoint.history_keep),
    )


def image_encoding(model: str, image_format: ImageFormat | None = None) -> ImageEncoding:
    """The encoding screenshots are sent in: `image_format` when given, else the checkpoint's own."""
    return ImageEncoding(image_format) if image_format is not None else checkpoint_for(model).image


def run_instruction(
    options: RunOptions,
    on_step: Callable[[StepRecord], None] | None = None,
    on_status: Callable[[str], None] = lambda _: None,
    events: LoopEvents = LoopEvents(),
    on_progress: OnProgress | None = None,
) -> EpisodeResult:
    """Run one episode as `options` say and return its result; every process started is stopped.
    `on_progress` is told how much of each answer has arrived when `options.stream` is set."""
    config = policy_config(options.model, options.temperature, options.max_tokens)
    guards = make_guards(options)
    with ExitStack() as stack:
        backend = open_backend(options.backend_spec, stack, on_status, on_progress)
        env = make_env(options.env)
        stack.callback(env.close)
        policy = KimiPolicy(backend, config, options.instruction)
        writer = TrajectoryWriter.create(
            options.record,
            EpisodeInfo(instruction=options.instruction, model=options.model, env=options.env.kind, started_at=time.time(),
                        setup=env_setup(options.env)),
        )
        stack.callback(writer.close)
        encoding = image_encoding(options.model, options.image_format)
        perception = make_perception(encoding, options.resize, config.max_patches)
        if guards.panic is not None:  # after make_env: an xvfb env sets DISPLAY
            stack.enter_context(PanicKey(guards.panic))
            on_status(f"panic key: {guards.panic.keys} on display {os.environ.get('DISPLAY')} stops the run")
        return run_episode(
            env, policy, perception, writer, Budget(options.max_steps, options.max_seconds), on_step, guards=guards,
            events=events,
        )
