"""What a browser page is doing right now, beyond its pixels: requests in flight, DOM changes,
animation frames and short timers about to fire — and the settle rule built on them.

Comparing screenshots ends early on a page that pauses mid-update: a click whose handler waits
350 ms on a timer, a fetch that answers after half a second, a link whose next page is slow to
come. Those pauses are visible from inside: the page has a request in flight, a `setTimeout`
about to fire, an animation frame requested, or a document still loading. `INSTRUMENT` (installed
in every document of a context before its own scripts) records them; `PageActivity` adds the
requests Playwright reports for the context; `wait_until_page_idle` waits until none is left.

The timers watched are the short ones (`TIMER_SOON_MS`), as on the desktop: a clock ticking every
second or a poll every 30 s is not part of the action's update. A page that never stops (an
endless animation, a ticker updating every 100 ms) holds the rule until its cap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

TIMER_SOON_MS = 1000
"""A `setTimeout` due within this many ms is part of the update under way (a debounce, a delayed
render); a longer one is a page's own schedule."""
LONG_REQUEST = 2.0
"""Seconds after which a request still in flight no longer holds settling: a long poll or an event
stream never ends, and the screen does not wait for it."""

INSTRUMENT = """(() => {
  if (window.__kimiActivity) return;
  const now = () => performance.now();
  let changedAt = now(), frameAt = -Infinity;
  const due = new Map();
  const setTimer = window.setTimeout, clearTimer = window.clearTimeout, frame = window.requestAnimationFrame;
  new MutationObserver(() => { changedAt = now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  window.setTimeout = function (handler, delay, ...rest) {
    const ms = Number(delay) || 0;
    if (typeof handler !== "function" || ms > %(soon)d) return setTimer.call(window, handler, delay, ...rest);
    const id = setTimer.call(window, function (...args) { due.delete(id); return handler.apply(this, args); }, delay, ...rest);
    due.set(id, now() + ms);
    return id;
  };
  window.clearTimeout = function (id) { due.delete(id); return clearTimer.call(window, id); };
  window.requestAnimationFrame = function (callback) {
    return frame.call(window, function (stamp) { frameAt = now(); return callback(stamp); });
  };
  Object.defineProperty(window, "__kimiActivity", {enumerable: false, value: () => {
    const t = now();
    let next = Infinity;
    for (const at of due.values()) next = Math.min(next, at - t);
    return [t - changedAt, t - frameAt, next, document.readyState];
  }});
})();""" % {"soon": TIMER_SOON_MS}
"""Installed with `BrowserContext.add_init_script`: runs in every frame before the page's scripts.
`window.__kimiActivity()` answers [ms since the DOM last changed, ms since an animation frame ran,
ms until the next short timer is due (may be negative: late), document.readyState]."""

READ = "() => window.__kimiActivity ? window.__kimiActivity() : null"


@dataclass(frozen=True)
class PageReading:
    """One look at the page, at `at` (time.monotonic())."""

    at: float
    busy: str | None
    """What keeps the page from being idle now ("loading", "request", "dom", "frame", "timer"),
    or None."""
    quiet_for: float = 0.0
    """Seconds since the DOM last changed, an animation frame ran or a request ended."""


@dataclass
class PageActivity:
    """Watches a browser context: `attach(context)` once, then `poll(page)` between looks."""

    quiet: float = 0.06
    """Seconds without a DOM change, an animation frame or a finished request that count as quiet:
    a request's handler renders its answer a few ms after it arrives."""
    _requests: dict[Any, float] = field(default_factory=dict, repr=False)
    _request_ended_at: float = float("-inf")

    def attach(self, context: Any) -> None:
        context.add_init_script(INSTRUMENT)
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        self._requests[request] = time.monotonic()

    def _ended(self, request: Any) -> None:
        self._requests.pop(request, None)
        self._request_ended_at = time.monotonic()

    def poll(self, page: Any) -> PageReading:
        """Look at `page` (its main frame) and the context's requests. A page between two documents
        (the evaluation's context destroyed by a navigation) is loading."""
        from playwright.sync_api import Error

        try:
            state = page.evaluate(READ)  # Playwright delivers the request events during this call
        except Error:
            state = None
        now = time.monotonic()
        quiet_ms = self.quiet * 1000
        if state is None or state[3] != "complete":
            return PageReading(now, "loading")
        if any(now - since < LONG_REQUEST for since in self._requests.values()):
            return PageReading(now, "request")
        since_change, since_frame, timer_in, _ = state
        quiet_for = min(since_change / 1000, since_frame / 1000, now - self._request_ended_at)
        if quiet_for < self.quiet:
            busy = "dom" if since_change < quiet_ms else "frame" if since_frame < quiet_ms else "request"
            return PageReading(now, busy, quiet_for)
        if timer_in is not None and timer_in < TIMER_SOON_MS:
            return PageReading(now, "timer", quiet_for)
        return PageReading(now, None, quiet_for)


@dataclass(frozen=True)
class PageIdle:
    seconds: float
    looks: int
    idle: bool
    """False: the cap ended the wait."""


def wait_until_page_idle(page: Any, activity: PageActivity, max_seconds: float,
                         poll_interval: float = 0.015) -> PageIdle:
    """Look at the page every `poll_interval` s until a look finds nothing busy, at least
    `activity.quiet` s after the call (an action's first request or timer may take a moment to
    begin), or until `max_seconds` pass. What a look cannot see yet (a timer that just fired and
    started a request Playwright has not reported) the caller sees by looking again after it took
    the screenshot (`BrowserEnv._settle`)."""
    started = time.monotonic()
    looks = 0
    while True:
        reading = activity.poll(page)
        looks += 1
        if reading.busy is None and reading.at - started >= activity.quiet:
            return PageIdle(reading.at - started, looks, True)
        if reading.at - started >= max_seconds:
            return PageIdle(reading.at - started, looks, False)
        time.sleep(poll_interval)
