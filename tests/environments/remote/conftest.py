"""A virtual X desktop with our OSWorld-protocol VM server on it, for client, env and eval tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from environments.remote.client import VMClient
from environments.virtual_desktop import VirtualDesktop

ROOT = Path(__file__).resolve().parents[3]


class VM:
    """Our server (`python -m environments.vm_server.server`) in its own process on `desktop`."""

    def __init__(self, desktop: VirtualDesktop, root: Path, *extra: str, log: Path | None = None) -> None:
        self.desktop, self.root = desktop, root
        self._log = open(log, "w") if log else None  # noqa: SIM115  closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "environments.vm_server.server", "--port", "0", "--root", str(root), *extra],
            env=desktop.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log or subprocess.DEVNULL, text=True,
        )
        self.url = self.process.stdout.readline().split()[-1]

    def client(self, token: str | None = None) -> VMClient:
        return VMClient(self.url, token, timeout=30, retries=0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        if self._log:
            self._log.close()


@pytest.fixture(scope="module")
def vm_desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1280, 800) as desktop:
        yield desktop


@pytest.fixture(scope="module")
def vm(vm_desktop: VirtualDesktop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VM]:
    server = VM(vm_desktop, tmp_path_factory.mktemp("vmroot"))
    yield server
    server.stop()
