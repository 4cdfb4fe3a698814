"""Our guest image: Debian bookworm from Debian's packages with our VM server inside, cached by its recipe.

Built without mounts or loop devices: `mmdebstrap` writes a tarball, `mkfs.ext4 -d` fills a file system from
the extracted folder, `qemu-img convert` turns it into qcow2. The image has no boot loader: the provider boots
the cloud kernel and initrd copied out of the root file system beside it (`-kernel`/`-initrd`).

The project code goes in as files, not as a pip install: `actions/` and `environments/` under
/opt/kimi-agent/src, and the exact files of every distribution the VM server imports (plus pyautogui, which
the server runs actions with), taken from the Python environment that runs the build, under
/opt/kimi-agent/site. Debian bookworm ships pydantic 1 and no gymnasium, and a pip install inside the guest
would need the network at build time and a second resolution; copying the versions the project is tested
with is offline and exact. The guest's python3 is bookworm's 3.11, so the build requires Python 3.11.

Cached: the image is keyed by the SHA-256 of its recipe (package list, copied distributions and their
versions, the project's files, the init script); `build_image` returns at once when the image beside it was
built from the same recipe. The Debian tarball is cached separately by its own key, so a change to the
project's code only redoes the fast steps (30 s to 2 min here). Not bit-for-bit reproducible: package
versions are those of the Debian mirror on the build day; the profile lists them so builds can be compared.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Literal, get_args

from packaging.requirements import Requirement

from environments.chromium import CHROMIUM_ARGS
from environments.vm.guest import (
    BROWSER_SCRIPT_PATH, DEVTOOLS_RELAY, DEVTOOLS_RELAY_PATH, GuestProfile, browser_script, init_script,
    profile_path,
)

Variant = Literal["small", "full"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)

BASE_PACKAGES = (
    "linux-image-cloud-amd64", "python3", "python3-tk", "xvfb", "openbox", "xterm", "wmctrl", "xdotool",
    "x11-utils", "iproute2", "kmod", "e2fsprogs", "sudo", "tmux", "procps", "fonts-dejavu-core",
    "ca-certificates",
    "mousepad", "x11vnc", "dbus", "at-spi2-core", "python3-pyatspi",
)
"""The small variant: an X session, a terminal and a text editor; enough for the server and the os tasks.
D-Bus and AT-SPI (with Debian's pyatspi, which the server's `/accessibility` reads the tree with) are
small."""
FULL_PACKAGES = ("chromium", "libreoffice-calc", "libreoffice-writer", "libreoffice-impress",
                 "libreoffice-gtk3", "xdg-utils", "socat", "vlc", "fonts-liberation2")
"""Added by the full variant: the apps the local task suite opens (browser, office, media), and Impress for
OSWorld's slide tasks. LibreOffice's GTK 3 front end as on the host (and for its AT-SPI tree); Liberation
fonts, metric-compatible with the fonts web pages and documents name most."""
SUITE = "bookworm"
SERVER_PORT = 5000
VNC_PORT = 5900
PROJECT_PACKAGES = ("actions", "environments")
NOT_IN_GUEST = ("environments/vm",)
"""The host side of VMs (this package): the guest never imports it, and editing it must not rebuild images."""
EXTRA_DISTRIBUTIONS = ("pyautogui", "python-xlib", "mss")
"""Not imported by the server's modules but by the actions it performs (`/act`, loaded as the server
starts) or runs (`python -c "import pyautogui; …"`)."""
SKIPPED_DISTRIBUTIONS = {"kimi-desktop-agent", "setuptools", "pip"}
BUILDER_VERSION = 1
"""Bump when the steps below change in a way the recipe does not capture."""


class ImageBuildError(RuntimeError):
    """The image could not be built; the message says which step failed and what to do."""


@dataclass(frozen=True)
class Recipe:
    """Everything an image is made from; its hash names the image."""

    variant: Variant
    packages: tuple[str, ...]
    distributions: tuple[str, ...]
    """`name==version` of every Python distribution copied in."""
    project_digest: str
    init: str
    browser: str
    """The hidden browser's start script and DevTools relay (see `environments.vm.guest.BROWSER_SCRIPT`)."""
    python: str = f"{sys.version_info.major}.{sys.version_info.minor}"
    suite: str = SUITE
    builder: int = BUILDER_VERSION
    files: dict[str, Path] = field(default_factory=dict, compare=False, hash=False)
    """Where each copied distribution's files are (not part of the hash: versions are)."""

    def debian_key(self) -> str:
        text = json.dumps({"suite": self.suite, "packages": self.packages, "builder": self.builder})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def key(self) -> str:
        text = json.dumps({"debian": self.debian_key(), "variant": self.variant,
                           "distributions": self.distributions, "project": self.project_digest,
                           "init": self.init, "browser": self.browser, "python": self.python})
        return hashlib.sha256(text.encode()).hexdigest()


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def _project_files() -> list[Path]:
    root = project_root()
    return sorted(path for package in PROJECT_PACKAGES for path in (root / package).rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts
                  and not any(path.relative_to(root).as_posix().startswith(f"{skip}/") 
                              for skip in NOT_IN_GUEST))


