"""`BrowserEnv`: a Playwright page in Debian's Chromium; the viewport is the observation.

Points are CSS pixels of the viewport; with a device scale factor above 1 the screenshot
has more physical pixels, and the frame's scale records it.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from actions.errors import first_error
from actions.executors.browser import PlaywrightExecutor
from actions.models import Action
from environments.base import ExecutionResult, ScreenEnv, SettleInfo, TaskOptions, task_options
from environments.chromium import CHROMIUM_ARGS, BrowserStartError, chromium_path
from environments.playwright_driver import start_playwright
from environments.screen import Monitor, Screenshot
from environments.page_activity import PageActivity, wait_until_page_idle
from environments.tasks.machine import LocalMachine
from environments.tasks.tabs import PageTabs

SETTLE_INTERVAL = 0.03
SETTLE_MAX_SECONDS = 3.0
SCREENSHOT_TIMEOUT_MS = SETTLE_MAX_SECONDS * 1000
"""Playwright's default (30 s) once stalled whole steps while a form submission loaded the next page."""


class BrowserLost(RuntimeError):
    """Chromium died or its page closed mid-episode: a new environment is needed."""


class _SharedChromium(threading.local):
    """One Playwright driver and one Chromium per thread, shared by that thread's envs.

    Playwright's sync API runs its own event loop, so a thread can hold only one driver; each
    env gets its own browser context (separate cookies, storage and viewport).
    """

    def __init__(self) -> None:
        self.users = 0
        self.playwright: Any = None
        self.browser: Any = None

    def acquire(self) -> Any:
        from playwright.sync_api import Error

        if self.browser is None:
            self.playwright = start_playwright()
            try:
                self.browser = self.playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
            except Error as err:
                self.playwright.stop()
                self.playwright = None
                raise BrowserStartError(f"Chromium did not start: {err}") from err
        self.users += 1
        return self.browser

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            browser, playwright, self.browser, self.playwright = self.browser, self.playwright, None, None
            browser.close()
            playwright.stop()


_CHROMIUM = _SharedChromium()


class BrowserEnv(ScreenEnv):
    """One page in a headless Chromium launched through Playwright; see `ScreenEnv` for the API."""

    def __init__(
        self,
        width: int = 1280,
        height: int = 800,
        url: str = "about:blank",
        device_scale_factor: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        self.url = url
        self.device_scale_factor = device_scale_factor
        browser = self._browser = _CHROMIUM.acquire()
        try:
            self._context = browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=device_scale_factor
            )
            self._activity = PageActivity()
            self._activity.attach(self._context)
            self.page = self._context.new_page()
        except BaseException:
            _CHROMIUM.release()
            raise
        self._closed = False
        physical = (round(width * device_scale_factor), round(height * device_scale_factor))
        self._monitor = Monitor(0, 0, 0, physical[0], physical[1], device_scale_factor)
        super().__init__(physical[0], physical[1], PlaywrightExecutor(self.page), render_mode)

    def perform(self, action: Action | str) -> ExecutionResult:
        """As `ScreenEnv.perform`; a dead browser or page raises `BrowserLost` naming the cause."""
        from playwright.sync_api import Error

        try:
            return super().perform(action)
        except Error as err:
            if self._browser.is_connected() and not self.page.is_closed():
                raise
            what = "Chromium disconnected (its process died)" if not self._browser.is_connected() else "the page was closed"
            raise BrowserLost(f"{what}: {type(err).__name__}: {first_error(err)}") from err

    def reset(self, *, seed: int | None = None, options: TaskOptions | dict[str, Any] | None = None) -> tuple[dict, dict]:
        typed = task_options(options)
        for page in self._context.pages:
            if page is not self.page:
                page.close()
        # A task opens its own tabs in setup; otherwise the page starts at `url`.
        url = "about:blank" if typed.task is not None else typed.url or self.url
        from playwright.sync_api import Error

        try:
            self.page.goto(url, wait_until="load")
        except Error as err:  # an unreachable host (offline), a refused connection, an unknown scheme
            raise BrowserStartError(f"cannot open {url}: {first_error(err)}") from None
        return super().reset(seed=seed, options=typed)

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        viewport = self.page.viewport_size or {"width": 0, "height": 0}
        return LocalMachine(
            home, cache, (viewport["width"], viewport["height"]),
            tabs_factory=lambda: PageTabs(self._context, lambda: self.page),
        )

    def _grab(self) -> bytes:
        """A screenshot of the viewport; during a navigation Chromium may refuse or stall one, so wait
        for the new page and try again (a few times) before giving up."""
        from playwright.sync_api import Error

        for _ in range(4):
            try:
                return self.page.screenshot(type="png", scale="device", animations="disabled", caret="initial", timeout=SCREENSHOT_TIMEOUT_MS)
            except Error:
                try:
                    self.page.wait_for_load_state("load", timeout=SETTLE_MAX_SECONDS * 1000)
                except Error:
                    time.sleep(SETTLE_INTERVAL)
        return self.page.screenshot(type="png", scale="device", animations="disabled", caret="initial", timeout=SCREENSHOT_TIMEOUT_MS)

    def _decode(self, png: bytes) -> Screenshot:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        return Screenshot(image, self._monitor, time.time())

    def _initial_frame(self) -> Screenshot:
        png = self._grab()
        self._last_png = png
        return self._decode(png)

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        """Wait until the page is idle (`environments.page_activity`: no document loading, request in
        flight, DOM change, animation frame or short timer), take the screenshot, and look once more:
        if anything happened since the screenshot began, wait and take it again (capped)."""
        started = time.monotonic()
        deadline = started + SETTLE_MAX_SECONDS
        looks = 0
        while True:
            idle = wait_until_page_idle(self.page, self._activity, max(deadline - time.monotonic(), 0.0))
            looks += idle.looks
            grab_started = time.perf_counter()
            png = self._grab()
            grab_seconds = time.perf_counter() - grab_started
            if not idle.idle or time.monotonic() >= deadline:
                break
            after = self._activity.poll(self.page)
            looks += 1
            if after.busy is None and after.quiet_for >= grab_seconds:
                break
        before, self._last_png = self._last_png, png
        decode_started = time.perf_counter()
        shot = self._decode(png)
        capture_seconds = grab_seconds + time.perf_counter() - decode_started
        info = SettleInfo(seconds=time.monotonic() - started - capture_seconds, frames=looks, stable=idle.idle,
                          changed=png != before)
        return shot, info, capture_seconds

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._context.close()
            finally:
                _CHROMIUM.release()
        super().close()
