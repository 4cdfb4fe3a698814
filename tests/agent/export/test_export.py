"""Export of real trajectories as fine-tuning data, checked by parsing the replies back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actions.coords import point_of, to_image_pixels
from actions.models import Click
from actions.parser import parse_reply
from agent.episode.history import OMITTED
from agent.export.code import action_code, reply_text
from agent.trajectory.store import StepRecord, Trajectory
from prompts import agent_system_prompt, agent_task_text
from tests.agent.trajectory.helpers import cli

pytestmark = pytest.mark.browser  # the trajectories are recorded in Chromium


def _export(folders: list[Path], out: Path, *options: str) -> str:
    result = CliRunner().invoke(cli(), ["export", *map(str, folders), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _same_actions(reply: str, step: StepRecord) -> None:
    """The reply parses back to the step's actions: same types and fields, points within 1 px."""
    parsed = parse_reply(reply)
    assert parsed.thought == step.thought and parsed.intent == step.intent
    assert [a.type for a in parsed.actions] == [a.type for a in step.actions]
    for got, want in zip(parsed.actions, step.actions):
        assert got.model_dump(exclude={"at", "to"}) == want.model_dump(exclude={"at", "to"})
        got_point, want_point = point_of(got), point_of(want)
        assert (got_point is None) == (want_point is None)
        if got_point is not None:
            assert got_point.space == "relative"
            got_px = to_image_pixels(got_point, step.frame)
            want_px = to_image_pixels(want_point, step.frame)
            assert math.dist(got_px, want_px) <= 1.0, (got_point, want_point)


def test_sharegpt_round_trip_in_the_agents_own_layout(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    out = tmp_path / "data" / "train.json"
    output = _export([recorded["thinking"].folder.parent, recorded["instruct"].folder], out)
    assert "9 sharegpt samples from 2 episode(s)" in output
    samples = json.loads(out.read_text(encoding="utf-8"))
    by_variant = {"thinking": samples[:6], "instruct": samples[6:]}
    for variant, trajectory in sorted(recorded.items()):
        chunk = by_variant[variant]
        assert len(chunk) == len(trajectory.steps)
        for sample, step in zip(chunk, trajectory.steps):
            messages = sample["messages"]
            assert messages[0] == {"role": "system", "content": agent_system_prompt(variant)}
            assert messages[1]["content"].startswith(agent_task_text(trajectory.info.instruction) + "<image>")
            # the same turns the agent sent for this step (its recorded request), plus the reply
            assert [m["role"] for m in messages[:-1]] == [m.role for m in step.request.messages]
            assert messages[-1]["role"] == "assistant"
            assert sum(m["content"].count("<image>") for m in messages) == len(sample["images"])
            assert sample["images"][-1] == Path(step.screenshot).name or sample["images"][-1].endswith(step.screenshot)
            assert all((out.parent / image).is_file() for image in sample["images"])
            reply = messages[-1]["content"]
            assert reply.startswith("◁think▷" if variant == "thinking" else "## Thought:")
            _same_actions(reply, step)
            for earlier in messages[2:-1:2]:  # history replies keep only action and code, relative too
                assert earlier["role"] == "assistant" and "◁think▷" not in earlier["content"]
                assert parse_reply(earlier["content"]).actions
    # step 4 of the thinking run answered in pixels (moveTo(60, 170)); exported as fractions
    assert "pyautogui.moveTo(x=0.0932, y=0.4337)" in by_variant["thinking"][2]["messages"][-1]["content"]


def test_history_drops_old_screenshots_like_the_agent(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    trajectory = recorded["thinking"]
    out = tmp_path / "train.json"
    _export([trajectory.folder], out, "--variant", "instruct")
    samples = json.loads(out.read_text(encoding="utf-8"))
    images = [len(s["images"]) for s in samples]
    assert images == [min(n, 6) for n in range(1, 7)]
    assert all(s["messages"][-1]["content"].startswith("## Thought:") for s in samples)
    assert not any(OMITTED in m["content"] for s in samples for m in s["messages"])


def test_successful_only_leaves_out_failed_episodes(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    out = tmp_path / "ok.json"
    output = _export([recorded["thinking"].folder, recorded["instruct"].folder], out, "--successful-only")
    assert "6 sharegpt samples from 1 episode(s), 1 unsuccessful left out" in output


def test_grounding_lines_are_the_clicks_with_their_intent(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    out = tmp_path / "ground.jsonl"
    trajectory = recorded["thinking"]
    _export([trajectory.folder], out, "--format", "grounding")
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    clicks = [(step, action) for step in trajectory.steps for action in step.actions if isinstance(action, Click)]
    assert len(lines) == len(clicks) == 3
    for line, (step, action) in zip(lines, clicks):
        assert set(line) == {"image", "instruction", "point"}
        assert line["instruction"] == step.intent
        assert (out.parent / line["image"]).resolve() == trajectory.frame_path(step).resolve()
        x, y = line["point"]
        assert 0 <= x <= 1 and 0 <= y <= 1
        want = to_image_pixels(action.at, step.frame)
        assert math.dist((x * step.frame.image_width, y * step.frame.image_height), want) <= 1.0


def test_generated_code_parses_back_for_every_action_shape() -> None:
    replies = {
        "pyautogui.click(x=0.5, y=0.25)": None,
        "pyautogui.doubleClick(x=0.1, y=0.2, button='right')": None,
        "pyautogui.tripleClick()": None,
        "pyautogui.middleClick(x=0.3, y=0.3)": None,
        "pyautogui.scroll(3)": None,
        "pyautogui.hscroll(-2, x=0.9, y=0.1)": None,
        "pyautogui.press(['a', 'b'], presses=3)": None,
        "pyautogui.write('quote \" back\\\\slash \\n tab\\t é')": None,
        "pyautogui.hotkey('ctrl', 'shift', 'esc')": None,
        "pyautogui.mouseDown(button='middle')": None,
        "pyautogui.dragTo(x=0.7, y=0.7, button='right')": None,
        "time.sleep(0.25)\ncomputer.wait()": None,
        'computer.terminate(status="failure")': None,
        'computer.terminate(status="success", answer="42")': None,
    }
    for code in replies:
        step = parse_reply(reply_text("instruct", "t", "i", code))
        where = [(point_of(a).x, point_of(a).y) if point_of(a) else None for a in step.actions]
        regenerated = "\n".join(line for a, w in zip(step.actions, where) for line in action_code(a, w))
        assert parse_reply(reply_text("thinking", "t", "i", regenerated)).actions == step.actions, code
