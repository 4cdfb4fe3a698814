"""Getters that read the browser: the active tab, its URL and query, open tabs, the accessibility tree."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from environments.tasks.context import TaskContext
from environments.tasks.parameters import NoParams, UrlParseParams
from environments.tasks.registry import getter


@getter("active_tab_info")
def get_active_tab_info(context: TaskContext, _params: NoParams) -> dict[str, str] | None:
    """{"title", "url", "content"} of the active tab as OSWorld reads it: its URL loaded again in a
    new page of a fresh browser context (no cookies), read after `load` (title "Load timeout" when
    it does not load within 60 s). So a page that differs on a reload — typed text, a DOM changed
    by script, a page behind a login — reads as it loads anew, as on OSWorld. None when no tab is
    open, no browser answers, or the URL cannot be loaded."""
    url = _active_url(context)
    if url is None:
        return None
    try:
        read = context.machine.tabs().reload(url)
    except ConnectionError:
        return None
    if read is None:
        return None
    tab, html = read
    return {"title": tab.title, "url": tab.url, "content": html}


def _active_url(context: TaskContext) -> str | None:
    """The visible tab's full URL (DevTools); None when no tab is open or no browser answers, where
    OSWorld finds no address bar in the accessibility tree."""
    try:
        active = context.machine.tabs().active()
    except ConnectionError:
        return None
    return active[0].url if active else None


@getter("active_url_from_accessTree")
def get_active_url(context: TaskContext, _params: NoParams) -> str | None:
    """The active tab's URL. OSWorld reads it from the address bar and prefixes `goto_prefix`
    to the scheme-less text shown there; DevTools gives the full URL, so no prefix is needed."""
    return _active_url(context)


@getter("active_tab_url_parse", UrlParseParams)
def get_active_tab_url_parse(context: TaskContext, params: UrlParseParams) -> dict[str, Any] | None:
    """Query parameters `parse_keys` of the active URL ('' when absent), keys renamed by
    `replace`, values split on commas with `split_list`."""
    url = _active_url(context)
    if url is None:
        return None
    query = parse_qs(urlsplit(url).query)
    found: dict[str, Any] = {key: query.get(key, [""])[0] for key in params.parse_keys}
    for old, new in params.replace.items():
        found[new] = found.pop(old)
    if params.split_list:
        found = {key: value.split(",") for key, value in found.items()}
    return found


@getter("open_tabs_info")
def get_open_tabs_info(context: TaskContext, _params: NoParams) -> list[dict[str, str]]:
    return [{"title": tab.title, "url": tab.url} for tab in context.machine.tabs().all()]


@getter("accessibility_tree")
def get_accessibility_tree(context: TaskContext, _params: NoParams) -> str | None:
    """The desktop's accessibility tree as OSWorld's server gives it: AT-SPI as XML (see
    `environments.tasks.accessibility`); None when the machine cannot read it, or its VM server
    answers 500 (OSWorld's getter gives None then)."""
    try:
        return context.machine.accessibility_tree()
    except RuntimeError as err:
        if getattr(err, "status", None) == 500:
            return None
        raise
