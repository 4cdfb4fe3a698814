"""Backends chosen by name: `openai` (default), `vllm-offline` and the `scripted` stand-in."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, get_args

from actions.errors import first_error
from agent.backends.base import Backend, BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT
from agent.backends.openai_compat import ExtraBody, OnProgress, OpenAICompatBackend, is_serving
from agent.backends.scripted import ScriptedBackend, SolutionBook
from agent.backends.vllm_offline import VLLMOfflineBackend
from agent.backends.vllm_server import ServeConfig, VLLMServer
from agent.trajectory.store import EPISODE_FILE

BackendName = Literal["openai", "vllm-offline", "scripted"]
BACKEND_NAMES: tuple[BackendName, ...] = get_args(BackendName)
DEFAULT_SERVE_LOG = Path("recordings/vllm-serve.log")
Status = Callable[[str], None]


@dataclass(frozen=True)
class BackendSpec:
    """Which backend to open and what it needs; small and picklable, so a worker process can be sent one."""

    name: BackendName = "openai"
    model: str = DEFAULT_CHECKPOINT
    base_url: str | None = None
    """`openai`: the endpoint; None: the local `vllm serve`, started if nothing answers."""
    api_key: str | None = None
    script: Path | None = None
    """`scripted`: a script file {"replies": [...]}, a recorded episode folder, or a folder of
    per-task solutions (script files that name the instruction they answer)."""
    serve_log: Path = DEFAULT_SERVE_LOG
    extra_body: ExtraBody | None = None
    """`openai`: fields merged into every chat request (`--extra-body`)."""
    stream: bool = False
    """`openai`: ask for streamed answers, so progress can be shown while the model writes (`--stream`)."""
    serve: ServeConfig | None = None
    """`openai` without `base_url`: the `vllm serve` to use or start (port, program, extra arguments);
    None: the checkpoint's recipe on the default port."""


def open_backend(
    spec: BackendSpec, stack: ExitStack, on_status: Status = lambda _: None,
    on_progress: OnProgress | None = None,
) -> Backend:
    """The backend `spec` names, closed (and any server it started stopped) with `stack`; `on_progress`
    is told how much of each answer has arrived when `spec.stream` asks the server to stream."""
    if spec.name == "openai":
        return _openai(spec, stack, on_status, on_progress)
    return _OPENERS[spec.name](spec, stack, on_status)


def open_openai(
    stack: ExitStack, base_url: str | None, model: str, api_key: str | None, serve_log: Path,
    on_status: Status, extra_body: ExtraBody | None = None, serve: ServeConfig | None = None,
    stream: bool = False, on_progress: OnProgress | None = None,
) -> OpenAICompatBackend:
    """A client for `base_url`; with None, the local `vllm serve` `serve` describes (default: the checkpoint's
    recipe on port 8000), started, and stopped with `stack`, if nothing answers there."""
    if base_url is None:
        serve = serve or ServeConfig(checkpoint=model)
        base_url = serve.base_url
        if not is_serving(base_url):
            on_status(f"nothing answers at {base_url}: starting vllm serve {model} (log: {serve_log})")
            server = stack.enter_context(VLLMServer(serve, serve_log))
            stack.callback(server.stop)
    backend = OpenAICompatBackend(base_url, model, api_key=api_key, extra_body=extra_body, stream=stream,
                                  on_progress=on_progress)
    stack.callback(backend.close)
    return backend


def _openai(
    spec: BackendSpec, stack: ExitStack, on_status: Status, on_progress: OnProgress | None = None,
) -> Backend:
    return open_openai(
        stack, spec.base_url, spec.model, spec.api_key, spec.serve_log, on_status, extra_body=spec.extra_body,
        serve=spec.serve, stream=spec.stream, on_progress=on_progress,
    )


def _vllm_offline(spec: BackendSpec, stack: ExitStack, on_status: Status) -> Backend:
    # vLLM itself is imported on construction: without it, a BackendError naming what to install.
    return VLLMOfflineBackend(ServeConfig(checkpoint=spec.model))


def _scripted(spec: BackendSpec, stack: ExitStack, on_status: Status) -> Backend:
    if spec.script is None:
        raise BackendError(
            "the scripted backend plays back recorded replies: "
            "give --script with a script file or an episode folder"
        )
    try:
        if spec.script.is_dir() and not (spec.script / EPISODE_FILE).exists():
            return SolutionBook.from_folder(spec.script)
        backend = ScriptedBackend.from_path(spec.script)
    except (OSError, ValueError) as err:  # missing file, bad JSON, wrong shape, unreadable episode folder
        raise BackendError(f"cannot read the script {spec.script}: {first_error(err)}") from None
    return backend


_OPENERS: dict[BackendName, Callable[[BackendSpec, ExitStack, Status], Backend]] = {
    "openai": _openai,
    "vllm-offline": _vllm_offline,
    "scripted": _scripted,
}
