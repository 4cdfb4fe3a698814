"""The parts of the Ray executor that need no cluster (and no Ray): the install hint when Ray is
missing, and the check that an actor's node sees the driver's results folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.eval_ray import INSTALL_HINT, ResultsNotShared, check_shared
from tests.ray.conftest import ROOT

# `None` in sys.modules makes `import ray` fail as if Ray were not installed.
WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from agent.cli import main; sys.argv[0] = 'kimi-agent'; main()"


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
