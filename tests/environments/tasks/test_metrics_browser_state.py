"""Metrics on the browser's state (metrics/browser_state.py), on values shaped as the getters give them."""

from __future__ import annotations

import pytest

from environments.tasks.metrics.browser_state import (
    check_font_size, check_history_deleted, is_added_to_steam_cart, is_cookie_deleted,
    is_expected_active_tab, is_expected_active_tab_approximate, is_expected_bookmarks,
    is_expected_installed_extensions, is_expected_search_query, is_expected_tabs, is_in_list,
    is_shortcut_on_desktop, match_in_list, normalized_url, same_url,
)


def test_urls_compare_as_osworld_normalizes_them() -> None:
    assert normalized_url("https://www.airbnb.com.sg/") == "https://airbnb"
    assert same_url("www.lonelyplanet.com", "http://lonelyplanet.com/")
    assert not same_url("https://github.com/a", "https://github.com/b")
    assert same_url(None, None) and not same_url(None, "x")


def test_expected_tabs_need_the_same_count_and_each_url() -> None:
    rule = {"type": "url", "urls": ["https://github.com", "https://docs.python.org/3/"]}
    tabs = [{"title": "", "url": "https://github.com/"}, {"title": "", "url": "https://docs.python.org/3/"}]
    assert is_expected_tabs(tabs, rule) == 1.0
    assert is_expected_tabs(tabs + [{"title": "", "url": "about:blank"}], rule) == 0.0
    assert is_expected_tabs([], rule) == 0.0


def test_active_tab_by_info_or_url() -> None:
    rule = {"type": "url", "url": "https://www.drugs.com/npc/"}
    assert is_expected_active_tab({"url": "https://drugs.com/npc/"}, rule) == 1.0
    assert is_expected_active_tab("https://www.drugs.com/npp/", rule) == 0.0
    assert is_expected_active_tab(None, rule) == 0.0
    approximate = {"type": "url", "url": "chrome://password-manager/passwords"}
    assert is_expected_active_tab_approximate("chrome://password-manager/passwords?q=1", approximate) == 1.0


def test_search_query_pattern() -> None:
    rules = {"expect": {"pattern": r"(?i)https?://(?:www\.)?google\.com/search\?q=nereida(?:&|$)"}}
    assert is_expected_search_query({"url": "https://www.google.com/search?q=nereida&x=1"}, rules) == 1.0
    assert is_expected_search_query({"url": "https://www.google.com/search?q=other"}, rules) == 0.0


BOOKMARKS = {"bookmark_bar": {"children": [
    {"type": "folder", "name": "Favorites", "children": []},
    {"type": "url", "name": "t", "url": "https://jalammar.github.io/illustrated-transformer/"},
    {"type": "folder", "name": "Liked Authors", "children": [
        {"type": "url", "url": "https://jimfan.me/"}, {"type": "url", "url": "https://b.example/"}]},
]}}


def test_bookmarks_rules() -> None:
    assert is_expected_bookmarks(BOOKMARKS, {"type": "bookmark_bar_folders_names",
                                             "names": ["Favorites", "Liked Authors"]}) == 1.0
    urls = {"type": "bookmark_bar_websites_urls", "urls": ["https://jalammar.github.io/illustrated-transformer/"]}
    assert is_expected_bookmarks(BOOKMARKS, urls) == 1.0
    liked = {"type": "liked_authors_websites_urls",
             "urls": [["https://x.example/", "https://jimfan.me/"], "https://b.example/"]}
    assert is_expected_bookmarks(BOOKMARKS, liked) == 1.0
    assert is_expected_bookmarks([], liked) == 0.0
    with pytest.raises(TypeError):
        is_expected_bookmarks(BOOKMARKS, {"type": "other"})


def test_cookies_and_history_deleted() -> None:
    cookies = [(1, ".amazon.com", "a"), (2, ".example.org", "b")]
    assert is_cookie_deleted(cookies, {"type": "domains", "domains": [".amazon.com"]}) == 0.0
    assert is_cookie_deleted(cookies[1:], {"type": "domains", "domains": [".amazon.com"]}) == 1.0
    history = [("https://www.youtube.com/watch?v=1", "t", 1)]
    assert check_history_deleted(history, {"type": "keywords", "keywords": ["youtube"]}) == 0.0
    assert check_history_deleted([], {"type": "keywords", "keywords": ["youtube"]}) == 1.0


def test_font_size_cart_extensions_and_lists() -> None:
    assert check_font_size({"default_font_size": 20}, {"type": "range", "min": 16, "max": 99999}) == 1.0
    assert check_font_size({"default_font_size": 16}, {"type": "range", "min": 16, "max": 99999}) == 0.0
    assert check_font_size({"default_font_size": 16}, {"type": "value", "value": 16}) == 1.0
    assert is_added_to_steam_cart({"content": "<b>The Dota 2 Official Soundtrack</b>"},
                                  {"items": ["The Dota 2 Official Soundtrack"]}) == 1.0
    installed = ["Zoom Chrome Extension", "Momentum"]
    renamed = {"expected": ["Zoom for Google Chrome", "Momentum"]}
    assert is_expected_installed_extensions(installed, renamed) == 1.0
    assert is_expected_installed_extensions(installed, {"expected": ["Google Translate"]}) == 0.0
    assert match_in_list("Bing", {"expected": ["Microsoft Bing", "Bing"]}) == 1.0
    assert match_in_list("Google", {"expected": ["Microsoft Bing", "Bing"]}) == 0.0
    folder = "/home/user/Desktop/helloExtension"
    assert is_in_list([folder], {"expected": folder}) == 1.0


def test_shortcut_on_desktop_by_name_or_exec() -> None:
    entry = "[Desktop Entry]\nName=Play Puzzle Game 2048 - Online\nExec=chrome --app=x\n"
    shortcuts = {"game.desktop": entry}
    assert is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "play puzzle game 2048"}) == 1.0
    assert is_shortcut_on_desktop(shortcuts, {"type": "exec", "exec": "chrome --app=x"}) == 1.0
    assert is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "Chess"}) == 0.0
