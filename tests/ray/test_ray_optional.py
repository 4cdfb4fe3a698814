"""The parts of the Ray executor that need no cluster (and no Ray): the install hint when Ray is
missing, and the check that an actor's node sees the driver's results folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.evaluation.ray_executor import INSTALL_HINT, ResultsNotShared, check_shared
from tests.ray.conftest import ROOT

# `None` in sys.modules makes `import ray` fail as if Ray were not installed.
WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from agent.cli.app import main; sys.argv[0] = 'kimi-agent'; main()"


def test_executor_ray_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, "eval", "--executor", "ray", "--base-url", "http://127.0.0.1:9/v1",
         "--results", str(tmp_path / "r")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert INSTALL_HINT in done.stdout.replace("\n", "")
    assert not (tmp_path / "r").exists()  # nothing ran


def test_an_unknown_executor_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "agent", "eval", "--executor", "dask", "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "use local or ray" in done.stdout + done.stderr


def test_an_actor_whose_node_does_not_see_the_results_folder_refuses_to_start(tmp_path: Path) -> None:
    marker = tmp_path / ".ray-run"
    with pytest.raises(ResultsNotShared, match="shared filesystem"):
        check_shared(marker, "token")  # not there at all: another host's disk
    marker.write_text("another run")
    with pytest.raises(ResultsNotShared, match=str(tmp_path)):
        check_shared(marker, "token")  # there, but another run's folder
    marker.write_text("token")
    check_shared(marker, "token")


def test_a_wrong_ray_address_fails_at_once_with_a_clear_message(tmp_path: Path) -> None:
    import socket
    import time

    from agent.evaluation.ray_executor import _reachable

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionError, match=f"nothing answers at 127.0.0.1:{port}"):
        _reachable(f"127.0.0.1:{port}")
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        _reachable("notanaddress")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "from agent.cli.app import main; import sys; sys.argv[0] = 'kimi-agent'; main()",
         "eval", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--base-url", "http://127.0.0.1:9/v1",
         "--results", str(tmp_path / "r")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2 and "cannot reach the Ray cluster" in done.stdout.replace("\n", " "), done.stdout + done.stderr
    assert time.monotonic() - started < 60 and "Traceback" not in done.stdout + done.stderr
