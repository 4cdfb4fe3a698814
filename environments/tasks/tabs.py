"""Browser tabs as OSWorld's chrome setup steps and getters use them.

Two ways in: the pages of our own Playwright browser context (`KimiBrowser-v0`), or a
Chromium on the task's desktop reached over its DevTools port (what OSWorld does in its VM,
with Playwright's `connect_over_cdp`). The active tab is the page the user sees: the env's
page, or over DevTools the one whose document is visible.

`reload` is how OSWorld's `active_tab_info` reads the active tab: not the tab itself but its URL
loaded again in a new page of a new browser context (Playwright's `browser.new_page()`: no
cookies or storage of the user's tabs), read once `load` fired, then closed with its context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

PAGE_TIMEOUT_MS = 60_000
LOAD_TIMEOUT_TITLE = "Load timeout"
"""The title OSWorld reports for a page that did not finish loading in time."""


@dataclass(frozen=True)
class TabInfo:
    title: str
    url: str


class Tabs(Protocol):
    def open(self, urls: list[str]) -> None: ...
    def close(self, urls: list[str]) -> None: ...
    def all(self) -> list[TabInfo]: ...
    def active(self) -> tuple[TabInfo, str] | None:
        """The active tab and its HTML, or None when no tab is open."""
    def reload(self, url: str, timeout_ms: int = PAGE_TIMEOUT_MS) -> tuple[TabInfo, str] | None:
        """`url` loaded in a new page of a new context: its title, final URL and HTML (see above)."""


def same_url(a: str, b: str) -> bool:
    """OSWorld's URL comparison for closing tabs: equal up to a trailing slash and the scheme's case."""
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme.lower(), x.netloc.lower(), x.path.rstrip("/"), x.query) == (
        y.scheme.lower(), y.netloc.lower(), y.path.rstrip("/"), y.query)


class PageTabs:
    """Tabs of a Playwright browser context; `active_page()` names the page being observed."""

    def __init__(self, context: Any, active_page: Callable[[], Any]) -> None:
        self.context = context
        self.active_page = active_page

    def open(self, urls: list[str]) -> None:
        # The first URL replaces a blank observed page; the rest open as new tabs, as in Chrome.
        for url in urls:
            page = self.active_page()
            if page.url not in ("about:blank", ""):
                page = self.context.new_page()
            page.goto(url, timeout=PAGE_TIMEOUT_MS, wait_until="load")

    def close(self, urls: list[str]) -> None:
        for url in urls:
            for page in self.context.pages:
                if same_url(page.url, url):
                    page.close()
                    break

    def all(self) -> list[TabInfo]:
        return [TabInfo(page.title(), page.url) for page in self.context.pages]

    def active(self) -> tuple[TabInfo, str] | None:
        page = self.active_page()
        if page is None or page.is_closed():
            return None
        return TabInfo(page.title(), page.url), page.content()

    def reload(self, url: str, timeout_ms: int = PAGE_TIMEOUT_MS) -> tuple[TabInfo, str] | None:
        browser = self.context.browser
        if browser is None:
            raise ConnectionError("a persistent browser context cannot open a new context")
        return read_in_new_context(browser, url, timeout_ms)


class DevToolsTabs:
    """Tabs of a Chromium reached at its DevTools endpoint; each call connects, then lets go."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def _with_browser(self, use: Callable[[Any], Any]) -> Any:
        from playwright.sync_api import Error, sync_playwright

        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.connect_over_cdp(self.endpoint, timeout=10_000)
            except Error as err:
                raise ConnectionError(f"no Chromium answers at {self.endpoint}: {err}") from None
            try:
                return use(browser)
            finally:
                browser.close()

    def open(self, urls: list[str]) -> None:
        def go(browser: Any) -> None:
            context = browser.contexts[0] if browser.contexts else browser.new_context()
            for url in urls:
                blank = [p for p in context.pages if p.url in ("about:blank", "chrome://newtab/")]
                page = blank[0] if blank else context.new_page()
                page.goto(url, timeout=PAGE_TIMEOUT_MS, wait_until="load")
                page.bring_to_front()

        self._with_browser(go)

    def close(self, urls: list[str]) -> None:
        def shut(browser: Any) -> None:
            for url in urls:
                pages = [p for c in browser.contexts for p in c.pages]
                for page in pages:
                    if same_url(page.url, url):
                        page.close()
                        break

        self._with_browser(shut)

    def all(self) -> list[TabInfo]:
        return self._with_browser(lambda b: [TabInfo(p.title(), p.url) for c in b.contexts for p in c.pages])

    def active(self) -> tuple[TabInfo, str] | None:
        def find(browser: Any) -> tuple[TabInfo, str] | None:
            for page in (p for c in browser.contexts for p in c.pages):
                if page.evaluate("document.visibilityState") == "visible":
                    return TabInfo(page.title(), page.url), page.content()
            return None

        return self._with_browser(find)

    def reload(self, url: str, timeout_ms: int = PAGE_TIMEOUT_MS) -> tuple[TabInfo, str] | None:
        return self._with_browser(lambda browser: read_in_new_context(browser, url, timeout_ms))


def read_in_new_context(browser: Any, url: str, timeout_ms: int) -> tuple[TabInfo, str] | None:
    """OSWorld's reading of a reloaded tab: its title, URL and HTML after `load`; on a timeout, the
    title "Load timeout" with the URL and HTML reached so far; None when the page cannot be loaded
    (an unreachable address, an aborted navigation) or read."""
    from playwright.sync_api import Error
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        try:
            page.goto(url, wait_until="load", timeout=timeout_ms)
        except PlaywrightTimeout:
            return TabInfo(LOAD_TIMEOUT_TITLE, page.url), page.content()
        return TabInfo(page.title(), page.url), page.content()
    except Error:
        return None
    finally:
        context.close()
