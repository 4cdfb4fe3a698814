"""How a scored episode reads on its page: passed, partly scored or failed by score, and why.

An episode that ended with `done` but scored 0 is a failure: the agent believed it finished and
the evaluator disagreed, so the page says so and shows the evaluator's explanation. The
explanation is stored by `eval` beside the trajectory (`<task folder>/explanation.json`, next to
`trajectory/`); episodes recorded before explanations, or outside `eval`, have none and still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.evaluation.results import stored_explanation
from agent.trajectory.liveness import EpisodeStatus
from agent.trajectory.store import Trajectory
from environments.tasks.explanation import ScoreExplanation

Verdict = Literal["passed", "partly", "failed"]


@dataclass(frozen=True)
class ScoreView:
    """The page's reading of a score: the verdict replaces the bare outcome in the summary."""

    score: float
    verdict: Verdict
    label: str
    """The outcome with the verdict: `done · failed by score`, `fail · passed`, …"""
    explanation: ScoreExplanation | None
    """None: nothing was stored with this episode (an earlier recording, or not an `eval` run)."""


def score_view(trajectory: Trajectory, status: EpisodeStatus) -> ScoreView | None:
    """The score's verdict and explanation, or None for an episode with no score."""
    score = trajectory.info.score
    if score is None or status.state != "finished":
        return None
    explanation = stored_explanation(trajectory.folder.parent)
    if explanation is not None and explanation.score != score:  # another run's file, not this episode's
        explanation = None
    verdict: Verdict = "passed" if score >= 1.0 else "failed" if score <= 0.0 else "partly"
    words = {"passed": "passed", "failed": "failed by score", "partly": f"partly scored ({score:g})"}[verdict]
    return ScoreView(score, verdict, f"{status.label} · {words}", explanation)
