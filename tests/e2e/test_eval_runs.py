"""`kimi-agent eval` beyond one worker: parallel workers, killing and resuming, reports, and
importing results of OSWorld's own harness. The model is a SCRIPTED stand-in (no model)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from agent.trajectory.store import read_trajectory
from environments.tasks.suite import SOLUTIONS, SUITE

ROOT = Path(__file__).resolve().parents[2]
CHROME = SUITE / "examples" / "chrome"


@pytest.fixture
def slow_model() -> Iterator[str]:
    """The suite's solutions, each answer after 0.4 s (a stand-in for a model's think time)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--solutions", str(SOLUTIONS), "--port", "0",
         "--latency", "0.4"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    yield server.stdout.readline().split()[-1] + "/v1"
    server.terminate()
    server.wait()
    server.stdout.close()


def eval_args(base_url: str, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agent", "eval", "--base-url", base_url, "--model", "replay", "--results",
            str(results), *extra]


def scores(results: Path) -> dict[str, float]:
    return {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")}


@pytest.mark.browser
@pytest.mark.desktop
def test_several_workers_score_the_suite_like_one(slow_model: str, tmp_path: Path) -> None:
    done = subprocess.run(eval_args(slow_model, tmp_path / "r", "--workers", "3"), cwd=ROOT, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = {p.stem for p in SUITE.glob("examples/*/*.json")}
    assert scores(tmp_path / "r") == dict.fromkeys(ids, 1.0)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["scheduled"], summary["errored"]) == (len(ids), 0)


@pytest.mark.browser
def test_killing_eval_at_any_point_loses_nothing_and_resume_redoes_only_the_rest(slow_model: str, tmp_path: Path) -> None:
    results = tmp_path / "r"
    kept: dict[str, float] = {}
    for delay in (1.5, 3.0, 4.5):
        process = subprocess.Popen(eval_args(slow_model, results, "--tasks", str(CHROME)), cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        now = scores(results)
        assert all(now[k] == v for k, v in kept.items())  # a finished result is never lost or changed
        assert all(v == 1.0 for v in now.values())
        kept = now
    stamps = {k: (results / "chrome" / k / "result.txt").stat().st_mtime_ns for k in kept}
    done = subprocess.run(eval_args(slow_model, results, "--tasks", str(CHROME)), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert scores(results) == {p.stem: 1.0 for p in CHROME.glob("*.json")}
    assert done.stdout.count("(finished earlier)") == len(kept)
    assert all((results / "chrome" / k / "result.txt").stat().st_mtime_ns == t for k, t in stamps.items())


def write_result(results: Path, domain: str, task_id: str, score: float | None, error: str = "") -> None:
    folder = results / domain / task_id
    folder.mkdir(parents=True)
    (folder / "log.txt").write_text("log\n")
    if score is None:
        (folder / "error.txt").write_text(error + "\n")
    else:
        (folder / "result.txt").write_text(f"{score}\n")


def test_report_tables_chart_and_comparison(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_result(a, "os", "t1", 1.0)
    write_result(a, "os", "t2", 0.0)
    write_result(a, "chrome", "t3", None, "VMUnreachable: no answer")
    write_result(b, "os", "t1", 1.0)
    write_result(b, "os", "t2", 1.0)
    write_result(b, "chrome", "t3", 0.5)
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "agent", "eval", "--report", str(a), "--compare", str(b), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "tasks whose score differs (2)" in done.stdout
    lines = [line for line in done.stdout.splitlines() if "│ all" in line]
    assert "0.333" in lines[0] and "0.833" in lines[1]  # errored tasks stay in the denominator
    html = out.read_text()
    assert "<svg" in html and "t2" in html and "t3" in html


def test_reference_harness_results_import_into_trajectories(tmp_path: Path) -> None:
    source = tmp_path / "pyautogui" / "screenshot" / "some-model" / "os" / "task-1"
    source.mkdir(parents=True)
    lines = [
        {"step_num": 1, "action_timestamp": "20261125@101500", "action": "pyautogui.click(640, 400)",
         "response": "I click the middle.", "reward": 0, "done": False, "info": {}, "screenshot_file": "step_1_20261125@101500.png"},
        {"step_num": 2, "action_timestamp": "20261125@101505", "action": "pyautogui.typewrite('ls')\npyautogui.press('enter')",
         "response": "I list files.", "reward": 0, "done": False, "info": {}, "screenshot_file": "step_2_20261125@101505.png"},
        {"step_num": 3, "action_timestamp": "20261125@101510250000", "action": "DONE", "response": "Done.", "reward": 0,
         "done": True, "info": {}, "screenshot_file": "step_3_20261125@101510250000.png"},  # main's %f
    ]
    (source / "traj.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    for n, colour in ((1, "red"), (2, "green"), (3, "blue")):
        Image.new("RGB", (1280, 800), colour).save(source / lines[n - 1]["screenshot_file"])
    (source / "result.txt").write_text("1.0\n")
    dest = tmp_path / "imported"
    done = subprocess.run([sys.executable, "-m", "agent", "import", str(tmp_path / "pyautogui"), str(dest)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    trajectory = read_trajectory(dest / "os" / "task-1" / "trajectory")
    assert trajectory.info.score == 1.0 and trajectory.info.outcome == "done"
    assert [[a.type for a in s.actions] for s in trajectory.steps] == [["click"], ["type", "press"], ["done"]]
    assert trajectory.steps[0].coordinates[0].screen == (640, 400)
    stamps = [s.started_at for s in trajectory.steps]  # both timestamp formats of their harness read
    assert stamps[1] - stamps[0] == 5.0 and stamps[2] - stamps[0] == 10.25
    # The model saw the screen saved after the previous step.
    assert Image.open(trajectory.frame_path(trajectory.steps[1])).getpixel((5, 5)) == (255, 0, 0)
    assert (dest / "os" / "task-1" / "result.txt").read_text() == "1.0\n"
    page = subprocess.run([sys.executable, "-m", "agent", "view", str(dest / "os" / "task-1"), "--out", str(tmp_path / "v.html")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert page.returncode == 0, page.stdout + page.stderr
    assert "I list files." in (tmp_path / "v.html").read_text()


def scripted_eval(results: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--backend", "scripted", "--script", str(SOLUTIONS), "--tasks", str(CHROME),
         "--results", str(results), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "300"},
    )


@pytest.mark.browser
def test_a_rerun_with_another_model_never_reports_the_earlier_models_results(tmp_path: Path) -> None:
    results = tmp_path / "r"
    first = scripted_eval(results, "--model", "model-a")
    assert first.returncode == 0, first.stdout + first.stderr
    stamps = {p: p.stat().st_mtime_ns for p in results.glob("*/*/result.txt")}
    other = scripted_eval(results, "--model", "model-b")
    assert other.returncode == 2, other.stdout + other.stderr
    assert f"{results} holds another run (model: model-a → model-b): use another --results folder, or --new-run" in other.stdout
    assert "(finished earlier)" not in other.stdout and "Traceback" not in other.stdout + other.stderr
    assert {p: p.stat().st_mtime_ns for p in results.glob("*/*/result.txt")} == stamps
    assert json.loads((results / "manifest.json").read_text())["identity"]["model"] == "model-a"
    # The same model resumes; --new-run starts model B's run and keeps A's apart.
    same = scripted_eval(results, "--model", "model-a")
    assert same.returncode == 0 and same.stdout.count("(finished earlier)") == 4, same.stdout
    fresh = scripted_eval(results, "--model", "model-b", "--new-run")
    assert fresh.returncode == 0 and "(finished earlier)" not in fresh.stdout, fresh.stdout + fresh.stderr
    assert json.loads((results / "manifest.json").read_text())["identity"]["model"] == "model-b"
    [previous] = (results / "_previous_runs").iterdir()
    assert json.loads((previous / "manifest.json").read_text())["identity"]["model"] == "model-a"
    assert len(list(previous.glob("*/*/result.txt"))) == 4
    page = tmp_path / "report.html"
    report = subprocess.run([sys.executable, "-m", "agent", "eval", "--report", str(results), "--out", str(page)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    assert "model-b" in report.stdout and "│ all  " in report.stdout and "│         4 │" in report.stdout, report.stdout
    # The page lists every task with its status, score, steps and a working link to its trajectory page.
    html = page.read_text()
    links = re.findall(r'<a href="([^"]+)">view</a>', html)
    assert len(links) == 4 and all((tmp_path / link).resolve().is_file() for link in links), links
    assert all(f"chrome/{p.stem}</td>" in html for p in CHROME.glob("*.json"))
    assert html.count('<td class="scored">scored</td><td>1</td>') == 4


@pytest.mark.browser
def test_results_in_osworlds_layout_are_read_by_its_result_walk_and_our_importer(tmp_path: Path) -> None:
    tasks = tmp_path / "suite" / "examples" / "chrome"
    tasks.mkdir(parents=True)
    (tmp_path / "suite" / "files").symlink_to(SUITE / "files")  # the tasks' files, where their relative paths lead
    for source in CHROME.glob("*.json"):
        (tasks / source.name).write_text(source.read_text())
    unknown = json.loads((CHROME / "open-pricing-page.json").read_text())
    unknown.update(id="needs-unknown", evaluator=dict(unknown["evaluator"], func="no_such_metric"))
    (tasks / "needs-unknown.json").write_text(json.dumps(unknown))
    out = tmp_path / "osworld"
    done = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--backend", "scripted", "--script", str(SOLUTIONS), "--tasks", str(tasks),
         "--results", str(tmp_path / "r"), "--model", "org/kimi", "--osworld-results", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The walk of OSWorld's show_result.get_result: RESULT/<action_space>/<observation>/<model>/<domain>/<id>/result.txt
    target = out / "pyautogui" / "screenshot" / "org/kimi"
    found = {example.name: float((example / "result.txt").read_text())
             for domain in target.iterdir() if domain.is_dir()
             for example in domain.iterdir() if example.is_dir() and (example / "result.txt").exists()}
    assert found == {p.stem: 1.0 for p in CHROME.glob("*.json")}  # the unsupported task has no result.txt, as theirs
    assert (target / "chrome" / "needs-unknown").is_dir()
    folder = target / "chrome" / "sign-up-form"
    lines = [json.loads(line) for line in (folder / "traj.jsonl").read_text().splitlines()]
    assert {"step_num", "action_timestamp", "action", "response", "reward", "done", "info", "screenshot_file"} <= set(lines[0])
    assert lines[-1]["action"] == "DONE" and lines[-1]["done"] is True
    assert all(re.fullmatch(r"\d{8}@\d{12}", line["action_timestamp"]) for line in lines)  # main's %f
    assert all((folder / line["screenshot_file"]).is_file() for line in lines)
    assert any(line["action"].startswith("pyautogui.") for line in lines)
    import av  # the video extra: the episode's frames as OSWorld's recording.mp4

    with av.open(str(folder / "recording.mp4")) as video:
        assert sum(1 for _ in video.decode(video=0)) == len({line["step_num"] for line in lines})
    back = subprocess.run([sys.executable, "-m", "agent", "import", str(target), str(tmp_path / "back")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert back.returncode == 0 and "5 imported, 0 failed" in back.stdout, back.stdout + back.stderr
