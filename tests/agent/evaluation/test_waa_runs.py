"""`eval --env waa` against our VM server with WindowsAgentArena-shaped tasks: each of WAA's failure
rules, task files as WAA publishes them, results filed by task file name, and WAA's results layout.

What WAA's harness gives for each case, read from its code (`desktop_env/envs/desktop_env.py`
`reset`/`evaluate`, `controllers/setup.py`, `run.py`, `show_result.py`):
- setup-refused: the VM answers a config step and a postconfig step with 404. Its setup controller
  logs a non-200 answer and goes on, so the task is scored: 1.
- result-getter-raises: the only metric's result getter raises. `evaluate` catches any exception
  of a lone result getter and returns 0: 0 (said so in our explanation).
- missing-file: the result file is not on the VM: its getter gives None, the metric scores 0.
- expected-missing: the expected file is not on the VM: its getter gives None, which `evaluate`
  leaves out of the metric's call; a metric that needs it then raises. Like every exception that
  `evaluate` lets through, `run.py` logs it and writes no result.txt, so `show_result.py` leaves the
  task out. Ours records it as errored (no result.txt either; rerun on resume): counted apart,
  never dropped; the eval exits 1, as it does whenever a task errored.
- expected-getter-raises: the expected getter's exception is not caught in `evaluate`: as above.
- INF-*: infeasible tasks as WAA ships some (`"source": null`, `"result": {}`, `"expected": {}`):
  1 when the agent's last action is FAIL, else 0; two such files share one id (as a pair in WAA's
  index does) and each keeps its own result, named by its file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from environments.virtual_desktop import VirtualDesktop
from tests.environments.remote.conftest import ROOT, VM

pytestmark = pytest.mark.desktop

MODEL = "replay"
WAA_CHECKOUT = os.environ.get("KIMI_AGENT_WAA_CHECKOUT")
"""WAA's `src/win-arena-container` folder: with it, WAA's own show_result.py reads our export."""


def reply(intent: str, code: str) -> str:
    return f"◁think▷Looking at the screen.◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


DONE = reply("Done.", 'computer.terminate(status="success")')
FAIL = reply("This cannot be done.", 'computer.terminate(status="failure")')


def echo_ok() -> dict:
    return {
        "func": "exact_match",
        "result": {"type": "vm_command_line", "command": ["echo", "ok"]},
        "expected": {"type": "rule", "rules": {"expected": "ok\n"}},
    }


def bad_relative_time() -> dict:
    """A getter that raises when called (a relative date it does not know), not when loaded."""
    return {
        "type": "rule_relativeTime",
        "rules": {"relativeTime": {"from": "a day nobody names"}, "expected": {"time": "{Year}"}},
    }


def tasks(root: Path) -> dict[str, tuple[dict, str]]:
    """WAA-shaped task files (path under the examples folder → task, the scripted model's reply)."""
    missing = str(root / "not-here.txt")
    return {
        "libreoffice_writer/setup-refused-WOS.json": (
            {
                "id": "setup-refused-WOS",
                "instruction": "Setup was refused twice; say done.",
                "source": "",
                "config": [{"type": "open", "parameters": {"path": missing}}],
                "evaluator": {**echo_ok(), "postconfig": [{"type": "open", "parameters": {"path": missing}}]},
            },
            DONE,
        ),
        "clock/result-getter-raises-WOS.json": (
            {
                "id": "result-getter-raises-WOS",
                "instruction": "The result getter raises; say done.",
                "config": [],
                "evaluator": {
                    "func": "exact_match",
                    "result": bad_relative_time(),
                    "expected": {"type": "rule", "rules": {"expected": "2026"}},
                },
            },
            DONE,
        ),
        "file_explorer/missing-file-WOS.json": (
            {
                "id": "missing-file-WOS",
                "instruction": "The result file is missing; say done.",
                "config": [],
                "evaluator": {
                    "func": "compare_text_file",
                    "result": {"type": "vm_file", "path": missing, "dest": "x.txt"},
                    "expected": {"type": "vm_file", "path": str(root / "expected.txt"), "dest": "y.txt"},
                },
            },
            DONE,
        ),
        "file_explorer/expected-missing-WOS.json": (
            {
                "id": "expected-missing-WOS",
                "instruction": "The expected file is missing; say done.",
                "config": [],
                "evaluator": {
                    "func": "compare_text_file",
                    "result": {"type": "vm_file", "path": str(root / "expected.txt"), "dest": "x.txt"},
                    "expected": {"type": "vm_file", "path": missing, "dest": "y.txt"},
                },
            },
            DONE,
        ),
        "settings/expected-getter-raises-WOS.json": (
            {
                "id": "expected-getter-raises-WOS",
                "instruction": "The expected getter raises; say done.",
                "config": [],
                "evaluator": {
                    "func": "exact_match",
                    "result": {"type": "vm_command_line", "command": ["echo", "ok"]},
                    "expected": bad_relative_time(),
                },
            },
            DONE,
        ),
        "vlc/INF-first-WOS.json": (
            {
                "id": "INF-same-WOS",
                "instruction": "Open the folder of the video playing (none is); give up.",
                "source": None,
                "_comments": "infeasible",
                "config": [],
                "trajectory": "trajectories/",
                "related_apps": ["vlc"],
                "evaluator": {"func": "infeasible", "result": {}, "expected": {}},
            },
            FAIL,
        ),
        "vlc/INF-second-WOS.json": (
            {
                "id": "INF-same-WOS",
                "instruction": "Open the folder of the video playing (none is); say done.",
                "source": None,
                "config": [],
                "evaluator": {"func": "infeasible", "result": {}, "expected": {}},
            },
            DONE,
        ),
    }


@pytest.fixture(scope="module")
def waa_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, subprocess.CompletedProcess]]:
    """One `eval --env waa` over the tasks above, on our server, with WAA's results layout exported."""
    tmp = tmp_path_factory.mktemp("waa")
    examples, solutions = tmp / "examples", tmp / "solutions"
    solutions.mkdir()
    with VirtualDesktop(1280, 800) as desktop:
        (tmp / "vmroot").mkdir()
        (tmp / "vmroot" / "expected.txt").write_text("expected\n")
        vm = VM(desktop, tmp / "vmroot")
        model = None
        try:
            for number, (name, (task, answer)) in enumerate(tasks(vm.root).items()):
                path = examples / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(task))
                (solutions / f"{number}.json").write_text(
                    json.dumps({"instruction": task["instruction"], "replies": [answer]})
                )
            model = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "agent.backends.scripted_server",
                    "--solutions",
                    str(solutions),
                    "--port",
                    "0",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            base_url = model.stdout.readline().split()[-1] + "/v1"
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "agent",
                    "eval",
                    "--env",
                    "waa",
                    "--vm-url",
                    vm.url,
                    "--tasks",
                    str(examples),
                    "--results",
                    str(tmp / "results"),
                    "--waa-results",
                    str(tmp / "waa"),
                    "--retries",
                    "0",
                    "--base-url",
                    base_url,
                    "--model",
                    MODEL,
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=400,
            )
        finally:
            if model is not None:
                model.terminate()
                model.wait()
                model.stdout.close()
            vm.stop()
    yield tmp, done


