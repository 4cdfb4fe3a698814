"""The loop with its guards, on an in-process environment stand-in: what is performed, what the
model is told next, how the episode ends, and what the trajectory records."""

from __future__ import annotations

import io
import time
from pathlib import Path

from actions.errors import FailSafeTriggered
from actions.models import Action, Click, Hotkey, Point, TypeText
from agent.backends.chat import Message, Sampling, TextPart
from agent.backends.scripted import ScriptedBackend
from agent.episode.loop import Budget, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.episode.run import make_perception
from agent.safety import Confirmer, Guards, PanicSignal, Policy, RunawayConfig, Terminal, default_policy
from agent.trajectory.store import EpisodeInfo, StepRecord, TrajectoryWriter, read_trajectory
from environments.base import EnvTimings, ExecutionResult, SettleInfo
from tests.agent.episode.test_loop import ScriptedEnv, reply

DONE = reply("computer.terminate(status='success', answer='ok')")


class Recording(ScriptedBackend):
    """Replays replies and keeps every request it was sent."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.requests: list[list[Message]] = []

    def complete(self, messages, sampling):
        self.requests.append(list(messages))
        return super().complete(messages, sampling)


class SettlingEnv(ScriptedEnv):
    """Reports, like the real envs, whether each action changed the screen."""

    def __init__(self, changes: bool = False, on_perform=None) -> None:
        super().__init__()
        self.changes = changes
        self.on_perform = on_perform

    def perform(self, action: Action) -> ExecutionResult:
        if self.on_perform is not None:
            self.on_perform(action, self)
        self.performed.append(action)
        return ExecutionResult(
            ok=True, action=action, timings=EnvTimings(execute=0.001),
            settle=SettleInfo(seconds=0.0, frames=1, stable=True, changed=self.changes),
        )


def run(tmp_path: Path, replies: list[str], guards: Guards | None = None, env: ScriptedEnv | None = None, max_steps: int = 10):
    env = env or SettlingEnv(changes=True)
    backend = Recording(replies)
    policy = KimiPolicy(backend, PolicyConfig("m", "thinking", Sampling(), 16384), "do it")
    writer = TrajectoryWriter.create(tmp_path, EpisodeInfo(instruction="do it", model="m", env="fake", started_at=0.0))
    result = run_episode(env, policy, make_perception("jpeg", True, 16384), writer, Budget(max_steps), guards=guards)
    return result, env, backend, read_trajectory(writer.folder)


def texts(message: Message) -> list[str]:
    return [p.text for p in message.content if isinstance(p, TextPart)]


def test_a_denied_action_is_not_performed_and_the_reason_reaches_the_model(tmp_path: Path) -> None:
    replies = [reply("pyautogui.hotkey('Ctrl', 'Alt', 'Del')"), reply("pyautogui.write('hi')"), DONE]
    result, env, backend, trajectory = run(tmp_path, replies)  # the default guards, as eval gets them
    assert result.outcome == "done"
    assert env.performed[0] == TypeText(text="hi") and [a.type for a in env.performed] == ["type", "done"]
    [event] = trajectory.steps[0].guard
    assert (event.kind, event.verdict, event.action, event.rule) == ("policy", "deny", 0, "session-and-vt-keys")
    assert trajectory.steps[0].execution.executed == 0

    first, second = backend.requests[0], backend.requests[1]
    note = texts(second[-1])[0]
    assert note.startswith("Note from the safety guard about your last step:")
    assert "Action 1 (hotkey ctrl+alt+del) was denied: this key combination ends the session" in note
    assert second[-1].content[-1].type == "image_url"  # the note comes before the new screenshot
    assert second[: len(first)] == first  # the request prefix is unchanged: only appended to
    assert texts(trajectory.steps[1].request.messages[-1])[0] == note  # the trajectory records what was sent
    assert trajectory.steps[1].guard == [] and not any("safety guard" in t for t in texts(backend.requests[2][-1]))


def test_a_step_held_back_by_a_guard_does_not_end_the_episode_with_its_done(tmp_path: Path) -> None:
    replies = [reply("pyautogui.write('rm -rf ~')\ncomputer.terminate(status='success', answer='wiped')"), DONE]
    result, env, backend, trajectory = run(tmp_path, replies)
    assert (result.outcome, result.answer) == ("done", "ok") and len(trajectory.steps) == 2
    assert not any(isinstance(a, TypeText) for a in env.performed)
    [event] = trajectory.steps[0].guard
    assert (event.verdict, event.answer, event.rule) == ("confirm", "nobody", "destructive-shell")
    note = texts(backend.requests[1][-1])[0]
    assert "needs a person's confirmation" in note and "this run asks nobody (--confirm never)" in note


def test_a_person_confirms_one_action_and_declines_another(tmp_path: Path) -> None:
    asked = io.StringIO()
    guards = Guards(confirm=Confirmer("risky", Terminal(io.StringIO("y\nn\n"), asked)))
    replies = [reply("pyautogui.write('sudo ls')"), reply("pyautogui.write('sudo rm -rf /srv')"), DONE]
    result, env, backend, trajectory = run(tmp_path, replies, guards)
    assert result.outcome == "done"
    assert [a.text for a in env.performed if isinstance(a, TypeText)] == ["sudo ls"]
    assert [(e.verdict, e.answer) for s in trajectory.steps for e in s.guard] == [("confirm", "yes"), ("confirm", "no")]
    assert asked.getvalue().count("Perform it? [y/N]") == 2 and "type 'sudo ls'" in asked.getvalue()
    assert "a person declined it" in texts(backend.requests[2][-1])[0]
    assert not any("safety guard" in t for t in texts(backend.requests[1][-1]))  # a yes needs no note


def test_always_asks_before_every_action(tmp_path: Path) -> None:
    asked = io.StringIO()
    guards = Guards(confirm=Confirmer("always", Terminal(io.StringIO("y\ny\n"), asked)))
    result, env, _, trajectory = run(tmp_path, [reply("pyautogui.click(0.5, 0.5)\npyautogui.press('a')"), DONE], guards)
    assert result.outcome == "done" and len(env.performed) == 3  # click, press, and done (never asked about)
    assert asked.getvalue().count("Perform it? [y/N]") == 2 and "(--confirm always)" in asked.getvalue()
    assert [(e.action, e.answer, e.rule) for e in trajectory.steps[0].guard] == [(0, "yes", None), (1, "yes", None)]


def test_the_action_budget_stops_the_episode(tmp_path: Path) -> None:
    guards = Guards(policy=Policy(max_actions=3))
    replies = [reply("pyautogui.press('a')\npyautogui.press('b')"), reply("pyautogui.press('c')"), reply("pyautogui.press('d')\npyautogui.press('e')"), DONE]
    result, env, _, trajectory = run(tmp_path, replies, guards)
    assert result.outcome == "stopped" and len(env.performed) == 3
    assert result.error == "action budget: the policy allows 3 actions per episode and 3 were performed"
    assert trajectory.info.outcome == "stopped" and trajectory.info.error == result.error
    assert [(e.kind, e.verdict) for e in trajectory.steps[-1].guard] == [("budget", "stop")]


def test_a_repeated_action_on_an_unchanged_screen_is_warned_about_then_stopped(tmp_path: Path) -> None:
    guards = Guards(runaway=RunawayConfig(max_repeats=3, max_unchanged=None))
    result, env, backend, trajectory = run(tmp_path, [reply("pyautogui.click(0.5, 0.5)")] * 6, guards, SettlingEnv(changes=False))
    assert result.outcome == "stopped" and result.error.startswith("runaway: the same action(s) were asked for 4 times")
    assert len(env.performed) == 2 and len(trajectory.steps) == 4
    assert [[(e.kind, e.verdict) for e in s.guard] for s in trajectory.steps] == [[], [], [("repeat", "warn")], [("repeat", "stop")]]
    warning = texts(backend.requests[3][-1])[0]
    assert "asked for 3 times in a row and the screen did not change. Your last step was not performed." in warning


def test_a_screen_that_does_not_change_for_m_steps_is_warned_about_then_stopped(tmp_path: Path) -> None:
    guards = Guards(runaway=RunawayConfig(max_repeats=None, max_unchanged=3, on_runaway="intervene"))
    replies = [reply(f"pyautogui.press('{k}')") for k in "abcdefg"]
    result, env, backend, trajectory = run(tmp_path, replies, guards, SettlingEnv(changes=False))
    assert result.outcome == "stopped" and result.error == "runaway: the screen has not changed for 4 steps"
    assert len(env.performed) == 4
    assert [e.verdict for s in trajectory.steps for e in s.guard] == ["warn", "stop"]
    assert "The screen has not changed for 3 steps. Try a different approach" in texts(backend.requests[3][-1])[0]


def test_a_changing_screen_never_triggers_the_runaway_guard(tmp_path: Path) -> None:
    result, env, _, trajectory = run(tmp_path, [reply("pyautogui.click(0.5, 0.5)")] * 8, env=SettlingEnv(changes=True), max_steps=8)
    assert result.outcome == "max_steps" and len(env.performed) == 8
    assert all(s.guard == [] for s in trajectory.steps)


def test_the_panic_signal_stops_before_the_next_action(tmp_path: Path) -> None:
    panic = PanicSignal()
    env = SettlingEnv(changes=True, on_perform=lambda action, env: panic.press())
    result, env, _, trajectory = run(tmp_path, [reply("pyautogui.press('a')\npyautogui.press('b')"), DONE], Guards(panic=panic), env)
    assert result.outcome == "stopped" and result.error == "the panic key ctrl+alt+shift+k was pressed"
    assert len(env.performed) == 1 and len(trajectory.steps) == 1
    assert [(e.kind, e.verdict) for e in trajectory.steps[0].guard] == [("panic", "stop")]
    assert trajectory.info.outcome == "stopped"


def test_the_fail_safe_stops_the_episode_cleanly(tmp_path: Path) -> None:
    def corner(action, env) -> None:
        if env.performed:
            raise FailSafeTriggered("pyautogui's fail-safe fired: the pointer was in a screen corner when a press action began")

    result, _, _, trajectory = run(tmp_path, [reply("pyautogui.press('a')\npyautogui.press('b')")] * 2, env=SettlingEnv(True, corner))
    assert result.outcome == "stopped" and "fail-safe" in result.error
    [event] = trajectory.steps[0].guard
    assert (event.kind, event.verdict, event.action) == ("fail_safe", "stop", 1)
    assert trajectory.steps[0].execution.executed == 1 and trajectory.info.outcome == "stopped"


def test_an_environment_without_settle_reports_never_triggers_runaway(tmp_path: Path) -> None:
    result, env, _, _ = run(tmp_path, [reply("pyautogui.click(0.5, 0.5)")] * 6, env=ScriptedEnv(), max_steps=6)
    assert result.outcome == "max_steps" and len(env.performed) == 6


def test_step_lines_without_guard_events_still_read() -> None:
    line = StepRecord(
        index=0, started_at=0, ended_at=0, screenshot="f", frame=_frame(), request={"model": "m", "messages": [], "sampling": {}},
        response={"text": ""},
    ).model_dump(exclude={"guard"})
    assert "guard" not in line and StepRecord.model_validate(line).guard == []


def _frame():
    from actions.coords import Frame

    return Frame.of_size(10, 10)


def test_guard_overhead_per_step_is_well_under_a_millisecond() -> None:
    guard = Guards(policy=default_policy()).episode()
    step = [Click(at=Point(x=100, y=100, space="screen")), TypeText(text="echo hello > notes.txt\n"), Hotkey(keys=("ctrl", "s"))]
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(200):
            guard.review(step)
            guard.after(3, True)
        best = min(best, (time.perf_counter() - started) / 200)
    print(f"guard review+after per 3-action step: {best * 1e6:.0f} µs")
    assert best < 0.001
