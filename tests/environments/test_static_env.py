"""StaticEnv: the generated screen passes Gymnasium's checks, draws what actions did, and runs a task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from gymnasium.utils.env_checker import check_env

from actions import Click, Done, Point, Press, Scroll, TypeText
from environments.static import FIELD_FILE, StaticEnv, button_box


def at(x: int, y: int) -> Point:
    return Point(x=x, y=y, space="screen")


def test_passes_the_gymnasium_checker() -> None:
    check_env(StaticEnv(640, 400), skip_render_check=True)


def test_click_toggles_the_button_under_the_pointer_and_the_screenshot_shows_it() -> None:
    env = StaticEnv(800, 600)
    env.reset(options={"instruction": "press button 2"})
    before = np.array(env.last_screenshot.image)
    left, top, right, bottom = button_box(1)
    result = env.perform(Click(at=at((left + right) // 2, (top + bottom) // 2)))
    after = np.array(env.last_screenshot.image)
    assert result.ok and result.settle.changed and result.settle.stable
    assert env.state.pressed == [False, True, False, False, False, False]
    # The pressed button's face is drawn in the pressed colour.
    assert tuple(after[top + 5, left + 5]) == (94, 129, 172) and tuple(before[top + 5, left + 5]) != (94, 129, 172)
    env.perform(Click(at=at((left + right) // 2, (top + bottom) // 2)))
    assert env.state.pressed[1] is False


def test_typing_edits_the_field_and_enter_submits_it() -> None:
    env = StaticEnv()
    env.reset()
    env.perform(TypeText(text="helloo"))
    env.perform(Press(keys=("backspace",)))
    assert env.state.text == "hello"
    env.perform(Press(keys=("enter",)))
    assert env.state.submitted == "hello" and env.state.text == ""
    env.perform(Scroll(dy=-3))
    assert env.state.scroll == -3


def test_an_action_that_draws_nothing_new_reports_no_change() -> None:
    env = StaticEnv()
    env.reset()
    env.perform(Click(at=at(700, 500)))
    result = env.perform(Click(at=at(700, 500)))
    assert result.ok and result.settle.changed is False


def test_a_task_is_set_up_and_scored_from_the_submitted_field(tmp_path: Path) -> None:
    task = tmp_path / "task.json"
    task.write_text(json.dumps({
        "id": "static-submit", "snapshot": "none", "instruction": "Submit the word kimi.", "config": [],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "cat /home/user/field.txt", "shell": True},
            "expected": {"type": "rule", "rules": {"include": ["kimi"], "exclude": []}},
        },
    }))
    env = StaticEnv()
    try:
        obs, _ = env.reset(options={"task": str(task), "workdir": tmp_path / "work"})
        assert obs["instruction"] == "Submit the word kimi."
        env.step(TypeText(text="kimi"))
        env.step(Press(keys=("enter",)))
        _, reward, terminated, _, info = env.step(Done())
        assert terminated and reward == 1.0 and info["score"] == 1.0
        assert [p.read_text() for p in (tmp_path / "work").rglob(FIELD_FILE)] == ["kimi\n"]
    finally:
        env.close()


def test_reset_clears_the_screen_state() -> None:
    env = StaticEnv()
    env.reset()
    env.perform(TypeText(text="abc"))
    env.reset()
    assert env.state.text == "" and env.executor.state is env.state


def test_eval_builds_it_for_env_static() -> None:
    from agent.evaluation.options import EvalOptions
    from environments.kinds import make_env

    spec = EvalOptions(tasks=Path("."), size=(1024, 768), env="static").worker_spec("http://127.0.0.1:1/v1", None)
    env = make_env(spec.env_config("static"))
    try:
        assert isinstance(env, StaticEnv) and env.size == (1024, 768)
    finally:
        env.close()
