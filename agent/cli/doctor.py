"""`kimi-agent doctor`: checks the machine for what one command needs (only that) and says what to fix.

`--for` names the command; each needs its own things: a display and X tools for desktop environments, Chromium
and Playwright for the browser, LibreOffice and the osworld extra for `eval`'s local suite, QEMU for VMs, PyAV
for `view --mp4`, and vLLM's libraries and a GPU only for `serve` or a server on this machine.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from typing import Annotated, Callable, Literal, Optional
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
DESKTOP_TOOLS = ("xdpyinfo",)
"""The `desktop` kind acts through pyautogui on $DISPLAY; xdpyinfo is how doctor probes that display."""
QEMU = "qemu-system-x86_64"
VM_TOOLS = {QEMU: "qemu-system-x86", "qemu-img": "qemu-utils"}
IMAGE_TOOLS = {"mmdebstrap": "mmdebstrap", "mkfs.ext4": "e2fsprogs"}
"""`kimi-agent vm build` writes our guest image with these (environments/vm/image.py), without mounts."""
OSWORLD_LIBRARIES = (
    "openpyxl", "python-docx", "python-pptx", "odfpy", "pandas", "lxml", "rapidfuzz", "pymupdf", "pypdf",
    "formulas", "scikit-image", "imagehash", "opencv-python-headless", "librosa", "fastdtw", "mutagen",
    "beautifulsoup4", "cssselect", "tldextract", "pyyaml", "pydrive2", "py7zr",
)
"""The distributions of pyproject.toml's `osworld` extra: the evaluators read results with them."""
COMMAND_NAMES = ("run", "eval", "ground", "serve", "vm", "view", "record", "replay", "all")
DEFAULT_ENVS = {"run": "desktop", "replay": "desktop", "eval": "auto"}
"""Each command's own default --env (`replay` first uses the recording's, else desktop)."""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_display() -> Check:
    display = os.environ.get("DISPLAY")
    if not display:
        return Check("display", "warn", "DISPLAY is not set",
                     "use `--env xvfb` for a managed virtual desktop, or export DISPLAY=:0")
    if shutil.which("xdpyinfo") is None:
        return Check("display", "warn", f"DISPLAY={display}, not probed (xdpyinfo missing)",
                     "apt-get install x11-utils")
    probe = subprocess.run(["xdpyinfo"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        return Check("display", "fail", f"DISPLAY={display} does not answer",
                     "start the X server or use `--env xvfb`")
    size = next((line.split()[1] for line in probe.stdout.splitlines() if "dimensions:" in line), "?")
    return Check("display", "ok", f"DISPLAY={display}, {size}")


def check_tool(tool: str, package: str) -> Check:
    found = shutil.which(tool)
    if found is None:
        return Check(tool, "fail", "not found", f"apt-get install {package}")
    return Check(tool, "ok", found)


def check_x_tools() -> list[Check]:
    return [check_tool(tool, package) for tool, package in X_TOOLS.items()]


def check_module(name: str, module: str, fix: str) -> Check:
    """Whether `module` can be imported, without importing it (find_spec only reads the path)."""
    if find_spec(module) is None:
        return Check(name, "fail", "not importable", fix)
    try:
        return Check(name, "ok", metadata.version(name))
    except metadata.PackageNotFoundError:
        return Check(name, "ok", "importable")


def check_pynput() -> Check:
    """`record` listens to the mouse and keyboard through pynput's X RECORD backend."""
    return check_module("pynput", "pynput", "pip install pynput")


def check_chromium() -> Check:
    """The Chromium the browser env and task setup launch: $KIMI_AGENT_CHROMIUM, else Debian's."""
    from environments.chromium import BrowserStartError, chromium_path
    from environments.settings import CHROMIUM

    try:
        path = chromium_path()
    except BrowserStartError as err:
        return Check("chromium", "fail", "not found", str(err).split(": ", 1)[-1])
    if not os.access(path, os.X_OK):
        return Check("chromium", "fail", f"{path} is not executable",
                     f"fix {CHROMIUM}, or apt-get install chromium")
    source = f" (from {CHROMIUM})" if os.environ.get(CHROMIUM) else ""
    return Check("chromium", "ok", path + source)


def check_libreoffice() -> Check:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        return Check("libreoffice", "fail", "soffice not found (the local suite's office tasks)",
                     "apt-get install libreoffice-calc libreoffice-writer libreoffice-impress")
    return Check("libreoffice", "ok", found)


def check_osworld_libraries() -> Check:
    missing = []
    for name in OSWORLD_LIBRARIES:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("osworld extra", "fail", f"missing {', '.join(missing)} (the evaluators read with them)",
                     "pip install -e '.[osworld]'")
    return Check("osworld extra", "ok", f"all {len(OSWORLD_LIBRARIES)} libraries installed")


def check_pyav() -> Check:
    try:
        return Check("av (PyAV)", "ok", f"{metadata.version('av')}, for --mp4")
    except metadata.PackageNotFoundError:
        return Check("av (PyAV)", "fail", "not installed: `view --mp4` cannot write video (--gif can)",
                     "pip install -e '.[video]'")


def check_kvm(probe: bool) -> Check:
    """/dev/kvm's permissions (cheap); with `probe`, environments/vm/accel.py's bounded firmware boot."""
    tcg = "VMs fall back to TCG software emulation, 5-10x slower"
    if not probe:
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return Check("kvm", "warn", f"/dev/kvm is missing or not accessible: {tcg}",
                         "enable virtualisation (or nested virtualisation) and join the kvm group")
        return Check("kvm", "ok", "/dev/kvm accessible (not booted: --probe-kvm checks a guest really runs)")
    if shutil.which(QEMU) is None:
        return Check("kvm", "warn", f"not probed: {QEMU} missing", f"apt-get install {VM_TOOLS[QEMU]}")
    from environments.vm.accel import kvm_works

    works, why = kvm_works(QEMU)
    if works:
        return Check("kvm", "ok", why)
    return Check("kvm", "warn", f"{why}: {tcg}",
                 "use --accel tcg, or enable (nested) virtualisation on the host")


def check_tkinter() -> Check:
    try:
        import tkinter  # noqa: F401  (pyautogui needs it on X11)
    except ImportError:
        return Check("tkinter", "fail", "not importable", "apt-get install python3-tk (then recreate .venv)")
    return Check("tkinter", "ok", "importable")


def check_gpu() -> Check:
    if shutil.which("nvidia-smi") is None:
        return Check("gpu", "warn", "no NVIDIA GPU driver (nvidia-smi not found)",
                     "`serve` needs a CUDA GPU; `run` can use a remote --base-url")
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
        fix = (f"Kimi-VL's bf16 weights are ~33 GB: use a ≥{KIMI_VL_GPU_GIB} GB GPU, "
               "or lower --max-num-seqs and context")
        return Check("gpu", "warn", detail, fix)
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
        return Check("model server", "warn", f"{base_url}: {type(err).__name__}: {err}",
                     "start one with `kimi-agent serve`, or pass --base-url")
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


def serving_checks(base_url: str, model: str) -> list[Check]:
    """vLLM's libraries and the GPU when `base_url` is this machine's server; none for a remote one."""
    if is_local(base_url):
        return [check_gpu(), *check_packages(resolve_checkpoint(model)[0])]
    remote = f"{base_url} is another machine: its vllm, transformers and GPU are not checked here"
    return [Check("serving", "ok", remote)]


def check_browser() -> list[Check]:
    return [check_chromium(), check_module("playwright", "playwright", "pip install playwright")]


def env_checks(kind: str, probe_kvm: bool = False) -> list[Check]:
    """What `--env kind` needs on this machine; `auto` (eval) is each task's own: xvfb or the browser."""
    match kind:
        case "desktop":
            return [check_display(), *(check_tool(t, X_TOOLS[t]) for t in DESKTOP_TOOLS), check_tkinter()]
        case "xvfb":
            return [*check_x_tools(), check_tkinter()]
        case "browser":
            return check_browser()
        case "auto":
            return [*check_x_tools(), check_tkinter(), *check_browser()]
        case "vm":
            return [*(check_tool(t, p) for t, p in VM_TOOLS.items()), check_kvm(probe_kvm)]
    return [Check("environment", "ok", f"--env {kind} runs elsewhere (a VM server or a generated screen)")]


def run_checks(base_url: str, model: str = DEFAULT_CHECKPOINT, command: str = "run", env: str | None = None,
               probe_kvm: bool = False) -> list[Check]:
    """What `command` (with `--env env`) needs, in the order a person would fix them; `all`: every command."""
    kind = env or DEFAULT_ENVS.get(command, "desktop")

    def endpoint() -> list[Check]:
        return [check_model(model), *serving_checks(base_url, model), check_server(base_url)]

    needs: dict[str, Callable[[], list[Check]]] = {
        "run": lambda: [*env_checks(kind, probe_kvm), *endpoint()],
        "eval": lambda: [*env_checks(kind, probe_kvm), check_libreoffice(), check_osworld_libraries(),
                         *endpoint()],
        "ground": endpoint,
        "serve": lambda: [check_model(model), check_gpu(), *check_packages(resolve_checkpoint(model)[0])],
        "vm": lambda: [*(check_tool(t, p) for t, p in {**VM_TOOLS, **IMAGE_TOOLS}.items()),
                       check_kvm(probe_kvm)],
        "view": lambda: [check_pyav()],
        "record": lambda: [check_display(), check_pynput()],
        "replay": lambda: env_checks(kind, probe_kvm),
    }
    if command != "all":
        return needs[command]()
    return [check_display(), *check_x_tools(), check_tkinter(), *check_browser(), check_libreoffice(),
            check_osworld_libraries(), *needs["vm"](), check_pyav(), check_pynput(),
            *needs["serve"](), check_server(base_url)]


FOR_HELP = "The command to check for: run, eval, ground, serve, vm, view, record, replay, or all."
ENV_HELP = ("The --env that command will use (run, eval, replay): desktop, xvfb, browser, vm, osworld, waa, "
            "auto. Default: the command's own.")
MODEL_HELP = "Checkpoint whose vLLM/transformers requirements to check, e.g. moonshotai/Kimi-K2.5."
PROBE_HELP = "Boot a disk-less KVM guest's firmware (up to 10 s) instead of only checking /dev/kvm."


def doctor_command(
    for_: Annotated[str, typer.Option("--for", metavar="COMMAND", help=FOR_HELP)] = "run",
    env: Annotated[Optional[str], typer.Option(help=ENV_HELP, show_default=False)] = None,
    base_url: Annotated[str, typer.Option(help="Model server to probe.")] = f"http://127.0.0.1:{DEFAULT_PORT}/v1",
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = DEFAULT_CHECKPOINT,
    probe_kvm: Annotated[bool, typer.Option(help=PROBE_HELP)] = False,
) -> None:
    """Check this machine for what one command needs (--for, default run) and only that; say what to fix."""
    from environments.kinds import ENV_KINDS

    if for_ not in COMMAND_NAMES:
        raise typer.BadParameter(f"{for_!r} is not one of {', '.join(COMMAND_NAMES)}", param_hint="--for")
    if env is not None and env not in (*ENV_KINDS, "auto"):
        raise typer.BadParameter(f"{env!r} is not one of {', '.join(ENV_KINDS)}, auto", param_hint="--env")
    marks = {"ok": "[green]ok  [/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    checks = run_checks(base_url, model, for_, env, probe_kvm)
    console = Console()
    for check in checks:
        fix = f"  [dim]→ {escape(check.fix)}[/dim]" if check.fix else ""
        console.print(f"{marks[check.status]} {check.name:18s} {escape(check.detail)}{fix}", highlight=False)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)
