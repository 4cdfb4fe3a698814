"""The browser's cases of `benchmarks.settle`: the pages of `benchmarks.slow_pages` in Chromium.

Ground truth is the page's own: every change its scripts make records its time, so "when the UI
last changed" is known to the millisecond; the settled screenshot is also compared with one taken
`observe` s later (a blinking text caret masked). Rules: `idle` watches the page
(`environments.page_activity`, what `BrowserEnv` does), `frames` is the earlier rule (screenshots
every 30 ms until two are identical); `patient` has no browser form and measures nothing here.
"""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from benchmarks.settle import PAUSES, Change, Row, changed_box
from benchmarks.slow_pages import CASES, LAST_RENDER, SIZE, Case, SlowPages
from environments.browser import SETTLE_MAX_SECONDS, BrowserEnv
from environments.settle import poll_until_identical

FRAMES_INTERVAL = 0.03


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _trial(env: BrowserEnv, site: SlowPages, case: Case, rule: str, observe: float) -> Row:
    env.reset(options={"url": site.url})
    for action in case.actions[:-1]:
        env.perform(action)
    time.sleep(0.3)
    called = time.time()
    if rule == "idle":
        result = env.perform(case.actions[-1])
        returned = time.time()
        executed = called + result.timings.execute
        settled = np.asarray(env.last_screenshot.image)
        stable = bool(result.settle and result.settle.stable)
    else:
        env.executor.execute(case.actions[-1])
        executed = time.time()
        polled = poll_until_identical(env._grab, FRAMES_INTERVAL, time.monotonic() + SETTLE_MAX_SECONDS)
        returned = time.time()
        settled, stable = _pixels(polled.data), polled.stable
    time.sleep(observe)
    last = env.page.evaluate(LAST_RENDER) / 1000 or None
    box = changed_box(settled, _pixels(env._grab()))
    differs = box is not None and not Change(0.0, box).caret
    adaptive = returned - executed
    ui_done = last - executed if last is not None and last >= called else None
    early = differs or (ui_done is not None and last > returned)
    return Row(
        "browser", case.name, round(adaptive, 3), round(ui_done, 3) if ui_done is not None else None,
        round(returned - last, 3) if ui_done is not None and last <= returned else None,
        early, stable,
        {f"{p:g}s": ui_done is not None and ui_done > p for p in PAUSES},
        {f"{p:g}s": round(p - adaptive, 3) for p in PAUSES},
        [(round(ui_done, 3), box)] if ui_done is not None and box is not None else [],
    )


def measure_browser(rule: str, rounds: int, observe: float) -> list[Row]:
    """Every case `rounds` times, each on the index page loaded afresh."""
    if rule not in ("idle", "frames"):
        return []
    rows = []
    with SlowPages() as site:
        env = BrowserEnv(*SIZE)
        try:
            _trial(env, site, CASES[0], rule, 0.0)  # warm-up: the first action after Chromium starts is slower
            for _ in range(rounds):
                rows.extend(_trial(env, site, case, rule, observe) for case in CASES)
        finally:
            env.close()
    return rows
