"""Getters that read the browser: the active tab, its URL and query, open tabs, the accessibility tree."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from environments.tasks.context import TaskContext
from environments.tasks.model import GetterConfig
from environments.tasks.registry import getter


@getter("active_tab_info")
def get_active_tab_info(context: TaskContext, _config: GetterConfig) -> dict[str, str] | None:
    """{"title", "url", "content"} of the tab being looked at, or None when no tab is open."""
    active = context.machine.tabs().active()
    if active is None:
        return None
    tab, html = active
    return {"title": tab.title, "url": tab.url, "content": html}


@getter("active_url_from_accessTree")
def get_active_url(context: TaskContext, _config: GetterConfig) -> str | None:
    """The active tab's URL. OSWorld reads it from the address bar and prefixes `goto_prefix`
    to the scheme-less text shown there; DevTools gives the full URL, so no prefix is needed."""
    active = context.machine.tabs().active()
    return active[0].url if active else None


@getter("active_tab_url_parse")
def get_active_tab_url_parse(context: TaskContext, config: GetterConfig) -> dict[str, Any] | None:
    """Query parameters `parse_keys` of the active URL ('' when absent), keys renamed by
    `replace`, values split on commas with `split_list`."""
    url = get_active_url(context, config)
    if url is None:
        return None
    query = parse_qs(urlsplit(url).query)
    fields = config.fields
    params: dict[str, Any] = {key: query.get(key, [""])[0] for key in fields["parse_keys"]}
    for old, new in (fields.get("replace") or {}).items():
        params[new] = params.pop(old)
    if fields.get("split_list", False):
        params = {key: value.split(",") for key, value in params.items()}
    return params


@getter("open_tabs_info")
def get_open_tabs_info(context: TaskContext, _config: GetterConfig) -> list[dict[str, str]]:
    return [{"title": tab.title, "url": tab.url} for tab in context.machine.tabs().all()]


@getter("accessibility_tree")
def get_accessibility_tree(context: TaskContext, _config: GetterConfig) -> str | None:
    """The accessibility tree of what is in front: a browser page's ARIA snapshot (desktop
    applications' trees need AT-SPI, which local environments do not provide)."""
    return context.machine.accessibility_tree()
