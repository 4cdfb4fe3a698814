"""The trajectory page of a scored episode, opened in headless Chromium: an episode that ended
`done` but scored 0 reads as failed by score with the evaluator's explanation; recordings from
before explanations (or not from `eval`) still load."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from agent.evaluation.results import TaskResult, store_result
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter, read_trajectory
from agent.view import render_html
from environments.tasks.context import TaskContext
from environments.tasks.explanation import ScoreExplanation
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Evaluator
from environments.tasks.scoring import score_explained
from tests.agent.conftest import HOSTILE

pytestmark = pytest.mark.browser
EVALUATOR = Evaluator.model_validate({
    "func": "compare_text_file",
    "result": {"type": "vm_file", "path": "/home/user/todo.txt", "dest": "todo.txt"},
    "expected": {"type": "cloud_file", "path": "todo_expected.txt", "dest": "todo_expected.txt"},
})


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1400, "height": 900})
    yield opened
    opened.close()


def scored_task(folder: Path, written: str, outcome: str = "done", explained: bool = True) -> Path:
    """A task folder as `eval` leaves it: the evaluator run for real on real files, the episode's
    trajectory with its score and, unless not `explained`, the stored explanation beside it."""
    task_dir, home = folder / "task", folder / "work" / "home"
    task_dir.mkdir(parents=True)
    home.mkdir(parents=True)
    (task_dir / "todo_expected.txt").write_text("bread\nbuy milk\n")
    (home / "todo.txt").write_text(written)
    machine = LocalMachine(home=home, cache_dir=folder / "work" / "cache", screen_size=(1280, 800))
    try:
        context = TaskContext(machine, machine.cache_dir, folder / "downloads", task_dir=task_dir)
        value = score_explained(EVALUATOR, context, False)
    finally:
        machine.close()
    return recorded(folder, value, outcome, explained)


def recorded(folder: Path, value: ScoreExplanation, outcome: str = "done", explained: bool = True) -> Path:
    writer = TrajectoryWriter(folder / "trajectory", EpisodeInfo(
        instruction="Add 'buy milk' to the list and save.", model="replay", env="xvfb",
        started_at=time.time(), task_id=folder.name, domain="text_editor"))
    writer.finish(outcome)  # type: ignore[arg-type]
    writer.record_score(value.score)
    writer.close()
    explanation = value if explained else None
    store_result(folder, TaskResult(folder.name, "text_editor", "scored", value.score, steps=1,
                                    outcome=outcome, explanation=explanation))
    return folder / "trajectory"


def opened(page: Page, trajectory: Path, out: Path) -> Page:
    page.goto(render_html(read_trajectory(trajectory), out).as_uri())
    return page


def test_done_with_score_0_reads_as_failed_by_score_with_its_metric(page: Page, tmp_path: Path) -> None:
    trajectory = scored_task(tmp_path / "mousepad", "bread\n")
    opened(page, trajectory, trajectory / "trajectory.html")
    outcome = page.locator("header.summary .outcome")
    assert outcome.inner_text() == "done · failed by score"
    classes = outcome.get_attribute("class")
    assert "verdict-failed" in classes and "outcome-done" not in classes
    assert page.locator("header .score").inner_text() == "0"
    why = page.locator("details.evaluation")
    assert why.get_attribute("open") is not None and why.locator("summary").inner_text() == (
        "Why it scored 0: the score of its one metric")
    row = why.locator("table.metrics tr").nth(1)
    cells = [row.locator("td").nth(i).inner_text() for i in range(5)]
    assert cells[:3] == ["1", "compare_text_file", "0"]
    assert "vm_file" in cells[3] and "todo.txt' (file, 6 bytes)" in cells[3]
    assert "cloud_file" in cells[4] and "todo_expected.txt' (file, 15 bytes)" in cells[4]
    # the last step's chip is not green: the agent's `done` did not hold
    assert page.locator("header.summary").inner_text().count("failed by score") == 1


def test_a_solved_task_reads_as_passed_and_keeps_its_explanation_folded(page: Page, tmp_path: Path) -> None:
    trajectory = scored_task(tmp_path / "mousepad", "bread\nbuy milk\n")
    opened(page, trajectory, tmp_path / "page.html")
    assert page.locator("header.summary .outcome").inner_text() == "done · passed"
    why = page.locator("details.evaluation")
    assert why.get_attribute("open") is None and "Why it scored 1" in why.locator("summary").inner_text()


def test_an_old_recording_without_explanation_loads_and_reads_as_failed(page: Page, tmp_path: Path) -> None:
    trajectory = scored_task(tmp_path / "mousepad", "bread\n", explained=False)
    assert not (tmp_path / "mousepad" / "explanation.json").exists()
    opened(page, trajectory, tmp_path / "page.html")
    assert page.locator("header.summary .outcome").inner_text() == "done · failed by score"
    assert "No explanation was stored" in page.locator("details.evaluation").inner_text()


def test_an_explanation_of_another_score_is_not_shown_as_this_ones(page: Page, tmp_path: Path) -> None:
    trajectory = scored_task(tmp_path / "mousepad", "bread\n")
    episode = trajectory / "episode.json"
    episode.write_text(episode.read_text().replace('"score": 0.0', '"score": 1.0'))
    opened(page, trajectory, tmp_path / "page.html")
    assert page.locator("header.summary .outcome").inner_text() == "done · passed"
    assert page.locator("details.evaluation").count() == 0


def test_an_episode_with_no_score_shows_its_outcome_as_before(page: Page, tmp_path: Path) -> None:
    writer = TrajectoryWriter(tmp_path / "run", EpisodeInfo(instruction="look", model="m", env="xvfb",
                                                            started_at=time.time()))
    writer.finish("done")
    writer.close()
    opened(page, tmp_path / "run", tmp_path / "page.html")
    outcome = page.locator("header.summary .outcome")
    assert outcome.inner_text() == "done" and "outcome-done" in outcome.get_attribute("class")
    assert page.locator("details.evaluation").count() == 0


def test_values_from_the_task_are_shown_as_text(page: Page, tmp_path: Path) -> None:
    evaluator = Evaluator.model_validate({"func": "exact_match", "result": {"type": "rule", "rules": HOSTILE},
                                          "expected": {"type": "rule", "rules": {"expected": "x"}}})
    trajectory = recorded(tmp_path / "rule", score_explained(evaluator, None, False))
    problems: list[str] = []
    page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
    html = render_html(read_trajectory(trajectory), tmp_path / "page.html")
    assert HOSTILE not in html.read_text(encoding="utf-8")
    page.goto(html.as_uri())
    assert page.evaluate("window.__pwned") is None and problems == []
    assert HOSTILE in page.locator("table.metrics").inner_text()
