"""Our small guest image, built once (cached in .cache/vm/), and one VM booted from it under TCG."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

if shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None:
    pytest.skip("QEMU is not installed (apt-get install qemu-system-x86 qemu-utils)", allow_module_level=True)

from environments.vm.image import build_image, project_root  # noqa: E402
from environments.vm.qemu import QemuOptions, QemuProvider  # noqa: E402

VNC_DISPLAYS = range(40, 50)
"""The VNC displays these tests may use."""


@pytest.fixture(scope="session")
def small_image() -> Path:
    """`.cache/vm/small.qcow2`, built (about 3-6 minutes, once) or reused when its recipe is unchanged."""
    image = project_root() / ".cache/vm/small.qcow2"
    build_image(image, "small")
    return image


@pytest.fixture(scope="session")
def vm(small_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QemuProvider]:
    """One VM under TCG, its server answering and its `init_state` snapshot taken."""
    options = QemuOptions(image=small_image, accel="tcg", vnc_displays=VNC_DISPLAYS, boot_timeout=240,
                          workdir=tmp_path_factory.mktemp("vm"), name="kimi-test-vm")
    provider = QemuProvider(options, say=lambda _: None)
    provider.start()
    yield provider
    provider.stop()
