"""Run every benchmark (or the named ones), each in its own process; figures go to benchmarks/results/.

    .venv/bin/python -m benchmarks [NAME ...]

Each benchmark is also runnable alone: `.venv/bin/python -m benchmarks.NAME --help`.
`osworld_interop` is not included: it needs a checkout of OSWorld's VM server.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = {
    "prompt_tokens": "new (uncached) prompt tokens per step over a 30-step episode",
    "encode": "screenshot encoding time, size and fidelity per format",
    "step_overhead": "framework time per step vs the OSWorld VM-server path",
    "settle": "adaptive settling vs fixed pauses on real app actions",
    "settle_trace": "the soonest any never-early rule can settle after LibreOffice Calc's actions",
    "eval_workers": "eval of the local task suite with 1 and 4 workers",
    "throughput": "eval steps/s with N = 1, 4, 16, 64 workers and memory per environment",
    "vm": "boot, savevm, per-task revert of a QEMU guest vs a container restart",
    "osworld_differential": "our metrics vs OSWorld's own evaluator code on cases from every real task",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(BENCHMARKS)} (default: all)")
    names = parser.parse_args().names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    failed = []
    for name in names:
        print(f"\n=== {name}: {BENCHMARKS[name]}", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=ROOT, check=False)
        print(f"=== {name}: {'ok' if done.returncode == 0 else f'FAILED ({done.returncode})'} "
              f"in {time.monotonic() - started:.0f} s", flush=True)
        if done.returncode:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
