"""Metrics on the browser's state: open and active tabs, bookmarks, cookies, history, settings,
extensions, desktop shortcuts; and the list checks OSWorld's Chrome tasks use (match_in_list, is_in_list)."""

from __future__ import annotations

import functools
import itertools
import json
import re
from typing import Any
from urllib.parse import urlparse, urlunparse

from environments.tasks.metrics.reference import follows_waa
from environments.tasks.registry import metric

ZOOM_NAMES = {"Zoom Chrome Extension", "Zoom for Google Chrome"}
"""Names the same extension has had in the Chrome Web Store (OSWorld treats them as one)."""


@functools.cache
def _domain_parts() -> Any:
    import tldextract

    # The public-suffix list bundled with tldextract: scoring never reaches the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def normalized_url(url: str, full: bool = True) -> str:
    """OSWorld's URL normal form: http:// when there is no scheme, no `www.` subdomain, no public
    suffix (airbnb.com = airbnb.com.sg), no lone "/" path; query and fragment kept when `full`."""
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+\-.]*://", url):
        url = f"http://{url}"
    parsed = urlparse(url)
    parts = _domain_parts()(parsed.netloc.lower())
    subdomain = "" if parts.subdomain == "www" else parts.subdomain
    host = f"{subdomain}.{parts.domain}" if subdomain else parts.domain
    path = "" if parsed.path == "/" else parsed.path
    return urlunparse((parsed.scheme.lower(), host, path, parsed.params if full else "",
                       parsed.query if full else "", parsed.fragment if full else ""))


def waa_normalized_url(url: str) -> str:
    """WAA's older URL normal form: scheme http when there is none (a host without one parses as a
    path), host lower-cased with every "www." removed, no lone "/" path; the public suffix kept."""
    parsed = urlparse(url)
    path = "" if parsed.path == "/" else parsed.path
    return urlunparse(parsed._replace(scheme=(parsed.scheme or "http").lower(),
                                      netloc=parsed.netloc.lower().replace("www.", ""), path=path))


def same_url(first: str | None, second: str | None) -> bool:
    """OSWorld's compare_urls (WAA's when following it): equal normal forms (two Nones are equal)."""
    if first is None or second is None:
        return first == second
    normal = waa_normalized_url if follows_waa() else normalized_url
    return normal(first) == normal(second)


def _url_of(info: Any) -> Any:
    return info.get("url") if isinstance(info, dict) else info


@metric("is_expected_tabs")
def is_expected_tabs(open_tabs: list[dict[str, str]] | None, rule: dict[str, Any]) -> float:
    """1 when the open tabs are the expected URLs: as many, and each expected one among them. No tab
    list (None) scores 0; following WAA it raises, as WAA's older version does."""
    if open_tabs is None and follows_waa():
        raise TypeError("is_expected_tabs: no tab list (WAA's harness leaves the task out)")
    if not open_tabs or rule["type"] != "url":
        return 0.0
    actual = [tab["url"] for tab in open_tabs]
    expected = rule["urls"]
    return float(len(actual) == len(expected) and all(any(same_url(e, a) for a in actual) for e in expected))


@metric("is_expected_active_tab")
def is_expected_active_tab(active: Any, rule: dict[str, Any]) -> float:
    """1 when the active tab (its info or its URL) is at `rule["url"]`."""
    if not active or rule["type"] != "url":
        return 0.0
    return float(same_url(rule["url"], _url_of(active)))


@metric("is_expected_active_tab_approximate")
def is_expected_active_tab_approximate(active: Any, rule: dict[str, Any]) -> float:
    """As is_expected_active_tab, comparing the URLs as written but without their queries."""
    if not active or rule["type"] != "url":
        return 0.0

    def without_query(url: str) -> str:
        return urlunparse(urlparse(url)._replace(query=""))

    return float(without_query(rule["url"]) == without_query(_url_of(active)))


@metric("is_expected_search_query")
def is_expected_search_query(active: dict[str, str] | None, rules: dict[str, Any]) -> float:
    """1 when the active tab's URL matches `rules["expect"]["pattern"]`."""
    if not active:
        return 0.0
    return float(re.search(rules["expect"]["pattern"], active["url"]) is not None)


def _bar(bookmarks: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in bookmarks["bookmark_bar"]["children"] if item["type"] == kind]


@metric("is_expected_bookmarks")
def is_expected_bookmarks(bookmarks: Any, rule: dict[str, Any]) -> float:
    """Bookmark-bar folders or URLs are exactly the expected set (WAA: include it);
    `liked_authors_websites_urls`: the "Liked Authors" folder holds one URL per author (each author
    may give alternatives)."""
    if not bookmarks:
        return 0.0
    kind = rule["type"]
    # OSWorld wants exactly the expected folders or URLs on the bar; WAA only wants them among them.
    matches = set.issubset if follows_waa() else set.__eq__
    if kind == "bookmark_bar_folders_names":
        return float(matches(set(rule["names"]), {item["name"] for item in _bar(bookmarks, "folder")}))
    if kind == "bookmark_bar_websites_urls":
        return float(matches(set(rule["urls"]), {item["url"] for item in _bar(bookmarks, "url")}))
    if kind == "liked_authors_websites_urls":
        folder = next((item for item in _bar(bookmarks, "folder") if item["name"] == "Liked Authors"), None)
        if folder is None:
            return 0.0
        urls = {item["url"] for item in folder["children"] if item["type"] == "url"}
        choices = [[url] if isinstance(url, str) else url for url in rule["urls"]]
        return float(any(set(combination) == urls for combination in itertools.product(*choices)))
    raise TypeError(f"is_expected_bookmarks: rule type {kind!r} is not supported")


