"""Our metrics against OSWorld's own (PyPI desktop-env in .venv-osworld, built by .ci/setup-oracle) on
a seeded sample of the cases built from the real tasks; `python -m benchmarks.osworld_differential` runs all.

Every disagreement must be one of the documented kinds: OSWorld raises where we score 0 (its runner
then writes no result.txt and leaves the task out of its mean), or the oracle's PyPI release
differs from OSWorld's main branch, which we follow. Skips without ../shared or the oracle venv.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.tasks.registry import METRICS
from tests.environments.tasks.differential import cases, harness

OSWORLD = Path(__file__).resolve().parents[5] / "shared" / "osworld"
SEED = 18
"""CI's sample: one real evaluation of every metric, four of its cases each (~450 cases, ~1.5 min)."""

pytestmark = [
    pytest.mark.skipif(not (OSWORLD / "test_all.json").is_file(), reason="needs ../shared/osworld"),
    pytest.mark.skipif(
        not harness.ORACLE_PYTHON.exists(), reason="needs .venv-osworld: run .ci/setup-oracle"
    ),
]


def test_metrics_agree_with_osworlds_own_code(tmp_path: Path) -> None:
    comparisons = harness.compare(cases.build(OSWORLD, tmp_path, set(METRICS), seed=SEED), tmp_path)
    harness.report(comparisons)
    differing = [c for c in comparisons if c.verdict == "differ"]
    assert not differing, "\n".join(
        f"{c.case.metric} task {c.case.task} [{c.case.kind}]: ours {c.ours.show()}, theirs {c.theirs.show()}"
        for c in differing
    )
    assert {c.case.metric for c in comparisons} >= {"compare_table", "compare_pptx_files", "compare_pdfs"}
