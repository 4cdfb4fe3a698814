"""Runs OSWorld's own metrics on a batch of cases; executed by the oracle venv's Python (.ci/setup-oracle).

Reads a JSON list of cases on stdin and writes a JSON list of outcomes on stdout, one per case:
{"id", "score"} or {"id", "raised"}. OSWorld's metrics print and log freely, so while they run
standard output is pointed at standard error. Calls follow OSWorld's runner: metric(result,
expected, **options), or metric(result, **options) when the evaluator has no expected side.
This file imports nothing of the project: it runs in another interpreter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys


def main() -> None:
    cases = json.load(sys.stdin)
    out = sys.stdout
    logging.disable(logging.CRITICAL)
    outcomes = []
    with contextlib.redirect_stdout(sys.stderr):
        from desktop_env.evaluators import metrics

        for case in cases:
            fn = getattr(metrics, case["metric"], None)
            if fn is None:
                outcomes.append({"id": case["id"], "missing": True})
                continue
            states = [case["result"], case["expected"]] if case["has_expected"] else [case["result"]]
            try:
                score = fn(*states, **case["options"])
                outcomes.append({"id": case["id"], "score": None if score is None else float(score)})
            except Exception as err:  # noqa: BLE001 - any raise is an outcome to compare
                outcomes.append({"id": case["id"], "raised": f"{type(err).__name__}: {err}"[:300]})
    json.dump(outcomes, out)


if __name__ == "__main__":
    main()
