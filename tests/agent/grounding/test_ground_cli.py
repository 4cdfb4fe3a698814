"""`kimi-agent ground` end to end: a screenshot file (with --out drawing) and --screen on a live
virtual desktop, answered over HTTP by a SCRIPTED stand-in (no model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.agent.grounding.helpers import DESKTOP_SIZE, SERVED, Scene, app, centre, desktop_script
from tests.agent.grounding.replay_model import Scripted, agent_reply, click

pytestmark = pytest.mark.desktop
ROOT = Path(__file__).resolve().parents[3]


def ground(*args: str):
    return CliRunner().invoke(app(), ["ground", *args])


def test_ground_prints_the_point_in_original_pixels_and_draws_it(desktop_scene: Scene, tmp_path: Path, replay_model) -> None:
    model = replay_model(desktop_script(desktop_scene))
    shot, out = desktop_scene.images["desktop"], tmp_path / "marked.png"
    outcome = ground(str(shot), "the Mousepad editor window", "--base-url", model.base_url, "--model", SERVED,
                     "--json", "--out", str(out))
    assert outcome.exit_code == 0, outcome.output
    found = json.loads(outcome.output)
    x, y, w, h = desktop_scene.boxes["Mousepad"]
    px, py = found["pixel"]
    assert x <= px <= x + w and y <= py <= y + h
    assert found["relative"] == pytest.approx(centre(desktop_scene.boxes["Mousepad"], DESKTOP_SIZE), abs=1e-4)
    assert found["image_size"] == list(DESKTOP_SIZE) and found["model_image_size"] == [1288, 812]
    assert found["drawn"] == str(out)

    original, marked = Image.open(shot).convert("RGB"), Image.open(out).convert("RGB")
    assert marked.size == original.size
    assert original.getpixel((px, py)) == (255, 255, 255)  # the editor's white page …
    assert marked.getpixel((px, py)) == (255, 0, 0)  # … with the red crosshair on it
    assert marked.getpixel((px - 200, py + 150)) == original.getpixel((px - 200, py + 150))

    text = ground(str(shot), "the Alpha terminal window", "--base-url", model.base_url, "--model", SERVED)
    assert text.exit_code == 0, text.output
    assert "intent: Click the Alpha terminal." in text.output
    assert "px of the 1280×800 image (relative 0.1" in text.output


def test_ground_refuses_an_unusable_reply_and_bad_arguments(desktop_scene: Scene, tmp_path: Path, replay_model) -> None:
    model = replay_model(desktop_script(desktop_scene) | {"the broken window": Scripted(status=400)})
    shot, out = str(desktop_scene.images["desktop"]), tmp_path / "marked.png"
    outcome = ground(shot, "the magenta terminal", "--base-url", model.base_url, "--json", "--out", str(out))
    assert outcome.exit_code == 2
    refused = json.loads(outcome.output)
    assert "import" in refused["error"] and "os.system" in refused["reply"]
    assert not out.exists()

    assert ground(shot, "--base-url", model.base_url).exit_code == 2  # no instruction
    assert ground(shot, " ", "--base-url", model.base_url).exit_code == 2
    assert ground("--screen", shot, "the Alpha terminal window", "--base-url", model.base_url).exit_code == 2
    missing = ground(str(tmp_path / "nope.png"), "the Alpha terminal window", "--base-url", model.base_url)
    assert missing.exit_code == 2 and "cannot read" in missing.output
    failed = ground(shot, "the broken window", "--base-url", model.base_url)
    assert failed.exit_code == 2 and "cannot ground" in failed.output and "400" in failed.output
    assert len(model.requests) == 2


def test_ground_on_the_live_screen(desktop_scene: Scene, replay_model) -> None:
    box = desktop_scene.boxes["Alpha terminal"]
    model = replay_model({"the Alpha terminal window": Scripted(agent_reply("Click it.", click(*centre(box, DESKTOP_SIZE))))})
    code = "from tests.agent.grounding.helpers import app; app()(prog_name='kimi-agent')"
    done = subprocess.run(
        [sys.executable, "-c", code, "ground", "--screen", "the Alpha terminal window", "--base-url", model.base_url,
         "--model", SERVED, "--json"],
        env=desktop_scene.desktop.env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    found = json.loads(done.stdout)
    x, y, w, h = box
    sx, sy = found["screen"]
    assert x <= sx <= x + w and y <= sy <= y + h
    assert found["pixel"] == found["screen"] and found["image_size"] == list(DESKTOP_SIZE)
    assert model.requests[0].image_sizes == [(1288, 812)]
