"""A results folder holds one run: the manifest is written first, another run is refused naming
what differs, `--new-run` moves the earlier run aside, and nothing is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.evaluation.manifest import (
    MANIFEST_FILE, PREVIOUS_RUNS, ManifestError, build_manifest, claim_folder, differences, read_manifest,
)
from agent.evaluation.options import EvalOptions
from environments.tasks.load import load_tasks
from environments.tasks.suite import SUITE

CHROME = SUITE / "examples" / "chrome"


def manifest(tmp_path: Path, **changes: object):
    options = EvalOptions(tasks=CHROME, results=tmp_path / "r", **changes)
    return build_manifest(options, load_tasks(CHROME).tasks, [])


def test_the_manifest_records_what_decides_a_score(tmp_path: Path) -> None:
    m = manifest(tmp_path, model="moonshotai/Kimi-VL-A3B-Instruct", max_steps=50, base_urls=("http://h:1/v1",))
    assert m.identity.model == "moonshotai/Kimi-VL-A3B-Instruct"
    identity = m.identity
    assert (identity.prompt_variant, identity.max_steps, identity.timing) == ("instruct", 50, "adaptive")
    assert m.identity.sampling["temperature"] == 0.2 and m.identity.harness_version
    assert m.identity.task_count == 4 and len(m.identity.task_hash) == 64
    assert m.tasks == sorted(("chrome", p.stem) for p in CHROME.glob("*.json"))
    assert m.endpoints == ["http://h:1/v1"] and m.identity.provider is None and m.identity.image is None


def test_another_model_is_refused_naming_the_difference_and_the_same_run_resumes(tmp_path: Path) -> None:
    first = claim_folder(tmp_path / "r", manifest(tmp_path, model="A"), new_run=False)
    (tmp_path / "r" / "chrome" / "t").mkdir(parents=True)
    # The same run (another endpoint is not another run) resumes, under the first manifest.
    moved = manifest(tmp_path, model="A", base_urls=("http://other/v1",))
    again = claim_folder(tmp_path / "r", moved, new_run=False)
    assert again.started_at == first.started_at
    with pytest.raises(ManifestError, match=r"holds another run \(model: A → B; max_steps: 15 → 30\)"):
        claim_folder(tmp_path / "r", manifest(tmp_path, model="B", max_steps=30), new_run=False)
    assert read_manifest(tmp_path / "r").identity.model == "A"


def test_new_run_moves_the_earlier_run_aside(tmp_path: Path) -> None:
    claim_folder(tmp_path / "r", manifest(tmp_path, model="A"), new_run=False)
    (tmp_path / "r" / "chrome" / "t").mkdir(parents=True)
    (tmp_path / "r" / "chrome" / "t" / "result.txt").write_text("1.0\n")
    claim_folder(tmp_path / "r", manifest(tmp_path, model="B"), new_run=True)
    assert read_manifest(tmp_path / "r").identity.model == "B"
    assert not (tmp_path / "r" / "chrome").exists()
    [previous] = (tmp_path / "r" / PREVIOUS_RUNS).iterdir()
    assert (previous / "chrome" / "t" / "result.txt").read_text() == "1.0\n"
    assert read_manifest(previous).identity.model == "A"


def test_results_without_a_manifest_or_with_a_broken_one_are_not_resumed(tmp_path: Path) -> None:
    (tmp_path / "r" / "chrome" / "t").mkdir(parents=True)
    with pytest.raises(ManifestError, match="no manifest"):
        claim_folder(tmp_path / "r", manifest(tmp_path), new_run=False)
    (tmp_path / "r" / MANIFEST_FILE).write_text("{broken")
    with pytest.raises(ManifestError, match="unreadable"):
        claim_folder(tmp_path / "r", manifest(tmp_path), new_run=False)
    claim_folder(tmp_path / "r", manifest(tmp_path), new_run=True)
    assert read_manifest(tmp_path / "r") is not None


def test_differences_lists_every_changed_field() -> None:
    a = manifest(Path("/nonexistent")).identity
    b = a.model_copy(update={"timing": "osworld", "image": "ubuntu.qcow2@sha256:ab"})
    assert differences(a, b) == ["timing: adaptive → osworld", "image: null → ubuntu.qcow2@sha256:ab"]
