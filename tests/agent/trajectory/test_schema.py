"""Format stability: the shipped JSON Schema is what the models generate, and newer versions are refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.trajectory.schema import main, schema_path, schema_text, trajectory_schema
from agent.trajectory.store import (
    EPISODE_FILE, FORMAT_VERSION, EpisodeInfo, StepRecord, TrajectoryVersionError, TrajectoryWriter,
    read_trajectory,
)
from tests.agent.trajectory.helpers import cli
from tests.agent.trajectory.write_forever import record


def test_the_shipped_schema_is_what_the_generator_writes() -> None:
    path = schema_path()
    assert path.name == f"trajectory-v{FORMAT_VERSION}.schema.json" == "trajectory-v1.schema.json"
    assert path.read_text(encoding="utf-8") == schema_text(), "run: python -m agent.trajectory.schema"
    assert main(["--check"]) == 0


def test_the_schema_describes_both_files() -> None:
    schema = trajectory_schema()
    definitions = schema["$defs"]
    assert {"$ref": "#/$defs/EpisodeInfo"} in schema["anyOf"] and {"$ref": "#/$defs/StepRecord"} in schema["anyOf"]
    assert set(definitions["EpisodeInfo"]["properties"]) == set(EpisodeInfo.model_fields)
    assert set(definitions["StepRecord"]["properties"]) == set(StepRecord.model_fields)
    assert definitions["EpisodeInfo"]["properties"]["format_version"]["default"] == FORMAT_VERSION
    # every action type of the union is spelled out
    actions = definitions["StepRecord"]["properties"]["actions"]["items"]["discriminator"]["mapping"]
    assert {"click", "drag", "scroll", "type", "press", "hotkey", "done", "fail"} <= set(actions)


def _episode(root: Path) -> Path:
    with TrajectoryWriter.create(root, EpisodeInfo(instruction="note", model="m", env="xvfb", started_at=0.0)) as writer:
        data = io.BytesIO()
        Image.new("RGB", (640, 480), "white").save(data, "JPEG")
        writer.append(record(0, writer.write_frame(0, data.getvalue(), "jpg")))
        writer.finish("done")
    return writer.folder


def _set_version(folder: Path, version: object) -> None:
    info = json.loads((folder / EPISODE_FILE).read_text(encoding="utf-8"))
    info["format_version"] = version
    (folder / EPISODE_FILE).write_text(json.dumps(info), encoding="utf-8")


def test_version_1_reads(tmp_path: Path) -> None:
    trajectory = read_trajectory(_episode(tmp_path))
    assert trajectory.info.format_version == 1 and len(trajectory.steps) == 1


def test_a_newer_version_is_refused_with_the_versions_named(tmp_path: Path) -> None:
    folder = _episode(tmp_path)
    _set_version(folder, 2)
    with pytest.raises(TrajectoryVersionError) as caught:
        read_trajectory(folder)
    message = str(caught.value)
    assert "format_version 2" in message and "supports version 1" in message and "upgrade" in message
    assert caught.value.found == 2
    for command in (["view", str(folder)], ["export", str(folder), "--out", str(tmp_path / "x.json")]):
        result = CliRunner().invoke(cli(), command)
        assert result.exit_code == 2
        assert "format_version 2" in " ".join(result.output.split())


@pytest.mark.parametrize("version", [0, "1", True, None])
def test_an_unknown_version_is_refused(tmp_path: Path, version: object) -> None:
    folder = _episode(tmp_path)
    _set_version(folder, version)
    with pytest.raises(TrajectoryVersionError, match="supports version 1"):
        read_trajectory(folder)


def test_view_and_export_work_without_a_browser(tmp_path: Path) -> None:
    folder = _episode(tmp_path)
    result = CliRunner().invoke(cli(), ["view", str(folder), "--gif", str(tmp_path / "a.gif")])
    assert result.exit_code == 0, result.output
    html = (folder / "trajectory.html").read_text(encoding="utf-8")
    assert "data:image/jpeg;base64," in html and "Step 1" in html
    result = CliRunner().invoke(cli(), ["export", str(tmp_path), "--out", str(tmp_path / "train.json")])
    assert result.exit_code == 0, result.output
    [sample] = json.loads((tmp_path / "train.json").read_text(encoding="utf-8"))
    assert sample["images"] == [f"{folder.name}/frames/0000.jpg"]
    assert "pyautogui.click(x=0.25, y=0.5)" in sample["messages"][-1]["content"]
    # a click whose step says nothing about what it meant is no grounding sample
    result = CliRunner().invoke(cli(), ["export", str(tmp_path), "--format", "grounding", "--out", str(tmp_path / "g.jsonl")])
    assert result.exit_code == 0 and (tmp_path / "g.jsonl").read_text(encoding="utf-8") == ""
