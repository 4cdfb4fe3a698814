"""A real two-node Ray cluster on this machine (a head and one worker node, each a `ray start
--block` process group of its own, in a private temp dir), and SCRIPTED stand-ins for the model."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from environments.processes import stop_group
from environments.tasks.suite import SOLUTIONS

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")
STARTED = "Ray runtime started."
START_SECONDS = 180
STOP_SECONDS = 60
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RayNode:
    """`ray start --block ...` as a process group; its output in `log`."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        with open(log, "w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [str(RAY), "start", "--block", "--disable-usage-stats", "--node-ip-address", "127.0.0.1",
                 "--dashboard-agent-listen-port", str(free_port()), *args],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=ENV, cwd=ROOT,
                start_new_session=True,
            )

    def wait_started(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while STARTED not in self.log.read_text(encoding="utf-8", errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start failed:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM the group (`ray start --block` then stops the node's processes), SIGKILL what is left."""
        stop_group(self.process, grace=STOP_SECONDS)


@dataclass
class RayCluster:
    address: str
    head: RayNode
    worker: RayNode


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Head (1 CPU of work, 1 `display`) and a worker node (2 CPUs, 2 `display`s): 3 one-display actors
    can only run if Ray places them on both nodes."""
    temp = Path(tempfile.mkdtemp(prefix="kray-"))  # short: Ray's socket paths live under it
    port = free_port()
    common = ("--temp-dir", str(temp), "--object-store-memory", str(80 * 2**20))
    head = RayNode(temp / "head.log", "--head", "--port", str(port), "--num-cpus", "1", "--include-dashboard", "false",
                   "--resources", '{"display": 1}', *common)
    nodes = [head]
    try:
        head.wait_started()
        worker = RayNode(temp / "worker.log", "--address", f"127.0.0.1:{port}", "--num-cpus", "2",
                         "--resources", '{"display": 2}', *common)
        nodes.append(worker)
        worker.wait_started()
        yield RayCluster(f"127.0.0.1:{port}", head, worker)
    finally:
        for node in reversed(nodes):
            node.stop()
        shutil.rmtree(temp)


class Model:
    """A replay server answering with the suite's recorded solutions (no model)."""

    def __init__(self, tmp: Path, latency: float) -> None:
        self.requests = tmp / f"requests-{id(self)}.jsonl"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.backends.scripted_server", "--solutions", str(SOLUTIONS), "--port", "0",
             "--latency", str(latency), "--log-requests", str(self.requests)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.base_url = self.process.stdout.readline().split()[-1] + "/v1"

    def request_count(self) -> int:
        return len(self.requests.read_text().splitlines()) if self.requests.exists() else 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture
def models(tmp_path: Path) -> Iterator[list[Model]]:
    """Two model endpoints (the same recorded solutions), each answering after 0.3 s."""
    started = [Model(tmp_path, 0.3) for _ in range(2)]
    yield started
    for model in started:
        model.stop()
