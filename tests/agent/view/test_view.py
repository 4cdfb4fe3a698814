"""The HTML page of a real trajectory, opened in headless Chromium (Debian's, via Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from typer.testing import CliRunner

from agent.trajectory.store import Trajectory
from agent.view import render_html
from tests.agent.conftest import HOSTILE
from tests.agent.trajectory.helpers import cli

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(browser: Browser) -> Iterator:
    pages: list[Page] = []

    def open_(path: Path) -> tuple[Page, list[str]]:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda err: problems.append(str(err)))
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(path.as_uri())
        pages.append(page)
        return page, problems

    yield open_
    for page in pages:
        page.close()


def _loaded(page: Page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_every_step_shows_its_frame_thought_and_actions(recorded: dict[str, Trajectory], open_page, tmp_path: Path) -> None:
    trajectory = recorded["thinking"]
    page, problems = open_page(render_html(trajectory, tmp_path / "page.html"))
    assert page.locator("h1").inner_text() == trajectory.info.instruction  # "<b>" in it is text
    summary = page.locator("header.summary").inner_text()
    for fact in ("done", "replay", "browser", "6", "Ada <script>alert(1)</script>"):
        assert fact in summary
    steps = page.locator("section.step")
    assert steps.count() == len(trajectory.steps) == 6
    for step in trajectory.steps:
        card = page.locator(f"#step-{step.index + 1}")
        card.scroll_into_view_if_needed()
        assert card.locator("img").is_visible() and _loaded(page, f"#step-{step.index + 1} img")
        assert card.locator(".thought").inner_text() == step.thought
        assert card.locator("h2").inner_text().startswith(f"Step {step.index + 1}")
        assert card.locator(".actions li").count() == len(step.actions)
        assert card.locator("g.mark").count() == sum(1 for c in step.coordinates if c is not None)
    # the rejected reply of step 2 is listed with its reason
    assert "not an import" in page.locator("#step-2 details.attempt summary").inner_text()
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert problems == []


def test_model_text_that_looks_like_html_is_shown_as_text_and_never_runs(recorded: dict[str, Trajectory], open_page, tmp_path: Path) -> None:
    html = render_html(recorded["thinking"], tmp_path / "page.html")
    source = html.read_text(encoding="utf-8")
    assert HOSTILE not in source and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in source
    page, problems = open_page(html)
    assert HOSTILE in page.locator("#step-1 .thought").inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#step-1 .thought script, #step-1 .thought img, .answer script").count() == 0
    assert page.locator("#step-1 .captions").inner_text().count("Ada <b>Lovelace</b>") == 1
    assert problems == []


def test_keys_move_between_steps(recorded: dict[str, Trajectory], open_page, tmp_path: Path) -> None:
    page, problems = open_page(render_html(recorded["thinking"], tmp_path / "page.html"))

    def current() -> str:
        page.wait_for_function("document.querySelectorAll('section.step.current').length === 1")
        step = page.locator("section.step.current")
        top = step.evaluate("el => el.getBoundingClientRect().top")
        assert -2 <= top < 900, "the current step is scrolled into view"
        assert page.evaluate("location.hash") == "#" + step.get_attribute("id")
        return step.get_attribute("id")

    page.keyboard.press("ArrowRight")
    assert current() == "step-1"
    page.keyboard.press("j")
    assert current() == "step-2"
    page.keyboard.press("ArrowRight")
    assert current() == "step-3"
    page.keyboard.press("k")
    assert current() == "step-2"
    page.keyboard.press("End")
    assert current() == "step-6"
    page.keyboard.press("ArrowRight")
    assert current() == "step-6"
    page.keyboard.press("ArrowLeft")
    assert current() == "step-5"
    page.keyboard.press("Home")
    assert current() == "step-1"
    assert page.locator(".steps-nav .chip.current").inner_text() == "1"
    assert problems == []


def test_raw_reply_is_collapsible(recorded: dict[str, Trajectory], open_page, tmp_path: Path) -> None:
    trajectory = recorded["thinking"]
    page, _ = open_page(render_html(trajectory, tmp_path / "page.html"))
    raw = page.locator("#step-3 details.raw")
    body = raw.locator("pre").first
    assert not body.is_visible()
    raw.locator("summary").click()
    assert body.is_visible() and body.inner_text() == trajectory.steps[2].response.text
    raw.locator("summary").click()
    assert not body.is_visible()


def test_frames_beside_the_page_load(recorded: dict[str, Trajectory], open_page, tmp_path: Path) -> None:
    trajectory = recorded["instruct"]
    result = CliRunner().invoke(cli(), ["view", str(trajectory.folder), "--out", str(tmp_path / "out" / "p.html"), "--frames-beside"])
    assert result.exit_code == 0, result.output
    frames = sorted(p.name for p in (tmp_path / "out" / "p_frames").iterdir())
    assert frames == ["0000.jpg", "0001.jpg", "0002.jpg", "final.jpg"]
    html = tmp_path / "out" / "p.html"
    assert "data:image" not in html.read_text(encoding="utf-8")
    page, problems = open_page(html)
    for n in (1, 2, 3):
        page.locator(f"#step-{n}").scroll_into_view_if_needed()
        assert _loaded(page, f"#step-{n} img")
    page.locator("#final").scroll_into_view_if_needed()
    assert _loaded(page, "#final img")
    assert "fail" in page.locator(".outcome").inner_text()
    assert problems == []


def test_guard_events_say_in_plain_words_what_a_guard_did(recorded: dict[str, Trajectory], open_page, tmp_path: Path) -> None:
    from agent.trajectory.store import GuardEvent

    trajectory = recorded["thinking"]
    events = {
        0: [GuardEvent(kind="policy", verdict="confirm", reason="looks <b>destructive</b>", action=0,
                       rule="destructive-shell", answer="nobody")],
        1: [GuardEvent(kind="policy", verdict="confirm", reason="asked", action=0, rule="r", answer="yes")],
        2: [GuardEvent(kind="repeat", verdict="warn", reason="the same actions again")],
        3: [GuardEvent(kind="unchanged", verdict="stop", reason="6 steps left the screen unchanged")],
    }
    steps = [s.model_copy(update={"guard": events.get(i, [])}) for i, s in enumerate(trajectory.steps)]
    page, problems = open_page(render_html(trajectory.model_copy(update={"steps": steps}), tmp_path / "page.html"))
    first = page.locator("#step-1 .guard")
    assert first.locator("b").inner_text().lower() == "policy · refused: nobody to confirm"
    assert "looks <b>destructive</b>" in first.inner_text() and "rule destructive-shell" in first.inner_text()
    assert "guard-alarm" in (first.get_attribute("class") or "")
    assert page.locator("#step-1 .problem").first.inner_text().startswith("held back by a guard")
    assert "chip-bad" in (page.locator('.chip[data-step="0"]').get_attribute("class") or "")
    second = page.locator("#step-2 .guard")
    assert second.locator("b").inner_text().lower() == "policy · confirmed by a person"
    assert "guard-alarm" not in (second.get_attribute("class") or "")
    assert page.locator("#step-3 .guard b").inner_text().lower() == "repeat · warning"
    assert page.locator("#step-3 .problem").first.inner_text().startswith("held back by a guard")  # as the loop counts it
    assert page.locator("#step-4 .problem").first.inner_text().startswith("a guard stopped the episode: performed")
    assert page.locator("#step-5 .guard").count() == 0 and problems == []
