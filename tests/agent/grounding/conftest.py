"""Real scenes for the grounding tests, and the SCRIPTED stand-in model server.

`desktop_scene`: a virtual X desktop with xterm windows (each a solid colour) and Mousepad,
its screenshot, and each window's box from `xwininfo` (checked against the colours in the
screenshot). `web_scene`: two local pages rendered by Debian's Chromium through Playwright,
their screenshots, and element boxes from `locator.bounding_box()`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from environments.virtual_desktop import VirtualDesktop
from tests.agent.grounding.helpers import WEB_VIEWPORT, Box, Scene
from tests.agent.grounding.replay_model import ReplayModel, Scripted

ROOT = Path(__file__).resolve().parents[3]
XTERMS = {  # title: (background, geometry); far apart so no window covers another
    "Alpha terminal": ("red", "40x10+40+40"),
    "Beta terminal": ("green", "40x10+420+40"),
    "Yellow terminal": ("yellow", "12x3+820+40"),
    "Magenta terminal": ("magenta", "12x3+1040+40"),
    "Tiny terminal": ("blue", "8x2+1120+640"),
}
COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "yellow": (255, 255, 0), "magenta": (255, 0, 255),
           "blue": (0, 0, 255)}


@pytest.fixture
def replay_model() -> Iterator[Callable[..., ReplayModel]]:
    started: list[ReplayModel] = []

    def start(script: dict[str, Scripted], delay: float = 0.0) -> ReplayModel:
        started.append(ReplayModel(script, delay).start())
        return started[-1]

    yield start
    for model in started:
        model.stop()


def window_box(desktop: VirtualDesktop, title: str) -> Box:
    """The client area of the window titled `title`, once the window manager has placed it.

    `xdotool getwindowgeometry` and `wmctrl -lG` report this origin shifted by openbox's frame
    (measured: y 120 where the window's pixels start at 100), so the origin comes from xwininfo.
    """
    window = desktop.wait_for_window(title)
    previous: Box | None = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = subprocess.run(["xwininfo", "-id", window], env=desktop.env, capture_output=True, text=True, check=True).stdout
        fields = dict(re.findall(r"^\s*(Absolute upper-left X|Absolute upper-left Y|Width|Height):\s+(-?\d+)", info, re.MULTILINE))
        box = tuple(int(fields[k]) for k in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"))
        if box == previous and "IsViewable" in info:
            return box
        previous = box
        time.sleep(0.1)
    raise AssertionError(f"window {title!r} did not settle")


def colour_box(image: Image.Image, colour: tuple[int, int, int]) -> Box | None:
    pixels = np.array(image.convert("RGB"))
    ys, xs = np.nonzero(np.all(pixels == colour, axis=2))
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def capture(desktop: VirtualDesktop, path: Path) -> Image.Image:
    """A screenshot of `desktop` taken by the project's ScreenCapture in a process on its display."""
    code = f"from environments.screen import ScreenCapture; ScreenCapture().capture().image.save({str(path)!r})"
    subprocess.run([sys.executable, "-c", code], env=desktop.env, cwd=ROOT, check=True, timeout=60)
    return Image.open(path)


@pytest.fixture(scope="session")
def desktop_scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    folder = tmp_path_factory.mktemp("desktop_scene")
    notes = folder / "notes.txt"
    notes.write_text("grounding test\n", encoding="utf-8")
    with VirtualDesktop(1280, 800) as desktop:
        for title, (background, geometry) in XTERMS.items():
            desktop.launch(["xterm", "-title", title, "-bg", background, "-geometry", geometry])
        desktop.launch(["mousepad", str(notes)])
        boxes = {title: window_box(desktop, title) for title in XTERMS}
        boxes["Mousepad"] = window_box(desktop, "Mousepad")
        shot = folder / "desktop.png"
        deadline = time.monotonic() + 10
        while True:  # until every terminal has painted its background where xwininfo says it is
            image = capture(desktop, shot)
            painted = {t: colour_box(image, COLOURS[bg]) for t, (bg, _) in XTERMS.items()}
            if all(painted[t] == boxes[t] for t in XTERMS):
                break
            assert time.monotonic() < deadline, f"window boxes {boxes} do not match the screenshot: {painted}"
            time.sleep(0.2)
        yield Scene({"desktop": shot}, boxes, desktop)


SETTINGS_PAGE = """<!doctype html><html><body style="margin:0;font:20px sans-serif;background:#f4f4f4">
<h1 style="margin:40px">Settings</h1>
<button id=save style="position:absolute;left:120px;top:300px;width:180px;height:56px">Save</button>
<button id=cancel style="position:absolute;left:340px;top:300px;width:180px;height:56px">Cancel</button>
<button id=gear aria-label=Preferences style="position:absolute;left:1480px;top:40px;width:48px;height:48px">
<svg width=32 height=32 viewBox="0 0 32 32"><circle cx=16 cy=16 r=10 stroke=black stroke-width=6 fill=none /></svg>
</button></body></html>"""
MAIL_PAGE = """<!doctype html><html><body style="margin:0;font:20px sans-serif">
<input id=search placeholder="Search mail" style="position:absolute;left:600px;top:380px;width:420px;height:44px">
<button id=star style="position:absolute;left:80px;top:820px;width:44px;height:44px">&#9733;</button>
<a id=pricing href="#" style="position:absolute;left:1300px;top:900px">Pricing</a>
</body></html>"""
WEB_TARGETS = {"settings": ("#save", "#cancel", "#gear"), "mail": ("#search", "#star", "#pricing")}


@pytest.fixture(scope="session")
def web_scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    from playwright.sync_api import sync_playwright

    from environments.chromium import CHROMIUM_ARGS, chromium_path

    folder = tmp_path_factory.mktemp("web_scene")
    images: dict[str, Path] = {}
    boxes: dict[str, Box] = {}
    width, height = WEB_VIEWPORT
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            for name, html in (("settings", SETTINGS_PAGE), ("mail", MAIL_PAGE)):
                page.set_content(html)
                images[name] = folder / f"{name}.png"
                page.screenshot(path=str(images[name]))
                for selector in WEB_TARGETS[name]:
                    box = page.locator(selector).bounding_box()
                    assert box is not None, selector
                    boxes[selector] = (round(box["x"]), round(box["y"]), round(box["width"]), round(box["height"]))
        finally:
            browser.close()
    return Scene(images, boxes)