def test_each_failure_scores_as_waas_harness_would(waa_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    tmp, done = waa_run
    results = tmp / "results"
    assert done.returncode == 1, (
        done.stdout + done.stderr
    )  # two tasks errored, as WAA's harness leaves them out
    scores = {
        f"{f.parent.parent.name}/{f.parent.name}": float(f.read_text())
        for f in results.glob("*/*/result.txt")
    }
    assert scores == {
        "libreoffice_writer/setup-refused-WOS": 1.0,
        "clock/result-getter-raises-WOS": 0.0,
        "file_explorer/missing-file-WOS": 0.0,
        "vlc/INF-first-WOS": 1.0,
        "vlc/INF-second-WOS": 0.0,
    }
    errored = results / "settings" / "expected-getter-raises-WOS"
    assert (
        "rule_relativeTime" in (errored / "error.txt").read_text() and not (errored / "result.txt").exists()
    )
    left_out = results / "file_explorer" / "expected-missing-WOS"
    assert (
        "compare_text_file" in (left_out / "error.txt").read_text() and not (left_out / "result.txt").exists()
    )
    summary = json.loads((results / "summary.json").read_text())
    assert (summary["scheduled"], summary["scored"], summary["errored"]) == (7, 5, 2)

    refused = json.loads(
        (results / "libreoffice_writer" / "setup-refused-WOS" / "explanation.json").read_text()
    )
    assert [line.split(" failed")[0] for line in refused["carried_on"]] == [
        "setup step 1 (open)",
        "postconfig step 1 (open)",
    ]
    assert "HTTP 404" in refused["carried_on"][0]
    raised = json.loads((results / "clock" / "result-getter-raises-WOS" / "explanation.json").read_text())
    assert (
        "raised" in raised["metrics"][0]["note"] and "ValueError" in raised["metrics"][0]["actual"]["raised"]
    )
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["identity"]["rules"] == "waa"


def test_the_export_is_waas_layout_with_a_result_only_for_scored_tasks(
    waa_run: tuple[Path, subprocess.CompletedProcess],
) -> None:
    trial = waa_run[0] / "waa" / "pyautogui" / "screenshot" / MODEL / "0"
    assert {
        f"{f.parent.parent.name}/{f.parent.name}": float(f.read_text()) for f in trial.glob("*/*/result.txt")
    } == {
        "libreoffice_writer/setup-refused-WOS": 1.0,
        "clock/result-getter-raises-WOS": 0.0,
        "file_explorer/missing-file-WOS": 0.0,
        "vlc/INF-first-WOS": 1.0,
        "vlc/INF-second-WOS": 0.0,
    }
    assert (trial / "settings" / "expected-getter-raises-WOS").is_dir()
    assert not (trial / "settings" / "expected-getter-raises-WOS" / "result.txt").exists()


@pytest.mark.skipif(
    not WAA_CHECKOUT, reason="needs WAA's code: KIMI_AGENT_WAA_CHECKOUT=.../src/win-arena-container"
)
def test_waas_own_result_script_reads_the_export(waa_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    """WAA's show_result.py over our export: 5 tasks with a result, the errored one reported missing
    (the script divides by the count of office tasks, hence one in libreoffice_writer)."""
    assert WAA_CHECKOUT is not None
    client = Path(WAA_CHECKOUT) / "client"
    out = waa_run[0] / "waa"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, show_result; r = show_result.get_result(sys.argv[1]); print(len(r), sum(r))",
            str(out / "pyautogui" / "screenshot" / MODEL / "0"),
        ],
        cwd=client,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["5", "2.0"]
    assert (
        "expected-getter-raises-WOS" in done.stdout and "expected-missing-WOS" in done.stdout
    )  # no result.txt
