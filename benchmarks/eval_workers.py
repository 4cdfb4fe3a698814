"""`kimi-agent eval` on the local suite with 1 and N workers, the model answering after a
fixed latency (a SCRIPTED stand-in with `--latency`: no model is used).

    .venv/bin/python -m benchmarks.eval_workers [--workers 1 4] [--latency 2]

Prints wall time per worker count and writes benchmarks/results/eval_workers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import write_result
from environments.tasks.suite import SOLUTIONS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds before each model answer")
    args = parser.parse_args()
    model = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--solutions", str(SOLUTIONS), "--port", "0",
         "--latency", str(args.latency)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    rows = []
    try:
        base_url = model.stdout.readline().split()[-1] + "/v1"
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as results:
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "agent", "eval", "--base-url", base_url, "--model", "replay",
                     "--results", results, "--workers", str(workers)],
                    cwd=ROOT, capture_output=True, text=True, check=False,
                )
                seconds = time.perf_counter() - started
                summary = json.loads((Path(results) / "summary.json").read_text())
            rows.append({"workers": workers, "seconds": round(seconds, 1), "tasks": summary["scheduled"],
                         "mean_score": summary["mean_score"], "errored": summary["errored"], "exit": done.returncode})
    finally:
        model.terminate()
        model.wait()
    print(f"local suite, model latency {args.latency:g} s per reply, {os.cpu_count()} cores")
    print(f"{'workers':>8} {'seconds':>8} {'tasks':>6} {'score':>6} {'errored':>8}")
    for row in rows:
        print(f"{row['workers']:>8} {row['seconds']:>8} {row['tasks']:>6} {row['mean_score']:>6.2f} {row['errored']:>8}")
    write_result("eval_workers", {"latency": args.latency, "rows": rows})


if __name__ == "__main__":
    main()
