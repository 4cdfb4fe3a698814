"""`kimi-agent doctor`: checks the machine for what `run` and `serve` need and says what to fix."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
import typer
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from rich.console import Console
from rich.markup import escape

from agent.backends.checkpoints import DEFAULT_CHECKPOINT, Checkpoint, resolve_checkpoint
from agent.backends.vllm_server import DEFAULT_PORT

Status = Literal["ok", "warn", "fail"]

X_TOOLS = {
    "Xvfb": "xvfb", "openbox": "openbox", "xdotool": "xdotool", "wmctrl": "wmctrl",
    "xdpyinfo": "x11-utils", "dbus-run-session": "dbus",
}
KIMI_VL_GPU_GIB = 40


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_display() -> Check:
    display = os.environ.get("DISPLAY")
    if not display:
        return Check("display", "warn", "DISPLAY is not set", "use `--env xvfb` for a managed virtual desktop, or export DISPLAY=:0")
    if shutil.which("xdpyinfo") is None:
        return Check("display", "warn", f"DISPLAY={display}, not probed (xdpyinfo missing)", "apt-get install x11-utils")
    probe = subprocess.run(["xdpyinfo"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        return Check("display", "fail", f"DISPLAY={display} does not answer", "start the X server or use `--env xvfb`")
    size = next((line.split()[1] for line in probe.stdout.splitlines() if "dimensions:" in line), "?")
    return Check("display", "ok", f"DISPLAY={display}, {size}")


def check_x_tools() -> list[Check]:
    checks = []
    for tool, package in X_TOOLS.items():
        found = shutil.which(tool)
        checks.append(Check(tool, "ok" if found else "fail", found or "not found", "" if found else f"apt-get install {package}"))
    return checks


def check_tkinter() -> Check:
    try:
        import tkinter  # noqa: F401  (pyautogui needs it on X11)
    except ImportError:
        return Check("tkinter", "fail", "not importable", "apt-get install python3-tk (then recreate .venv)")
    return Check("tkinter", "ok", "importable")


def check_gpu() -> Check:
    if shutil.which("nvidia-smi") is None:
        return Check("gpu", "warn", "no NVIDIA GPU driver (nvidia-smi not found)", "`serve` needs a CUDA GPU; `run` can use a remote --base-url")
    probe = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, timeout=20,
    )
    if probe.returncode != 0 or not probe.stdout.strip():
        return Check("gpu", "fail", "nvidia-smi found no usable GPU", "check the NVIDIA driver")
    gpus = [line.rsplit(",", 1) for line in probe.stdout.strip().splitlines()]
    largest = max(int(mem.strip()) for _, mem in gpus) / 1024
    detail = "; ".join(f"{name.strip()} {int(mem.strip()) / 1024:.0f} GiB" for name, mem in gpus)
    if largest < KIMI_VL_GPU_GIB:
        return Check("gpu", "warn", detail, f"Kimi-VL's bf16 weights are ~33 GB: use a ≥{KIMI_VL_GPU_GIB} GB GPU, or lower --max-num-seqs and context")
    return Check("gpu", "ok", detail)


def is_local(base_url: str) -> bool:
    """True when `base_url` points at this machine, where `serve` runs vLLM with this Python's libraries."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def meets(installed: str, spec: str) -> bool:
    """True when version `installed` meets the PEP 440 specifier `spec` (pre-releases, local builds too)."""
    try:
        version = Version(installed)
    except InvalidVersion:
        return False
    return SpecifierSet(spec).contains(Version(version.base_version), prereleases=True)


def check_packages(checkpoint: Checkpoint) -> list[Check]:
    """vllm and transformers against `checkpoint`'s published requirements, and the tokenizer's imports."""
    recipe = checkpoint.serve
    known = f"known to work for {checkpoint.name}: {recipe.known_good} ({recipe.source})"
    checks = []
    for name, spec in (("vllm", recipe.vllm), ("transformers", recipe.transformers)):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            checks.append(Check(name, "warn", f"not installed ({checkpoint.name} needs {name}{spec})",
                                f"`serve` needs it on a CUDA machine: pip install '{name}{spec}'; {known}"))
            continue
        ok = not spec or meets(installed, spec)
        detail = f"{installed} (needs {spec} for {checkpoint.name})" if spec else installed
        fix = "" if ok else f"pip install '{name}{spec}'; {known}"
        checks.append(Check(name, "ok" if ok else "fail", detail, fix))
    for name in ("tiktoken", "blobfile"):
        try:
            checks.append(Check(name, "ok", metadata.version(name)))
        except metadata.PackageNotFoundError:
            fix = f"pip install {name} (the checkpoint's remote tokenizer code imports it)"
            checks.append(Check(name, "warn", "not installed", fix))
    return checks


def check_server(base_url: str) -> Check:
    try:
        response = httpx.get(base_url.rstrip("/") + "/models", timeout=3)
        response.raise_for_status()
        models = [m.get("id", "?") for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError) as err:
        return Check("model server", "warn", f"{base_url}: {type(err).__name__}: {err}", "start one with `kimi-agent serve`, or pass --base-url")
    return Check("model server", "ok", f"{base_url} serves {', '.join(models) or 'no models'}")


def check_model(model: str) -> Check:
    checkpoint, warning = resolve_checkpoint(model)
    if warning:
        return Check("model", "warn", warning, "pass a known checkpoint as --model, or accept these settings")
    tokens = "exact" if checkpoint.exact_image_tokens else "estimated"
    detail = (
        f"{model}: {checkpoint.name} ({checkpoint.variant} prompt, {checkpoint.image} screenshots, "
        f"image-token counts {tokens})"
    )
    return Check("model", "ok", detail)


def run_checks(base_url: str, model: str = DEFAULT_CHECKPOINT) -> list[Check]:
    """Every check, in the order a person would fix them; vLLM's libraries and the GPU for a local server."""
    if is_local(base_url):
        serving = [check_gpu(), *check_packages(resolve_checkpoint(model)[0])]
    else:
        remote = f"{base_url} is another machine: its vllm, transformers and GPU are not checked here"
        serving = [Check("serving", "ok", remote)]
    return [check_display(), *check_x_tools(), check_tkinter(), check_model(model), *serving,
            check_server(base_url)]


def doctor_command(
    base_url: Annotated[str, typer.Option(help="Model server to probe.")] = f"http://127.0.0.1:{DEFAULT_PORT}/v1",
    model: Annotated[str, typer.Option(help="Checkpoint whose vLLM/transformers requirements to check, e.g. moonshotai/Kimi-K2.5.")] = DEFAULT_CHECKPOINT,
) -> None:
    """Check this machine for what `run` and `serve` need, and say exactly what to fix."""
    marks = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    checks = run_checks(base_url, model)
    console = Console()
    for check in checks:
        fix = f"  [dim]→ {escape(check.fix)}[/dim]" if check.fix else ""
        console.print(f"{marks[check.status]} {check.name:16s} {escape(check.detail)}{fix}", highlight=False)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)
