"""`eval --grounding` on a ScreenSpot-V2-layout dataset of real virtual-desktop screenshots,
answered over HTTP by a SCRIPTED stand-in (no model): exact accuracy, breakdowns, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.grounding import RESULTS_FILE, SUMMARY_FILE, read_results
from prompts import grounding_prompt
from tests.agent.grounding.helpers import (
    DESKTOP_MODEL_SIZE, DESKTOP_SAMPLES, SERVED, Scene, app, desktop_script, write_v2,
)

pytestmark = pytest.mark.desktop
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def dataset(desktop_scene: Scene, tmp_path: Path) -> Path:
    records = [{"bbox": list(desktop_scene.boxes[window]), "instruction": instruction, "data_type": kind,
                "data_source": source} for instruction, window, kind, source, _ in DESKTOP_SAMPLES]
    return write_v2(tmp_path / "ScreenSpot-v2", desktop_scene.images["desktop"], records)


def run(dataset: Path, results: Path, base_url: str, *extra: str):
    outcome = CliRunner().invoke(app(), ["grounding", str(dataset), "--results", str(results), "--base-url", base_url,
                                         "--model", SERVED, *extra])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.output
    return outcome


def test_accuracy_and_breakdowns_come_out_exactly(desktop_scene: Scene, dataset: Path, tmp_path: Path, replay_model) -> None:
    model = replay_model(desktop_script(desktop_scene), delay=0.1)
    results = tmp_path / "results"
    outcome = run(dataset, results, model.base_url, "--concurrency", "3")
    assert outcome.exit_code == 0, outcome.output
    assert "screenspot-v2: 6 sample(s), boxes xywh" in outcome.output

    summary = json.loads((results / SUMMARY_FILE).read_text())
    assert summary["bbox_format"] == "xywh"
    assert summary["overall"] == {"total": 6, "hits": 3, "misses": 1, "unparseable": 2, "errored": 0, "accuracy": 0.5}
    tallies = {key: {value: (t["total"], t["hits"], t["unparseable"]) for value, t in values.items()}
               for key, values in summary["breakdowns"].items()}
    assert tallies == {
        "ui_type": {"text": (4, 2, 1), "icon": (2, 1, 1)},
        "platform": {"desktop": (6, 3, 2)},
        "data_source": {"xterm": (5, 2, 2), "mousepad": (1, 1, 0)},
    }
    assert summary["breakdowns"]["data_source"]["xterm"]["accuracy"] == pytest.approx(0.4)

    lines = read_results(results / RESULTS_FILE)
    script = desktop_script(desktop_scene)
    for index, (instruction, window, _, _, status) in enumerate(DESKTOP_SAMPLES):
        result = lines[f"screenspot_desktop_v2/{index}"]
        assert result.status == status, (instruction, result)
        assert result.reply == script[instruction].text
        x, y, w, h = desktop_scene.boxes[window]
        if status == "hit":
            px, py = result.prediction
            assert x <= px <= x + w and y <= py <= y + h
        if status == "unparseable":
            assert result.prediction is None and result.error
    assert "import" in lines["screenspot_desktop_v2/5"].error
    assert not Path("PWNED").exists()

    assert len(model.requests) == 6
    assert 2 <= model.max_in_flight <= 3
    for request in model.requests:
        assert request.roles == ["user"] and request.kinds == ["image_url", "text"]
        assert request.image_sizes == [DESKTOP_MODEL_SIZE]
        assert request.temperature == 0.0
    assert sorted(r.texts[0] for r in model.requests) == sorted(grounding_prompt(s[0]) for s in DESKTOP_SAMPLES)


def test_a_rerun_asks_only_samples_without_a_result(desktop_scene: Scene, dataset: Path, tmp_path: Path, replay_model) -> None:
    model = replay_model(desktop_script(desktop_scene))
    results = tmp_path / "results"
    assert run(dataset, results, model.base_url).exit_code == 0
    first = json.loads((results / SUMMARY_FILE).read_text())
    assert len(model.requests) == 6

    # as if killed while the Mousepad sample's line was being written
    log = results / RESULTS_FILE
    kept = [line for line in log.read_text().splitlines() if '"screenspot_desktop_v2/2"' not in line]
    log.write_text("\n".join(kept) + '\n{"id": "screenspot_desktop_v2/2", "status": "h')
    assert run(dataset, results, model.base_url).exit_code == 0
    assert len(model.requests) == 7 and model.asked("the Mousepad editor window") == 2
    assert json.loads((results / SUMMARY_FILE).read_text()) == first
    assert log.read_text().endswith("\n") and len(log.read_text().splitlines()) == 6

    assert run(dataset, results, model.base_url, "--limit", "2").exit_code == 0
    assert len(model.requests) == 7
    limited = json.loads((results / SUMMARY_FILE).read_text())
    assert limited["overall"]["total"] == 2 and limited["overall"]["hits"] == 1


def test_a_run_killed_mid_way_resumes_without_asking_answered_samples_again(
    desktop_scene: Scene, dataset: Path, tmp_path: Path, replay_model
) -> None:
    model = replay_model(desktop_script(desktop_scene), delay=0.4)
    results = tmp_path / "results"
    code = "from tests.agent.grounding.helpers import app; app()()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "grounding", str(dataset), "--results", str(results), "--base-url", model.base_url,
         "--model", SERVED, "--concurrency", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    log = results / RESULTS_FILE
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text().count("\n") >= 2):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended or stalled before it was killed"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    answered = set(read_results(log))
    assert 2 <= len(answered) < 6

    assert run(dataset, results, model.base_url).exit_code == 0
    for index, (instruction, *_) in enumerate(DESKTOP_SAMPLES):
        if f"screenspot_desktop_v2/{index}" in answered:
            assert model.asked(instruction) == 1, instruction
    summary = json.loads((results / SUMMARY_FILE).read_text())
    assert summary["overall"]["total"] == 6 and summary["overall"]["hits"] == 3
