"""Run cases through our metrics (in-process) and OSWorld's (the oracle venv, in batches), and compare.

Outcomes agree when both scores are equal within 1e-6 or both sides raise. Where OSWorld's metric
raises and ours scores 0, OSWorld's runner writes no result.txt and its result script leaves the
task out of its mean; ours counts a 0. Those cases are reported apart ("theirs raises"), as are
the differences the oracle's version (PyPI desktop-env 1.0.2) has from OSWorld's main branch,
which we follow (KNOWN_MAIN_DIFFERENCES).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from environments.tasks import metrics as _metrics  # noqa: F401  (registers the metrics)
from environments.tasks.registry import METRICS, call_metric, validated
from tests.environments.tasks.differential.cases import Case

ROOT = Path(__file__).resolve().parents[4]
ORACLE_PYTHON = ROOT / ".venv-osworld" / "bin" / "python"
WORKER = Path(__file__).with_name("oracle_worker.py")
BATCH = 400
"""Cases per oracle process: one import of OSWorld's metric modules (~3 s) serves a whole batch."""

KNOWN_MAIN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("compare_table", "scrolled"): "freeze panes: main compares the frozen rows/columns (xSplit/ySplit); "
    "1.0.2 compares the pane's top-left visible cell, which moves on scrolling",
    (
        "compare_csv",
        "bom",
    ): "CSV text: main decodes UTF-8 with a byte-order mark first; 1.0.2 tried plain UTF-8 "
    "first, so the BOM stayed in the first line",
    ("compare_table", "bom"): "sheet_print reads the CSV exports as compare_csv does (main: BOM dropped)",
    (
        "compare_pptx_files",
        "empty_box",
    ): "main skips the size check for two shapes without text; 1.0.2 does not",
    (
        "compare_pptx_files",
        "empty_run",
    ): "main ignores runs without text in blank paragraphs; 1.0.2 counts them",
    ("compare_pptx_files", "indent"): "main treats indent levels 0 and 1 as the same; 1.0.2 does not",
    ("compare_config", "file_near"): "main's containment_ok (on by default) accepts a JSON subset; 1.0.2 "
    "has no such option",
    ("check_brightness_decrease_and_structure_sim", "resized"): "main's own function scores 0 as ours does "
    "(checked by running main's code); 1.0.2 scores 1",
}
"""(metric, case kind) where the oracle follows PyPI 1.0.2 and we follow OSWorld's main branch."""


OPEN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("check_auto_saving_time", kind): "OSWorld returns None for an unreadable file (its runner writes "
    "'None' as the result); ours 0"
    for kind in ("missing", "empty", "unicode", "wrong_type")
}
"""Disagreements kept on purpose, each with its reason; reported as "open" so they stay visible."""


@dataclass(frozen=True)
class Outcome:
    score: float | None = None
    raised: str | None = None
    missing: bool = False

    def agrees(self, other: Outcome) -> bool:
        if self.raised or other.raised:
            return bool(self.raised) and bool(other.raised)
        if self.score is None or other.score is None:
            return self.score == other.score
        return abs(self.score - other.score) <= 1e-6

    def show(self) -> str:
        return (
            f"raises {self.raised}"
            if self.raised
            else "no such metric"
            if self.missing
            else f"{self.score!r}"
        )


def ours(case: Case) -> Outcome:
    """Our score as the scorer computes it (a FileNotFoundError counts 0 there)."""
    entry = METRICS[case.metric]
    states = (case.result, case.expected) if case.has_expected else (case.result,)
    try:
        options = validated(entry, case.options, f"metric {case.metric}")
        return Outcome(score=call_metric(entry, states, options))
    except FileNotFoundError:
        return Outcome(score=0.0)
    except Exception as err:  # noqa: BLE001 - any raise is an outcome to compare
        return Outcome(raised=f"{type(err).__name__}: {err}"[:300])


def theirs(cases: list[Case], work: Path) -> dict[str, Outcome]:
    """OSWorld's outcomes, from worker processes in the oracle venv, run in `work` (some metrics write
    next to a relative result path)."""
    found: dict[str, Outcome] = {}
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore"}
    for start in range(0, len(cases), BATCH):
        batch = [case.wire() for case in cases[start : start + BATCH]]
        done = subprocess.run(
            [str(ORACLE_PYTHON), str(WORKER)],
            input=json.dumps(batch),
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=False,
            cwd=work,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the oracle worker failed: {done.stderr[-2000:]}")
        for item in json.loads(done.stdout):
            found[item["id"]] = Outcome(item.get("score"), item.get("raised"), item.get("missing", False))
    return found


@dataclass
class Comparison:
    case: Case
    ours: Outcome
    theirs: Outcome

    @property
    def verdict(self) -> str:
        if self.theirs.missing or (self.theirs.raised or "").startswith("StubbedDependency"):
            return "no oracle"
        if self.ours.agrees(self.theirs):
            return "agree"
        if self.theirs.raised and self.ours.score == 0.0:
            return "theirs raises"
        if (self.case.metric, self.case.kind) in KNOWN_MAIN_DIFFERENCES:
            return "follows main"
        if (self.case.metric, self.case.kind) in OPEN_DIFFERENCES:
            return "open"
        return "differ"


def compare(cases: list[Case], work: Path) -> list[Comparison]:
    """Both sides on every case, each in a current folder of its own under `work`: a relative result
    path (the unicode case) must not find a file the other side's metrics wrote there."""
    (work / "theirs").mkdir(exist_ok=True)
    (work / "ours").mkdir(exist_ok=True)
    oracle = theirs(cases, work / "theirs")
    with contextlib.chdir(work / "ours"):
        return [Comparison(case, ours(case), oracle[case.id]) for case in cases]


VERDICTS = ["agree", "theirs raises", "follows main", "open", "differ", "no oracle"]


def report(comparisons: list[Comparison], out: object = sys.stdout, examples: int = 3) -> None:
    """Agreement per metric, then up to `examples` cases of each disagreement kind per metric."""
    by_metric: dict[str, Counter[str]] = defaultdict(Counter)
    for c in comparisons:
        by_metric[c.case.metric][c.verdict] += 1
    print(f"{'metric':44} {'cases':>6} {'agree':>7} " + " ".join(f"{v:>13}" for v in VERDICTS[1:]), file=out)
    total: Counter[str] = Counter()
    for metric in sorted(by_metric):
        counts = by_metric[metric]
        total.update(counts)
        n = sum(counts.values())
        print(
            f"{metric:44} {n:6d} {100 * counts['agree'] / n:6.1f}% "
            + " ".join(f"{counts[v]:13d}" for v in VERDICTS[1:]),
            file=out,
        )
    n = sum(total.values())
    print(
        f"{'all':44} {n:6d} {100 * total['agree'] / max(n, 1):6.1f}% "
        + " ".join(f"{total[v]:13d}" for v in VERDICTS[1:]),
        file=out,
    )
    shown: Counter[tuple[str, str, str]] = Counter()
    for c in comparisons:
        if c.verdict == "agree":
            continue
        key = (c.case.metric, c.verdict, c.case.kind)
        shown[key] += 1
        if shown[key] <= examples:
            print(
                f"  {c.verdict}: {c.case.metric} task {c.case.task} [{c.case.kind}] "
                f"ours {c.ours.show()} / theirs {c.theirs.show()}",
                file=out,
            )
