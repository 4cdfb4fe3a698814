"""`kimi-agent eval --executor ray` on a real two-node Ray cluster on loopback: the local suite on
several actors (real Xvfb desktops, Chromium, LibreOffice), an actor killed mid-task, resume, and
the same scores as local workers. The model is a SCRIPTED stand-in (recorded solutions; no model)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from environments.tasks.suite import SUITE, SUITE_INDEX
from tests.ray.conftest import ROOT, Model, RayCluster

pytest.importorskip("ray", reason="the Ray executor's tests need the 'ray' extra")
pytestmark = [pytest.mark.desktop, pytest.mark.browser]
CHROME = SUITE / "examples" / "chrome"
ACTOR = re.compile(r"worker ray actor pid (\d+) on \S+ \(node (\w+), model (\S+)\)")


def kimi_agent_eval(results: Path, models: list[Model], *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    endpoints = [arg for model in models for arg in ("--base-url", model.base_url)]
    return subprocess.run(
        [sys.executable, "-m", "agent", "eval", *endpoints, "--model", "replay", "--results", str(results), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env={**os.environ, "COLUMNS": "200"},
    )


def on_ray(cluster: RayCluster, *extra: str) -> tuple[str, ...]:
    return ("--executor", "ray", "--ray-address", cluster.address, "--ray-resources", '{"display": 1}',
            "--actor-cpus", "0.5", "--actor-memory", "256M", *extra)


def scores(results: Path) -> dict[str, float]:
    return {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")}


def summary(results: Path) -> dict:
    return json.loads((results / "summary.json").read_text())


def actors_in_logs(results: Path) -> list[tuple[int, str, str]]:
    """(pid, node, endpoint) of the actor of every attempt recorded in the task logs."""
    return [(int(pid), node, url) for log in results.glob("*/*/log.txt")
            for pid, node, url in ACTOR.findall(log.read_text())]


def test_actors_on_two_nodes_score_the_suite_like_local_workers_and_resume(
    ray_cluster: RayCluster, models: list[Model], tmp_path: Path,
) -> None:
    local = kimi_agent_eval(tmp_path / "local", models[:1], "--workers", "2")
    assert local.returncode == 0, local.stdout + local.stderr

    results = tmp_path / "ray"
    done = kimi_agent_eval(results, models, *on_ray(ray_cluster, "--workers", "3"))
    assert done.returncode == 0, done.stdout + done.stderr
    suite = json.loads(SUITE_INDEX.read_text())
    ids = {task_id for domain in suite.values() for task_id in domain}
    assert scores(results) == scores(tmp_path / "local") == dict.fromkeys(ids, 1.0)
    assert (summary(results)["scheduled"], summary(results)["errored"]) == (len(ids), 0)
    # Three actors each holding one of the cluster's three displays: Ray had to use both nodes.
    actors = actors_in_logs(results)
    assert len(actors) == len(ids)
    assert len({pid for pid, _, _ in actors}) == 3 and len({node for _, node, _ in actors}) == 2
    # Both endpoints were dealt out, and both answered.
    assert {url for _, _, url in actors} == {m.base_url for m in models}
    assert all(model.request_count() > 0 for model in models)

    # Resume: finished tasks are kept as they are; the one whose result is gone runs again.
    stamps = {p: p.stat().st_mtime_ns for p in results.glob("*/*/result.txt")}
    (results / "os" / "terminal-write-file" / "result.txt").unlink()
    again = kimi_agent_eval(results, models, *on_ray(ray_cluster, "--workers", "2"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("(finished earlier)") == len(ids) - 1
    assert scores(results) == dict.fromkeys(ids, 1.0)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.parent.name != "terminal-write-file")


def kill_an_actor_mid_task(results: Path, process: subprocess.Popen) -> tuple[int, str]:
    """SIGKILL the actor process of a task whose episode is under way; (its pid, the task id)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        for log in results.glob("*/*/log.txt"):
            text = log.read_text()
            found = ACTOR.search(text)
            if found and (log.parent / "trajectory" / "trajectory.jsonl").exists() and "episode ended" not in text:
                os.kill(int(found[1]), signal.SIGKILL)
                return int(found[1]), log.parent.name
        time.sleep(0.1)
    raise AssertionError("no task was seen running on an actor")


def run_killing_one_actor(cluster: RayCluster, models: list[Model], results: Path, *extra: str) -> tuple[int, str, str]:
    """Run the chrome tasks on 2 actors, killing one mid-task: (its pid, its task, the eval's output)."""
    endpoints = [arg for model in models for arg in ("--base-url", model.base_url)]
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "eval", *endpoints, "--model", "replay", "--results", str(results),
         "--tasks", str(CHROME), *on_ray(cluster, "--workers", "2", *extra)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    try:
        killed, task_id = kill_an_actor_mid_task(results, process)
        output, _ = process.communicate(timeout=400)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert not Path(f"/proc/{killed}").exists()
    return killed, task_id, output


def test_an_actor_killed_mid_task_has_its_task_requeued_and_is_replaced(
    ray_cluster: RayCluster, models: list[Model], tmp_path: Path,
) -> None:
    results = tmp_path / "r"
    killed, task_id, output = run_killing_one_actor(ray_cluster, models, results)
    ids = {p.stem for p in CHROME.glob("*.json")}
    assert scores(results) == dict.fromkeys(ids, 1.0), output
    report = summary(results)
    assert (report["scheduled"], report["finished"], report["errored"]) == (len(ids), len(ids), 0)
    assert [task["task_id"] for task in report["tasks"] if task["requeued"]] == [task_id]
    assert f"chrome/{task_id}: its Ray actor died" in output and "requeued (1/1)" in output
    # The task was finished by another actor, and the dead one was replaced by a new one.
    rerun = ACTOR.search((results / "chrome" / task_id / "log.txt").read_text())
    assert rerun and int(rerun[1]) != killed
    assert "actor 0: " in output and "actor 1: " in output and output.count(": ray actor pid") == 3

    again = kimi_agent_eval(results, models, "--tasks", str(CHROME), *on_ray(ray_cluster, "--workers", "2"))
    assert again.returncode == 0 and again.stdout.count("(finished earlier)") == len(ids), again.stdout


def test_past_the_requeue_bound_the_task_counts_as_errored(
    ray_cluster: RayCluster, models: list[Model], tmp_path: Path,
) -> None:
    results = tmp_path / "r"
    _, task_id, output = run_killing_one_actor(ray_cluster, models, results, "--requeue", "0")
    report = summary(results)
    assert (report["scheduled"], report["finished"], report["errored"]) == (4, 3, 1), output
    assert report["mean_score"] == 0.75  # the errored task stays in the denominator
    errored = next(task for task in report["tasks"] if task["status"] == "errored")
    assert errored["task_id"] == task_id and "Ray actor died 1 time(s)" in errored["error"]
    assert "ActorDiedError" in (results / "chrome" / task_id / "error.txt").read_text()
    assert not (results / "chrome" / task_id / "result.txt").exists()


def test_actors_no_node_can_hold_are_refused_at_once(ray_cluster: RayCluster, models: list[Model], tmp_path: Path) -> None:
    started = time.monotonic()
    done = kimi_agent_eval(tmp_path / "r", models, "--tasks", str(CHROME), "--executor", "ray", "--ray-address",
                           ray_cluster.address, "--ray-resources", '{"windows_vm": 1}')
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no node of the cluster has what actor 0 asks for" in done.stdout and "windows_vm 1" in done.stdout
    assert time.monotonic() - started < 60 and not list((tmp_path / "r").glob("*/*/result.txt"))
