"""`eval --grounding` on a ScreenSpot-Pro-layout dataset of real Chromium page screenshots,
answered over HTTP by a SCRIPTED stand-in (no model). The screenshots are larger than the
Instruct checkpoint's image limit, so points come back from a scaled-down image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.grounding import RESULTS_FILE, SUMMARY_FILE, read_results
from environments.encode import model_input_size
from tests.agent.grounding.helpers import INSTRUCT, WEB_VIEWPORT, Scene, app, centre, outside, write_pro
from tests.agent.grounding.replay_model import Scripted, agent_reply, click

pytestmark = pytest.mark.browser
MODEL_SIZE = model_input_size(*WEB_VIEWPORT, 4096)
# page, instruction, selector, ui_type, expected status
SAMPLES = [
    ("settings", "the Save button", "#save", "text", "hit"),
    ("settings", "the Preferences gear icon", "#gear", "icon", "hit"),
    ("settings", "the Cancel button", "#cancel", "text", "miss"),
    ("mail", "the Search mail field", "#search", "text", "hit"),
    ("mail", "the star icon", "#star", "icon", "unparseable"),
    ("mail", "the Pricing link", "#pricing", "text", "errored"),
]
GROUPS = {"settings": "OS", "mail": "Office"}


def web_script(scene: Scene) -> dict[str, Scripted]:
    box = scene.boxes
    gx, gy = centre(box["#gear"], WEB_VIEWPORT)
    return {
        "the Save button": Scripted(agent_reply("Click Save.", click(*centre(box["#save"], WEB_VIEWPORT)))),
        # pixels of the scaled-down image the model saw
        "the Preferences gear icon": Scripted(agent_reply(
            "Click the gear.", f"pyautogui.click(x={round(gx * MODEL_SIZE[0])}, y={round(gy * MODEL_SIZE[1])})", thinking=False)),
        "the Cancel button": Scripted(agent_reply("Click Cancel.", click(*outside(box["#cancel"], WEB_VIEWPORT)))),
        "the Search mail field": Scripted("x={:.4f}, y={:.4f}".format(*centre(box["#search"], WEB_VIEWPORT))),
        "the star icon": Scripted("◁think▷The star could be any of", finish_reason="length"),
        "the Pricing link": Scripted(status=400),
    }


def test_pro_layout_scores_exactly_and_an_errored_sample_is_asked_again(web_scene: Scene, tmp_path: Path, replay_model) -> None:
    records: dict[str, list[dict]] = {"settings": [], "mail": []}
    for page, instruction, selector, ui_type, _ in SAMPLES:
        x, y, w, h = web_scene.boxes[selector]
        records[page].append({"img_size": list(WEB_VIEWPORT), "bbox": [x, y, x + w, y + h], "instruction": instruction,
                              "instruction_cn": "", "application": page, "platform": "linux", "ui_type": ui_type,
                              "group": GROUPS[page]})
    dataset = write_pro(tmp_path / "ScreenSpot-Pro", web_scene.images, records)
    script = web_script(web_scene)
    model = replay_model(script)
    results = tmp_path / "results"
    args = ["grounding", str(dataset), "--results", str(results), "--base-url", model.base_url, "--model", INSTRUCT]

    outcome = CliRunner().invoke(app(), args)
    assert outcome.exit_code == 1, outcome.output  # one sample errored
    summary = json.loads((results / SUMMARY_FILE).read_text())
    assert summary["bbox_format"] == "xyxy"
    assert summary["overall"] == {"total": 6, "hits": 3, "misses": 1, "unparseable": 1, "errored": 1, "accuracy": 0.5}
    tallies = {key: {value: (t["total"], t["hits"], t["unparseable"], t["errored"]) for value, t in values.items()}
               for key, values in summary["breakdowns"].items()}
    assert tallies == {
        "ui_type": {"text": (4, 2, 0, 1), "icon": (2, 1, 1, 0)},
        "platform": {"linux": (6, 3, 1, 1)},
        "application": {"settings": (3, 2, 0, 0), "mail": (3, 1, 1, 1)},
        "group": {"OS": (3, 2, 0, 0), "Office": (3, 1, 1, 1)},
    }
    assert all(request.image_sizes == [MODEL_SIZE] for request in model.requests)
    assert MODEL_SIZE[0] < WEB_VIEWPORT[0]

    lines = read_results(results / RESULTS_FILE)
    for index, (page, instruction, _, _, status) in enumerate(SAMPLES):
        result = lines[f"{page}_linux/{page}_linux_{index % 3}"]
        assert result.status == status, (instruction, result)
    gear = lines["settings_linux/settings_linux_1"]
    x, y, w, h = web_scene.boxes["#gear"]
    assert x <= gear.prediction[0] <= x + w and y <= gear.prediction[1] <= y + h  # pixels of the 1600×1000 original
    assert "cut off" in lines["mail_linux/mail_linux_1"].error
    assert "400" in lines["mail_linux/mail_linux_2"].error

    script["the Pricing link"] = Scripted(agent_reply("Click Pricing.", click(*centre(web_scene.boxes["#pricing"], WEB_VIEWPORT))))
    asked = len(model.requests)
    outcome = CliRunner().invoke(app(), args)
    assert outcome.exit_code == 0, outcome.output
    assert len(model.requests) == asked + 1 and model.asked("the Pricing link") == 2
    summary = json.loads((results / SUMMARY_FILE).read_text())
    assert summary["overall"]["hits"] == 4 and summary["overall"]["errored"] == 0
