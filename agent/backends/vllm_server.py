"""Starting and supervising `vllm serve` for a Kimi checkpoint, with the flags of its recipe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, Checkpoint, checkpoint_for

DEFAULT_PORT = 8000


class ServerStartError(BackendError):
    """`vllm serve` exited or did not become healthy; the message quotes its log."""


@dataclass(frozen=True)
class ServeConfig:
    """A `vllm serve` command; fields left None are filled from the checkpoint's recipe on construction."""

    checkpoint: str = DEFAULT_CHECKPOINT
    served_name: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_model_len: int | None = None
    max_num_batched_tokens: int = 16384
    """Must exceed the largest image's token count (4,214 for a 1440p screenshot on Thinking-2506)."""
    images_per_prompt: int | None = None
    tensor_parallel_size: int | None = None
    max_tokens: int | None = None
    """The server's default reply budget for clients that send none (vLLM's own default can be small)."""
    max_num_seqs: int | None = None
    gpu_memory_utilization: float | None = None
    extra_args: tuple[str, ...] = ()
    vllm_executable: str = "vllm"

    def __post_init__(self) -> None:
        facts = checkpoint_for(self.checkpoint)
        recipe = facts.serve
        for name, value in (
            ("max_model_len", recipe.max_model_len), ("images_per_prompt", facts.images_per_prompt),
            ("tensor_parallel_size", recipe.tensor_parallel_size), ("max_tokens", facts.max_tokens),
        ):
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    @property
    def name(self) -> str:
        return self.served_name or self.checkpoint

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def facts(self) -> Checkpoint:
        return checkpoint_for(self.checkpoint)

    def command(self) -> list[str]:
        """The `vllm serve` command line the checkpoint's recipe prescribes (KIMI_VL.md for Kimi-VL)."""
        recipe = self.facts.serve
        argv = [
            self.vllm_executable, "serve", self.checkpoint,
            "--trust-remote-code",
            "--served-model-name", self.name,
            "--host", self.host,
            "--port", str(self.port),
            "--max-model-len", str(self.max_model_len),
            "--max-num-batched-tokens", str(max(self.max_num_batched_tokens, 8192)),
            "--limit-mm-per-prompt", json.dumps({"image": self.images_per_prompt}),
            # The agent always sends max_tokens; this covers any other client of the same server.
            "--override-generation-config", json.dumps({"max_new_tokens": self.max_tokens}),
        ]
        if self.tensor_parallel_size and self.tensor_parallel_size > 1:
            argv += ["--tensor-parallel-size", str(self.tensor_parallel_size)]
        if recipe.reasoning_parser is not None:
            argv += ["--reasoning-parser", recipe.reasoning_parser]
        argv += list(recipe.extra_flags)
        if self.max_num_seqs is not None:
            argv += ["--max-num-seqs", str(self.max_num_seqs)]
        if self.gpu_memory_utilization is not None:
            argv += ["--gpu-memory-utilization", str(self.gpu_memory_utilization)]
        return argv + list(self.extra_args)


@dataclass
class VLLMServer:
    """A supervised `vllm serve` process: its own process group, its log in a file."""

    config: ServeConfig
    log_path: Path
    process: subprocess.Popen | None = field(default=None, init=False)

    def start(self, timeout: float = 1800.0) -> VLLMServer:
        """Start the server and wait until it answers /health (or raise `ServerStartError`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.config.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except FileNotFoundError as err:
            raise ServerStartError(
                f"{self.config.vllm_executable!r} not found: install the vllm extra "
                "(pip install -e '.[vllm]') on a machine with a CUDA GPU"
            ) from err
        finally:
            log.close()
        self.wait_until_healthy(timeout)
        return self

    def wait_until_healthy(self, timeout: float) -> None:
        root = self.config.base_url.removesuffix("/v1")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerStartError(
                    f"vllm serve exited with status {self.process.returncode}; "
                    f"last log lines:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{root}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise ServerStartError(
            f"vllm serve was not healthy after {timeout:.0f} s; last log lines:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return "(no log)"
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return "".join(deque(f, maxlen=lines)).rstrip()

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM the server's process group, then SIGKILL after `grace`; safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