def _project_digest() -> str:
    digest = hashlib.sha256()
    root = project_root()
    for path in _project_files():
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _server_distributions() -> set[str]:
    """Distributions whose modules `python -m environments.vm_server.server` imports (asked of a child)."""
    code = ("import sys, environments.vm_server.server; "
            "print(' '.join({m.split('.')[0] for m in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project_root(),
                          check=False)
    if done.returncode != 0:
        raise ImageBuildError(f"the VM server does not import here: {done.stderr.strip()[-400:]}")
    owners = metadata.packages_distributions()
    return {name for module in done.stdout.split() for name in owners.get(module, [])}


def _closure(roots: set[str]) -> dict[str, metadata.Distribution]:
    """`roots` and everything they require (markers evaluated here, no extras), by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in found or key in SKIPPED_DISTRIBUTIONS:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ImageBuildError(f"{name} is not installed in this Python environment; pip install it") \
                from None
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def recipe(variant: Variant) -> Recipe:
    """The recipe of `variant` from this checkout and this Python environment."""
    if variant not in VARIANTS:
        raise ImageBuildError(f"unknown variant {variant!r}: use {' or '.join(VARIANTS)}")
    if sys.version_info[:2] != (3, 11):
        raise ImageBuildError("the guest runs Debian bookworm's Python 3.11: build from Python 3.11")
    dists = _closure(_server_distributions() | set(EXTRA_DISTRIBUTIONS))
    packages = BASE_PACKAGES + (FULL_PACKAGES if variant == "full" else ())
    return Recipe(
        variant=variant, packages=tuple(sorted(packages)),
        distributions=tuple(sorted(f"{key}=={dist.version}" for key, dist in dists.items())),
        project_digest=_project_digest(), init=init_script(SERVER_PORT, VNC_PORT),
        browser=browser_script(CHROMIUM_ARGS) + DEVTOOLS_RELAY,
        files={key: Path(str(dist.locate_file(""))) for key, dist in dists.items()},
    )


def image_is_current(image: Path, wanted: Recipe) -> bool:
    path = profile_path(image)
    if not (image.is_file() and path.is_file()):
        return False
    profile = GuestProfile.model_validate_json(path.read_text())
    return profile.recipe == wanted.key() and all((image.parent / name).is_file()
                                                  for name in (profile.kernel, profile.initrd) if name)


def _run(argv: list[str], step: str, **kwargs: object) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise ImageBuildError(f"{step} failed ({argv[0]} exit {done.returncode}): "
                              f"{done.stderr.strip()[-800:]}")


def _debian_tarball(wanted: Recipe, cache: Path, say: Callable[[str], None]) -> Path:
    tarball = cache / f"debian-{wanted.suite}-{wanted.debian_key()}.tar"
    if tarball.is_file():
        say(f"Debian root file system cached: {tarball}")
        return tarball
    for tool in ("mmdebstrap", "mkfs.ext4", "qemu-img"):
        if shutil.which(tool) is None:
            raise ImageBuildError(f"{tool} is missing: apt-get install mmdebstrap e2fsprogs qemu-utils")
    say(f"mmdebstrap {wanted.suite} with {len(wanted.packages)} packages (about 2-3 minutes) ...")
    partial = tarball.with_suffix(".partial.tar")
    hooks = ['chroot "$1" useradd --create-home --shell /bin/bash --groups sudo user',
             'echo user:password | chroot "$1" chpasswd']
    _run(["mmdebstrap", "--variant=minbase", "--include=" + ",".join(wanted.packages),
          *(f"--customize-hook={hook}" for hook in hooks), wanted.suite, str(partial)], "mmdebstrap",
         env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    partial.rename(tarball)
    return tarball


def _copy_distribution(dist_root: Path, dist: metadata.Distribution, site: Path) -> None:
    for entry in dist.files or []:
        source = (dist_root / entry).resolve()
        outside = not source.is_relative_to(dist_root.resolve())
        if outside or "__pycache__" in entry.parts or not source.is_file():
            continue
        target = site / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _install_project(wanted: Recipe, rootfs: Path) -> None:
    base = rootfs / "opt/kimi-agent"
    root = project_root()
    for path in _project_files():
        target = base / "src" / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for key in wanted.files:
        _copy_distribution(wanted.files[key], metadata.distribution(key), base / "site")
    init = rootfs / "sbin/kimi-init"
    init.write_text(wanted.init)
    init.chmod(0o755)
    scripts = ((BROWSER_SCRIPT_PATH, browser_script(CHROMIUM_ARGS)), (DEVTOOLS_RELAY_PATH, DEVTOOLS_RELAY))
    for path, text in scripts:
        (rootfs / path).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / path).write_text(text)
        (rootfs / path).chmod(0o755)
    (rootfs / "etc/hostname").write_text("kimi-vm\n")
    (rootfs / "etc/hosts").write_text("127.0.0.1 localhost kimi-vm\n")
    resolv = rootfs / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text("nameserver 10.0.2.3\n")
    sudoers = rootfs / "etc/sudoers.d/kimi-agent"
    sudoers.write_text("# The clock fix after a snapshot revert.\nuser ALL=(root) NOPASSWD: /usr/bin/date\n")
    sudoers.chmod(0o440)


def _installed_packages(rootfs: Path) -> list[str]:
    status = (rootfs / "var/lib/dpkg/status").read_text()
    packages, name = [], ""
    for line in status.splitlines():
        if line.startswith("Package: "):
            name = line.split(": ", 1)[1]
        elif line.startswith("Version: "):
            packages.append(f"{name}={line.split(': ', 1)[1]}")
    return sorted(packages)


def build_image(out: Path, variant: Variant = "small", cache: Path | None = None,
                say: Callable[[str], None] = lambda _: None) -> GuestProfile:
    """Build `out` (qcow2), `out.vmlinuz`, `out.initrd` and the profile `out.json`; nothing when current.

    Builds of the same `out` wait for each other (a lock file beside it), so parallel test runs build once.
    """
    wanted = recipe(variant)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(out, wanted, variant, cache, say)


def _build_locked(out: Path, wanted: Recipe, variant: Variant, cache: Path | None,
                  say: Callable[[str], None]) -> GuestProfile:
    if image_is_current(out, wanted):
        say(f"{out} is current (recipe {wanted.key()[:12]}); nothing to build")
        return GuestProfile.model_validate_json(profile_path(out).read_text())
    if os.geteuid() != 0:
        raise ImageBuildError("vm build extracts a root file system with its owners: run it as root")
    cache = (cache or out.parent).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    tarball = _debian_tarball(wanted, cache, say)
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        rootfs.mkdir()
        say("extracting and adding the project ...")
        _run(["tar", "-xf", str(tarball), "-C", str(rootfs), "--numeric-owner"], "extracting the root files")
        _install_project(wanted, rootfs)
        kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
        initrds = sorted((rootfs / "boot").glob("initrd.img-*"))
        if not (kernels and initrds):
            raise ImageBuildError("the root file system has no kernel or initrd in /boot")
        shutil.copy2(kernels[-1], out.with_suffix(".vmlinuz"))
        shutil.copy2(initrds[-1], out.with_suffix(".initrd"))
        used = sum(p.lstat().st_size for p in rootfs.rglob("*"))
        size_mib = int(used * 1.3 / 2**20) + 1024
        raw = Path(scratch) / "disk.raw"
        say(f"mkfs.ext4 -d ({size_mib} MiB) and qemu-img convert ...")
        _run(["mkfs.ext4", "-q", "-L", "kimi-root", "-U", "8d5e6f2a-0c1b-4b7e-9a51-6b1d0f2a4c11",
              "-E", "hash_seed=3b4c1a2e-5d6f-4a7b-8c9d-0e1f2a3b4c5d", "-d", str(rootfs), str(raw),
              f"{size_mib}M"],
             "mkfs.ext4", env={**os.environ, "E2FSPROGS_FAKE_TIME": "1700000000"})
        partial = out.with_suffix(".partial.qcow2")
        _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(partial)], "qemu-img convert")
        profile = GuestProfile(
            kernel=out.with_suffix(".vmlinuz").name, initrd=out.with_suffix(".initrd").name,
            append="root=/dev/vda rw console=ttyS0 init=/sbin/kimi-init panic=-1", server_port=SERVER_PORT,
            vnc_port=VNC_PORT, token=True, recipe=wanted.key(), variant=variant,
            packages=_installed_packages(rootfs),
        )
        partial.rename(out)
    profile_path(out).write_text(profile.model_dump_json(indent=1) + "\n")
    say(f"built {out} (recipe {wanted.key()[:12]})")
    return profile
