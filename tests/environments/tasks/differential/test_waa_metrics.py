"""Our metrics, following WAA (metrics/reference.py), against WindowsAgentArena's own metric functions.

CI cannot reach WAA's code, so WAA's outcomes on our cases (waa_cases.py) are recorded in
waa_metrics.json (waa_oracle.py says how to re-record them). Every case whose outcome differs
must be explained there, and every explanation must still be needed. With KIMI_AGENT_WAA_CHECKOUT
set to WAA's src/win-arena-container and .venv-waa built (.ci/setup-waa-oracle), WAA's code is
also run live and must still give the recorded outcomes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.environments.tasks.differential import waa_cases, waa_oracle


def test_ours_agree_with_the_recorded_waa_outcomes(tmp_path: Path) -> None:
    cases = waa_cases.build(tmp_path / "files")
    recording = waa_oracle.recorded()
    unrecorded = sorted({case.id for case in cases} - set(recording.outcomes))
    assert not unrecorded, f"cases without a recorded WAA outcome (see waa_oracle.py): {unrecorded}"
    (tmp_path / "ours").mkdir()
    differing = waa_oracle.disagreements(cases, waa_oracle.ours(cases, tmp_path / "ours"), recording.outcomes)
    unexplained = {case_id: text for case_id, text in differing.items() if case_id not in recording.explained}
    assert not unexplained, "\n".join(f"{case_id}: {text}" for case_id, text in unexplained.items())
    stale = sorted(set(recording.explained) - set(differing))
    assert not stale, f"explanations no longer needed (drop them from waa_metrics.json): {stale}"
    assert {case.metric for case in cases} >= {
        "check_enabled_experiments", "compare_highlighted_text", "check_edge_font_size",
        "is_url_shortcut_on_desktop", "check_qt_video_resize", "compare_table",
    }


@pytest.mark.skipif(waa_oracle.checkout() is None,
                    reason="set KIMI_AGENT_WAA_CHECKOUT to WAA's src/win-arena-container")
@pytest.mark.skipif(not waa_oracle.WAA_PYTHON.exists(), reason="needs .venv-waa: run .ci/setup-waa-oracle")
def test_waas_own_code_still_gives_the_recorded_outcomes(tmp_path: Path) -> None:
    cases = waa_cases.build(tmp_path / "files")
    (tmp_path / "theirs").mkdir()
    live = waa_oracle.theirs_live(cases, waa_oracle.checkout(), tmp_path / "theirs", tmp_path / "files")
    recorded = waa_oracle.recorded().outcomes
    changed = {case_id: f"live {outcome.show()} / recorded {recorded[case_id].show()}"
               for case_id, outcome in live.items() if not outcome.agrees(recorded[case_id])}
    assert not changed, changed