@metric("is_cookie_deleted")
def is_cookie_deleted(cookies: list[tuple[Any, ...]], rule: dict[str, Any]) -> float:
    """1 when no cookie's host (column 2 of Chrome's cookies table) is one of `rule["domains"]`."""
    if rule["type"] != "domains":
        raise TypeError(f"is_cookie_deleted: rule type {rule['type']!r} is not supported")
    hosts = [cookie[1] for cookie in cookies]
    return float(not any(same_url(domain, host) for domain in rule["domains"] for host in hosts))


@metric("check_history_deleted")
def check_history_deleted(history: list[tuple[Any, ...]], rule: dict[str, Any]) -> float:
    """1 when no history URL contains one of `rule["keywords"]`."""
    if rule["type"] != "keywords":
        raise TypeError(f"check_history_deleted: rule type {rule['type']!r} is not supported")
    return float(not any(keyword in row[0] for keyword in rule["keywords"] for row in history))


@metric("check_font_size")
def check_font_size(font_size: dict[str, Any], rule: dict[str, Any]) -> float:
    """The default font size equals `value`, or lies strictly between `min` and `max`."""
    size = font_size["default_font_size"]
    if rule["type"] == "value":
        return float(size == rule["value"])
    if rule["type"] == "range":
        return float(rule["min"] < size < rule["max"])
    raise TypeError(f"check_font_size: rule type {rule['type']!r} is not supported")


@metric("check_enabled_experiments")
def check_enabled_experiments(enabled: list[str], rule: dict[str, Any]) -> float:
    """1 when the enabled chrome://flags experiments, "@<choice>" suffixes dropped, are exactly
    `rule["names"]` in the same order (the only rule type, "names")."""
    if rule["type"] != "names":
        raise TypeError(f"check_enabled_experiments: rule type {rule['type']!r} is not supported")
    return float([experiment.split("@")[0] for experiment in enabled] == rule["names"])


@metric("is_added_to_steam_cart")
def is_added_to_steam_cart(page: dict[str, str], rule: dict[str, Any]) -> float:
    """1 when the cart page's HTML names every item."""
    return float(all(item in page["content"] for item in rule["items"]))


@metric("is_expected_installed_extensions")
def is_expected_installed_extensions(installed: Any, expected: dict[str, Any]) -> float:
    """1 when every expected extension name is installed (the Zoom extension under either name)."""
    if not installed:
        return 0.0

    def canonical(name: str) -> str:
        return min(ZOOM_NAMES) if name in ZOOM_NAMES else name

    return float({canonical(n) for n in expected["expected"]} <= {canonical(n) for n in installed})


@metric("is_shortcut_on_desktop")
def is_shortcut_on_desktop(shortcuts: dict[str, str], rule: dict[str, Any]) -> float:
    """A launcher on the Desktop whose Name (type "name") or Exec (type "exec") line matches: equal,
    or one contained in the other (names ignoring case). WAA's older version: a line "Name=<name>"
    exactly, or (type "description") a JSON shortcut whose data.description contains the text."""
    kind = rule["type"]
    if follows_waa():
        return _waa_shortcut_on_desktop(shortcuts, rule)
    if kind not in ("name", "exec"):
        raise TypeError(f"is_shortcut_on_desktop: rule type {kind!r} is not supported")
    key = "Name=" if kind == "name" else "Exec="
    wanted = rule[kind]
    for content in shortcuts.values():
        if f"{key}{wanted}\n" in content:
            return 1.0
        for line in content.split("\n"):
            if not line.startswith(key):
                continue
            actual = line[len(key):]
            a, b = (actual.lower(), wanted.lower()) if kind == "name" else (actual, wanted)
            if a == b or b in a or a in b:
                return 1.0
    return 0.0


def _waa_shortcut_on_desktop(shortcuts: dict[str, str], rule: dict[str, Any]) -> float:
    kind = rule["type"]
    if kind == "name":
        return float(any(f"Name={rule['name']}\n" in content for content in shortcuts.values()))
    if kind != "description":
        raise TypeError(f"is_shortcut_on_desktop: rule type {kind!r} is not supported")
    for content in shortcuts.values():
        try:
            if rule["description"] in json.loads(content)["data"]["description"]:
                return 1.0
        except (ValueError, TypeError, KeyError, IndexError):
            continue  # WAA skips a shortcut it cannot read so, whatever the reason
    return 0.0


@metric("match_in_list")
def match_in_list(result: Any, rules: dict[str, Any]) -> float:
    """1 when the result is one of `rules["expected"]`."""
    return float(result in rules["expected"])


@metric("is_in_list")
def is_in_list(result: Any, rules: dict[str, Any]) -> float:
    """1 when `rules["expected"]` is one of the result's items (or a substring of a string result)."""
    return float(rules["expected"] in result)
