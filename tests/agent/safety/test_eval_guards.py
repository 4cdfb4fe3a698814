"""Which guards an evaluation episode runs under: nobody confirms, and sandboxes get the sandbox policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.models import Hotkey, TypeText
from agent.evaluation.options import EvalOptions
from agent.evaluation.worker import eval_guards
from agent.safety.check import PolicyChecker


def verdicts(options: EvalOptions, kind: str, *actions) -> list[str]:
    return [c.verdict for c in PolicyChecker(eval_guards(options.guards, kind).policy).check_step(list(actions))]


@pytest.mark.parametrize("kind", ["xvfb", "browser", "osworld", "waa"])
def test_sandboxes_allow_what_benchmark_tasks_type_but_never_session_keys(kind: str) -> None:
    options = EvalOptions(tasks=Path("t"))
    typed = [TypeText(text="sudo apt-get install -y gimp\n"), TypeText(text="rm -rf build\n")]
    assert [verdicts(options, kind, action) for action in typed] == [["allow"], ["allow"]]
    assert verdicts(options, kind, Hotkey(keys=("ctrl", "alt", "backspace"))) == ["deny"]


def test_a_real_desktop_gets_the_default_policy_whose_confirm_rules_refuse_in_eval() -> None:
    options = EvalOptions(tasks=Path("t"))
    guards = eval_guards(options.guards, "desktop")
    assert verdicts(options, "desktop", TypeText(text="sudo reboot\n")) == ["confirm"]
    assert guards.confirm.ask("perform it?") == "nobody"  # so that confirm is a refusal


def test_a_policy_file_replaces_both_shipped_policies(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('default = "allow"\n[[rules]]\nname = "no-typing"\nverdict = "deny"\nreason = "r"\nkinds = ["type"]\n')
    options = EvalOptions(tasks=Path("t"), policy=policy, max_repeats=None, max_unchanged=2, on_runaway="stop")
    for kind in ("xvfb", "desktop"):
        assert verdicts(options, kind, TypeText(text="hello")) == ["deny"]
        assert verdicts(options, kind, Hotkey(keys=("ctrl", "alt", "delete"))) == ["allow"]
    runaway = eval_guards(options.guards, "xvfb").runaway
    assert (runaway.max_repeats, runaway.max_unchanged, runaway.on_runaway) == (None, 2, "stop")


def test_runaway_detection_is_off_in_eval_unless_asked_for() -> None:
    runaway = eval_guards(EvalOptions(tasks=Path("t")), "xvfb").runaway
    assert (runaway.max_repeats, runaway.max_unchanged) == (None, None)
