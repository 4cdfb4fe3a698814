"""Harness throughput: `kimi-agent eval --workers N` against a model that answers after a fixed
2 s, achieved steps/s against the ideal N / 2, and memory per environment.

    .venv/bin/python -m benchmarks.throughput [--workers 1 4 16 64] [--env static xvfb]

The model is a BENCHMARK HELPER, not a model: the replay server
(`python -m agent.backends.scripted_server --latency 2`) answers every request with the next
reply of a generated solution after sleeping 2 s. Each episode is a generated task: click into
a terminal (xvfb) or the generated screen (static), type `echo …` and a newline `--steps` - 3
times, then write a code to ~/field.txt and finish; the task's evaluator checks the file.

Environments: `static` is `environments/static.py`, a generated screen drawn in memory (no
display), used where a desktop or browser per worker does not fit; `xvfb` is a managed Xvfb +
openbox desktop with an xterm; `browser` is a Playwright Chromium page with a one-field form
(Enter submits it in place: the page lists it and puts it in the URL, where the evaluator
reads the last one). Steady-state steps/s counts the steps that end while every worker has
an episode (from the N-th episode start to the N-th last episode end); end-to-end divides all
steps by the whole run. A run's rows replace the same (env, N) rows of the last results file
and keep the others, each row with its time. Memory: the proportional set size (PSS, shared pages split between
sharers) and RSS of each worker's process tree (worker, Xvfb, window manager, apps), sampled
every 2 s, the peak per worker. Prints a table and writes benchmarks/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.report import RESULTS, write_result
from environments.processes import stop_group

ROOT = Path(__file__).resolve().parents[1]
LATENCY = 2.0
FORM = """<!doctype html><title>Benchmark form</title>
<form id="f"><input name="t" autofocus style="width:90vw;height:40vh;font-size:32px"></form><ol id="sent"></ol>
<script>
// Enter submits without a navigation: the submission goes into the URL and onto the page.
document.getElementById("f").onsubmit = (event) => {
  event.preventDefault();
  const value = event.target.t.value;
  history.replaceState(null, "", "?t=" + encodeURIComponent(value));
  document.getElementById("sent").append(Object.assign(document.createElement("li"), {textContent: value}));
  event.target.t.value = "";
};
</script>
"""


def reply(code: str, thought: str = "Next step.") -> str:
    return f"◁think▷{thought}◁/think▷## Action:\n{thought}\n\n## Code:\n```python\n{code}\n```"


def write_tasks(folder: Path, env: str, episodes: int, steps: int) -> tuple[Path, Path]:
    """`episodes` generated tasks of `steps` steps each, and their solutions; returns both folders."""
    tasks, solutions = folder / "tasks" / "bench", folder / "solutions"
    tasks.mkdir(parents=True)
    solutions.mkdir()
    (folder / "files").mkdir()
    (folder / "files" / "form.html").write_text(FORM)
    config: list[dict] = []
    if env == "xvfb":
        config = [
            {"type": "launch", "parameters": {"command": ["xterm", "-geometry", "100x30+0+0"]}},
            {"type": "execute", "parameters": {"command": ["xdotool", "search", "--onlyvisible", "--class", "xterm"],
                                               "until": {"returncode": 0}}},
        ]
    if env == "browser":
        config = [
            {"type": "upload_file", "parameters": {"files": [
                {"local_path": "../../files/form.html", "path": "/home/user/form.html"}]}},
            {"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["file:///home/user/form.html"]}},
        ]
    for i in range(episodes):
        code = f"code-{i:03d}-{env}"
        instruction = f"Benchmark episode {i:03d}: write {code} to field.txt in the home folder."
        final = f"echo {code} > ~/field.txt"
        evaluator = {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "command": "cat /home/user/field.txt", "shell": True},
            "expected": {"type": "rule", "rules": {"include": [code], "exclude": []}},
        }
        if env == "browser":  # the form's submissions land in the page's URL
            evaluator = {
                "func": "check_direct_json_object",
                "result": {"type": "active_tab_url_parse", "parse_keys": ["t"]},
                "expected": {"type": "rule", "rules": {"expected": {"t": final}}},
            }
        (tasks / f"bench-{i:03d}.json").write_text(json.dumps({
            "id": f"bench-{i:03d}", "snapshot": "benchmark", "instruction": instruction, "source": "benchmarks/throughput.py",
            "config": config, "evaluator": evaluator,
        }))
        replies = [reply("pyautogui.click(0.3, 0.3)", "Click into the terminal.")]
        replies += [reply(f"pyautogui.typewrite('echo step {k}\\n')") for k in range(1, steps - 2)]
        replies.append(reply(f"pyautogui.typewrite({final!r})\npyautogui.press('enter')"))
        replies.append(reply('computer.terminate(status="success", answer="done")', "Done."))
        (solutions / f"bench-{i:03d}.json").write_text(json.dumps({"instruction": instruction, "replies": replies}))
    return tasks, solutions


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # the process ended while we looked
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += tree.get(current, [])
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""  # the process ended while we looked


def _memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in KiB of one process, (0, 0) if it is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0  # the process ended while we looked
    fields = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:] if line.endswith("kB")}
    return fields.get("Pss", 0), fields.get("Rss", 0)


class MemorySampler(threading.Thread):
    """Peak PSS/RSS of each eval worker's process tree (the eval driver's child processes)."""

    def __init__(self, driver: int, period: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.driver, self.period = driver, period
        self.peaks: dict[int, tuple[int, int]] = {}
        self.driver_peak = (0, 0)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.period):
            tree = _children()
            self.driver_peak = max(self.driver_peak, _memory_kib(self.driver))
            # With one worker, eval runs the environment in the driver itself.
            roots = [p for p in tree.get(self.driver, []) if b"spawn_main" in _cmdline(p)] or [self.driver]
            for worker in roots:
                total = [sum(v) for v in zip(*(_memory_kib(p) for p in _descendants(worker, tree)))]
                if len(total) == 2:
                    pss, rss = total
                    self.peaks[worker] = max(self.peaks.get(worker, (0, 0)), (pss, rss))


def steps_of(results: Path) -> list[tuple[float, float]]:
    """(started_at, ended_at) of every step of every episode, one list per episode, flattened by episode."""
    episodes = []
    for trajectory in results.glob("*/*/trajectory/trajectory.jsonl"):
        lines = [json.loads(line) for line in trajectory.read_text().splitlines() if line.strip()]
        steps = [(d["started_at"], d["ended_at"]) for d in lines if "started_at" in d and "index" in d]
        if steps:
            episodes.append(steps)
    return episodes


def measure(env: str, workers: int, steps: int, per_worker: int, python: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        episodes = workers * per_worker
        tasks, solutions = write_tasks(folder, env, episodes, steps)
        model = subprocess.Popen(
            [python, "-m", "agent.backends.scripted_server", "--solutions", str(solutions), "--port", "0",
             "--latency", str(LATENCY)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )
        try:
            base_url = model.stdout.readline().split()[-1] + "/v1"
            results = folder / "results"
            started = time.time()
            driver = subprocess.Popen(
                [python, "-m", "agent", "eval", "--tasks", str(tasks.parent), "--base-url", base_url, "--model", "replay",
                 "--results", str(results), "--workers", str(workers), "--env", env, "--max-steps", str(steps + 2),
                 "--retries", "0"],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
            )
            sampler = MemorySampler(driver.pid)
            sampler.start()
            try:
                _, err = driver.communicate(timeout=1800)
            finally:
                sampler.done.set()
                stop_group(driver)
            wall = time.time() - started
            summary = json.loads((results / "summary.json").read_text())
            per_episode = steps_of(results)
        finally:
            stop_group(model)
    flat = [s for episode in per_episode for s in episode]
    starts = sorted(e[0][0] for e in per_episode)
    ends = sorted(e[-1][1] for e in per_episode)
    window = (starts[min(workers, len(starts)) - 1], ends[-min(workers, len(ends))])
    in_window = sum(1 for _, end in flat if window[0] < end <= window[1])
    steady = in_window / (window[1] - window[0]) if window[1] > window[0] else float("nan")
    first, last = min(s[0] for s in flat), max(s[1] for s in flat)
    step_seconds = [end - start for start, end in flat]
    pss = [p for p, _ in sampler.peaks.values()]
    rss = [r for _, r in sampler.peaks.values()]
    ideal = workers / LATENCY
    return {
        "measured_at": time.strftime("%Y-%m-%d %H:%M %Z"), "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "env": env, "workers": workers, "episodes": summary["scheduled"], "finished": summary["finished"],
        "errored": summary["errored"], "mean_score": summary["mean_score"], "steps": len(flat),
        "ideal_steps_per_s": ideal,
        "steady_steps_per_s": round(steady, 3), "steady_fraction": round(steady / ideal, 3),
        "steady_window_s": round(window[1] - window[0], 1),
        "end_to_end_steps_per_s": round(len(flat) / (last - first), 3),
        "first_step_after_s": round(first - started, 1), "wall_s": round(wall, 1),
        "step_wall_median_s": round(statistics.median(step_seconds), 3),
        "worker_pss_mib_median": round(statistics.median(pss) / 1024, 1) if pss else None,
        "worker_rss_mib_median": round(statistics.median(rss) / 1024, 1) if rss else None,
        "workers_sampled": len(pss),
        "driver_pss_mib": round(sampler.driver_peak[0] / 1024, 1),
        "stderr_tail": err.strip()[-300:] if summary["errored"] else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--env", nargs="+", default=["static", "xvfb", "browser"], choices=["static", "xvfb", "browser"])
    parser.add_argument("--xvfb-max-workers", type=int, default=16, help="skip xvfb runs above this many workers")
    parser.add_argument("--browser-max-workers", type=int, default=16, help="skip browser runs above this many workers")
    parser.add_argument("--steps", type=int, default=12, help="steps per episode (at least 3)")
    parser.add_argument("--episodes-per-worker", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for env in args.env:
        for workers in args.workers:
            if (env == "xvfb" and workers > args.xvfb_max_workers) or (env == "browser" and workers > args.browser_max_workers):
                continue
            row = measure(env, workers, args.steps, args.episodes_per_worker, sys.executable)
            rows.append(row)
            print(f"{env:6s} N={workers:3d}: {row['steady_steps_per_s']:.2f} steps/s of ideal {row['ideal_steps_per_s']:.1f} "
                  f"({row['steady_fraction']:.0%}), score {row['mean_score']:.2f}, {row['errored']} errored, "
                  f"PSS/worker {row['worker_pss_mib_median']} MiB", flush=True)
    print(f"\nmodel: scripted stand-in answering after {LATENCY:g} s (a benchmark helper, no model)")
    head = (f"{'env':6s} {'N':>3s} {'ideal/s':>8s} {'steady/s':>9s} {'%ideal':>7s} {'e2e/s':>7s} {'step s':>7s} "
            f"{'score':>6s} {'err':>4s} {'PSS MiB':>8s} {'RSS MiB':>8s} {'1st step s':>10s}")
    print(head)
    for r in rows:
        print(f"{r['env']:6s} {r['workers']:3d} {r['ideal_steps_per_s']:8.1f} {r['steady_steps_per_s']:9.2f} "
              f"{r['steady_fraction']:7.0%} {r['end_to_end_steps_per_s']:7.2f} {r['step_wall_median_s']:7.3f} "
              f"{r['mean_score']:6.2f} {r['errored']:4d} {r['worker_pss_mib_median'] or 0:8.0f} "
              f"{r['worker_rss_mib_median'] or 0:8.0f} {r['first_step_after_s']:10.1f}")
    write_result("throughput", {"latency_s": LATENCY, "steps_per_episode": args.steps,
                                "episodes_per_worker": args.episodes_per_worker, "rows": merged(rows)})


def merged(rows: list[dict]) -> list[dict]:
    """`rows` plus the rows of the last results file for other (env, N) pairs, each with its own time."""
    path = RESULTS / "throughput.json"
    fresh = {(r["env"], r["workers"]) for r in rows}
    kept = [r for r in json.loads(path.read_text()).get("rows", []) if (r["env"], r["workers"]) not in fresh] if path.exists() else []
    order = {"static": 0, "xvfb": 1, "browser": 2}
    return sorted(kept + rows, key=lambda r: (order.get(r["env"], 9), r["workers"]))


if __name__ == "__main__":
    main()
