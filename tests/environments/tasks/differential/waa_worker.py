"""Runs WindowsAgentArena's own metrics on a batch of cases, in .venv-waa's Python (.ci/setup-waa-oracle).

Usage: waa_worker.py <WAA checkout (src/win-arena-container)> < cases.json > outcomes.json

WAA's metrics package is imported from the checkout as `desktop_env.evaluators.metrics` (its
modules import each other by that name) without running the parent packages' __init__ files,
which pull in the VM controller. Packages its modules import but the recorded cases never reach
(OCR, audio fingerprints, ID3 tags, PDF writing) are stand-ins that raise when used, so a
case reaching one fails loudly instead of scoring. Calls follow WAA's DesktopEnv.evaluate:
metric(result, expected, **options), or metric(result, **options) when the expected state is None.
Outcomes: {"id", "score"} (bools as 0/1, None kept), or {"id", "raised"}. WAA's metrics print and
log freely, so while they run standard output is pointed at standard error.
This file imports nothing of the project: it runs in another interpreter.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import sys
import types
from pathlib import Path

STUBBED = ["easyocr", "acoustid", "mutagen", "mutagen.easyid3", "borb", "borb.pdf"]


class StubbedDependency(RuntimeError):
    """A case reached a package the WAA oracle venv does not install."""


def _stub(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []  # a package, so `from borb.pdf import X` resolves

    def missing(attr: str) -> object:
        if attr.startswith("__"):
            raise AttributeError(attr)

        def call(*args: object, **kwargs: object) -> object:
            raise StubbedDependency(f"{name}.{attr} is stubbed in the WAA oracle venv")

        return call

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def waa_metrics(checkout: Path) -> types.ModuleType:
    for name in STUBBED:
        sys.modules.setdefault(name, _stub(name))
    root = checkout / "client" / "desktop_env"
    for name, path in (("desktop_env", root), ("desktop_env.evaluators", root / "evaluators")):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package
    return importlib.import_module("desktop_env.evaluators.metrics")


def main() -> None:
    checkout = Path(sys.argv[1])
    cases = json.load(sys.stdin)
    out = sys.stdout
    logging.disable(logging.CRITICAL)
    outcomes = []
    with contextlib.redirect_stdout(sys.stderr):
        metrics = waa_metrics(checkout)
        for case in cases:
            fn = getattr(metrics, case["metric"])
            expected = case["expected"] if case["has_expected"] else None
            states = [case["result"]] if expected is None else [case["result"], expected]
            try:
                score = fn(*states, **case["options"])
            except Exception as err:  # noqa: BLE001 - any raise is an outcome to record
                outcomes.append({"id": case["id"], "raised": f"{type(err).__name__}: {err}"[:300]})
                continue
            outcomes.append({"id": case["id"], "score": None if score is None else float(score)})
    json.dump(outcomes, out)


if __name__ == "__main__":
    main()
