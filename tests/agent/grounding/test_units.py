"""Reading grounding replies and ScreenSpot annotation files, scoring, and the results log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from actions.coords import Frame
from actions.errors import CoordinateError, ParseError
from actions.models import Point
from agent.backends.chat import Completion
from agent.grounding import (
    Box, DatasetError, SampleResult, grounding_point, grounding_request, load_dataset, read_answer,
    read_results,
)
from agent.grounding.harness import ResultLog
from prompts import grounding_prompt
from tests.agent.grounding.replay_model import agent_reply


@pytest.mark.parametrize(("reply", "point"), [
    (agent_reply("Click Save.", "pyautogui.click(x=0.25, y=0.5)"), Point(x=0.25, y=0.5, space="relative")),
    (agent_reply("Click Save.", "pyautogui.click(812, 430)", thinking=False), Point(x=812, y=430, space="image")),
    ("◁think▷It is top left.◁/think▷(0.1, 0.2)", Point(x=0.1, y=0.2, space="relative")),
    ("[0.3, 0.4]", Point(x=0.3, y=0.4, space="relative")),
    ("x=0.5, y=0.75", Point(x=0.5, y=0.75, space="relative")),
    ("(120, 48)", Point(x=120, y=48, space="image")),
    ("pyautogui.click(x=0.6, y=0.7)", Point(x=0.6, y=0.7, space="relative")),
    ("```python\npyautogui.doubleClick(x=0.6, y=0.7)\n```", Point(x=0.6, y=0.7, space="relative")),
])
def test_grounding_replies_give_their_point(reply: str, point: Point) -> None:
    assert grounding_point(reply)[0] == point


def test_the_one_sentence_action_is_kept() -> None:
    assert grounding_point(agent_reply("Click the Save button.", "pyautogui.click(x=0.2, y=0.3)"))[1] == "Click the Save button."


@pytest.mark.parametrize(("reply", "reason"), [
    ("I cannot see it.", "no code"),
    ("◁think▷looking everywhere", "cut off"),
    (agent_reply("Type.", "pyautogui.write('hi')"), "one click"),
    (agent_reply("Two.", "pyautogui.click(x=0.1, y=0.1)\npyautogui.click(x=0.2, y=0.2)"), "one click"),
    (agent_reply("Click.", "pyautogui.click()"), "one click"),
    (agent_reply("Hack.", "import os\nos.system('touch /tmp/pwned')"), "import"),
    ("(0.1, 0.2, 0.3)", "no code"),
    ("pyautogui.click(x=__import__('os'), y=1)", "no code"),
])
def test_unusable_replies_are_parse_errors(reply: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        grounding_point(reply)


def test_a_point_maps_back_to_the_original_image() -> None:
    frame = Frame(image_width=1148, image_height=728, physical_width=1600, physical_height=1000)
    found = read_answer(Completion(text="(574, 182)"), frame)
    assert found.exact == pytest.approx((800.0, 250.0))
    assert found.pixel == (800, 250)
    assert found.relative == pytest.approx((0.5, 0.25))


def test_a_cut_off_reply_and_a_point_far_off_the_image_are_refused() -> None:
    frame = Frame.of_size(100, 100)
    with pytest.raises(ParseError, match="cut off"):
        read_answer(Completion(text="(0.5, 0.5)", finish_reason="length"), frame)
    with pytest.raises(CoordinateError, match="off the screen"):
        read_answer(Completion(text="(0.5, 3000)"), frame)


def test_the_request_is_the_image_then_the_grounding_prompt() -> None:
    [message] = grounding_request("data:image/png;base64,AAAA", "  the Save button ")
    assert message.role == "user"
    image, text = message.content
    assert image.type == "image_url" and text.text == grounding_prompt("the Save button")


def test_box_edges_are_inside() -> None:
    box = Box(10, 20, 30, 40)
    assert box.contains(10, 20) and box.contains(30, 40) and box.contains(20, 30)
    assert not box.contains(9.999, 30) and not box.contains(20, 40.001)


def write(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (100, 80)).save(path)


def test_screenspot_v2_layout_reads_xywh_boxes_and_the_split_as_platform(tmp_path: Path) -> None:
    image(tmp_path / "screenspotv2_image" / "a.png")
    write(tmp_path / "screenspot_mobile_v2.json", [
        {"img_filename": "a.png", "bbox": [10, 20, 30, 40], "instruction": "the OK button", "data_type": "icon",
         "data_source": "ios"}])
    data = load_dataset(tmp_path)
    assert (data.layout, data.bbox_format) == ("screenspot-v2", "xywh")
    [sample] = data.samples
    assert sample.id == "screenspot_mobile_v2/0"
    assert sample.box == Box(10, 20, 40, 60)
    assert sample.breakdown == {"ui_type": "icon", "platform": "mobile", "data_source": "ios"}
    assert load_dataset(tmp_path, "xyxy").samples[0].box == Box(10, 20, 30, 40)


def test_screenspot_pro_layout_reads_xyxy_boxes_and_its_fields(tmp_path: Path) -> None:
    image(tmp_path / "images" / "vscode_macos" / "shot.png")
    write(tmp_path / "annotations" / "vscode_macos.json", [
        {"id": "vscode_macos_0", "img_filename": "vscode_macos/shot.png", "img_size": [100, 80],
         "bbox": [10, 20, 30, 40], "instruction": "open settings", "instruction_cn": "打开设置",
         "application": "vscode", "platform": "macos", "ui_type": "text", "group": "Dev"}])
    for path in (tmp_path, tmp_path / "annotations" / "vscode_macos.json"):
        data = load_dataset(path)
        assert (data.layout, data.bbox_format) == ("screenspot-pro", "xyxy")
        [sample] = data.samples
        assert sample.id == "vscode_macos/vscode_macos_0"
        assert sample.image == tmp_path / "images" / "vscode_macos" / "shot.png"
        assert sample.box == Box(10, 20, 30, 40)
        assert sample.breakdown == {"ui_type": "text", "platform": "macos", "application": "vscode", "group": "Dev"}


@pytest.mark.parametrize(("records", "bbox_format", "message"), [
    ([{"img_filename": "a.png", "bbox": [1, 2, 3, 4], "instruction": "x"}], None, "--bbox-format"),
    ([{"img_filename": "a.png", "bbox": [50, 50, 10, 10], "instruction": "x", "ui_type": "icon"}], None, "xywh"),
    ([{"img_filename": "a.png", "bbox": [1, 2, 3], "instruction": "x"}], "xywh", "four numbers"),
    ([{"img_filename": "a.png", "bbox": [1, 2, 3, 4], "instruction": " "}], "xywh", "instruction"),
    ([{"img_filename": "gone.png", "bbox": [1, 2, 3, 4], "instruction": "x"}], "xywh", "not found"),
    ([{"img_filename": "a.png", "bbox": [1, 2, 3, 4], "instruction": "x", "id": 7}] * 2, "xywh", "unique"),
    ({"img_filename": "a.png"}, "xywh", "JSON list"),
])
def test_bad_annotations_say_what_to_fix(tmp_path: Path, records, bbox_format, message: str) -> None:
    image(tmp_path / "a.png")
    write(tmp_path / "set.json", records)
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path, bbox_format)


def test_the_results_log_drops_a_torn_last_line_and_keeps_the_latest_result(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    first = SampleResult(id="a", status="errored", hit=False, error="down")
    path.write_text(first.model_dump_json() + "\n" + '{"id": "b", "sta', encoding="utf-8")
    log = ResultLog(path)
    log.append(SampleResult(id="a", status="hit", hit=True, prediction=(1, 2)))
    log.close()
    assert path.read_text(encoding="utf-8").count("\n") == 2
    results = read_results(path)
    assert list(results) == ["a"] and results["a"].status == "hit"
