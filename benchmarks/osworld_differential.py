"""Every differential case: our metrics against OSWorld's own evaluator code, agreement per metric.

    .ci/setup-oracle && .venv/bin/python -m benchmarks.osworld_differential [--osworld ../shared/osworld]

Builds the cases from every real task in test_all.json (tests/environments/tasks/differential/cases.py),
runs ours in-process and OSWorld's in .venv-osworld, and prints a table: cases per metric, the share
that agree, and the documented kinds of disagreement ("theirs raises": OSWorld's metric raises where
ours scores 0; "follows main": the PyPI release differs from OSWorld's main branch, which we follow),
then the cases that differ otherwise. Exits 1 when any does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from environments.tasks.registry import METRICS
from tests.environments.tasks.differential import cases, harness

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--osworld",
        type=Path,
        default=ROOT.parent / "shared" / "osworld",
        help="OSWorld's evaluation_examples folder (holds test_all.json)",
    )
    parser.add_argument("--examples", type=int, default=3, help="cases shown per kind of disagreement")
    args = parser.parse_args(argv)
    if not (args.osworld / "test_all.json").is_file():
        print(f"osworld_differential: no test_all.json in {args.osworld}", file=sys.stderr)
        return 2
    if not harness.ORACLE_PYTHON.exists():
        print("osworld_differential: no .venv-osworld; run .ci/setup-oracle first", file=sys.stderr)
        return 2
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as work:
        built = cases.build(args.osworld, Path(work), set(METRICS))
        comparisons = harness.compare(built, Path(work))
    print(
        f"{len(built)} cases from {len({c.task for c in built})} tasks in {time.monotonic() - start:.0f} s "
        f"({time.strftime('%Y-%m-%d')})"
    )
    harness.report(comparisons, examples=args.examples)
    return 1 if any(c.verdict == "differ" for c in comparisons) else 0


if __name__ == "__main__":
    sys.exit(main())
