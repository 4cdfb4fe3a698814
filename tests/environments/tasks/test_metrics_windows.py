"""The metrics WindowsAgentArena's tasks use that OSWorld's do not, and the WAA reference switch
(metrics/reference.py) on the shared metrics whose WAA code differs. Differential tests against
WAA's own code are in differential/test_waa_metrics.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from environments.tasks.metrics.browser_state import (
    check_enabled_experiments, check_font_size, is_expected_bookmarks, same_url,
)
from environments.tasks.metrics.reference import Reference, current, following
from environments.tasks.metrics.table import compare_table
from environments.tasks.metrics.vlc import check_qt_video_resize
from environments.tasks.metrics.windows_edge import check_edge_font_size, is_url_shortcut_on_desktop
from environments.tasks.metrics.writer import compare_highlighted_text
from environments.tasks.registry import METRICS
from tests.environments.tasks.differential.waa_cases import highlighted_docx, text_file, workbook

WAA_ONLY = ["check_enabled_experiments", "compare_highlighted_text", "check_edge_font_size",
            "is_url_shortcut_on_desktop", "check_qt_video_resize"]


def test_the_metrics_waas_tasks_use_are_registered() -> None:
    assert set(WAA_ONLY) <= set(METRICS)


def test_the_reference_is_osworld_unless_a_block_follows_waa() -> None:
    assert current() is Reference.OSWORLD
    seen: list[Reference] = []
    with following(Reference.WAA):
        assert current() is Reference.WAA
        # A thread started inside the block does not inherit it: score in the thread that chose.
        thread = threading.Thread(target=lambda: seen.append(current()))
        thread.start()
        thread.join()
    assert seen == [Reference.OSWORLD]
    with pytest.raises(RuntimeError), following(Reference.WAA):
        raise RuntimeError
    assert current() is Reference.OSWORLD


def test_enabled_experiments_are_compared_by_name_in_order() -> None:
    rule = {"type": "names", "names": ["tab-groups", "smooth-scrolling"]}
    assert check_enabled_experiments(["tab-groups@1", "smooth-scrolling@2"], rule) == 1.0
    assert check_enabled_experiments(["smooth-scrolling@2", "tab-groups@1"], rule) == 0.0
    assert check_enabled_experiments(["tab-groups@1"], rule) == 0.0
    with pytest.raises(TypeError):
        check_enabled_experiments([], {"type": "count"})


def test_edges_font_size_range_includes_its_lower_bound_unlike_chromes() -> None:
    rule = {"type": "range", "min": 16, "max": 20}
    assert check_edge_font_size({"default_font_size": 16}, rule) == 1.0
    assert check_font_size({"default_font_size": 16}, rule) == 0.0
    assert check_edge_font_size({"default_font_size": 20}, rule) == 0.0
    assert check_edge_font_size({"default_font_size": 16}, {"type": "value", "value": 16}) == 1.0
    with pytest.raises(TypeError):
        check_edge_font_size({"default_font_size": 16}, {"type": "list"})


def test_url_shortcut_is_found_by_its_content() -> None:
    shortcuts = {r"C:\Users\Docker\Desktop\Example.url": "[InternetShortcut]\nURL=https://www.example.com/\n"}
    assert is_url_shortcut_on_desktop(shortcuts, {"type": "url", "url_content": "example.com"}) == 1.0
    assert is_url_shortcut_on_desktop(shortcuts, {"type": "url", "url_content": "example.org"}) == 0.0
    assert is_url_shortcut_on_desktop({}, {"type": "url", "url_content": "example.com"}) == 0.0
    with pytest.raises(TypeError):
        is_url_shortcut_on_desktop(shortcuts, {"type": "name", "name": "Example"})


def test_video_autoresize_reads_the_last_line_naming_it_and_defaults_to_off(tmp_path: Path) -> None:
    off = text_file(tmp_path / "off", "[qt]\nqt-video-autoresize=0\n")
    commented = text_file(tmp_path / "commented", "[qt]\n#qt-video-autoresize=1\n")
    absent = text_file(tmp_path / "absent", "[qt]\nqt-bgcone=1\n")
    assert check_qt_video_resize(off, {"qt-video-autoresize": 0}) == 1.0
    assert check_qt_video_resize(off, {"qt-video-autoresize": "1"}) == 0.0
    assert check_qt_video_resize(commented, {"qt-video-autoresize": 1}) == 1.0
    assert check_qt_video_resize(absent, {"qt-video-autoresize": 0}) == 1.0


def test_highlighted_texts_are_compared_as_sets(tmp_path: Path) -> None:
    both = highlighted_docx(tmp_path / "a.docx",
                            [("alpha ", "YELLOW"), ("beta ", None), ("gamma", "BRIGHT_GREEN")])
    again = highlighted_docx(tmp_path / "b.docx", [("gamma", "BRIGHT_GREEN"), ("alpha ", "YELLOW"),
                                                   ("alpha ", "YELLOW"), ("beta ", "none")])
    other = highlighted_docx(tmp_path / "c.docx", [("alpha ", "YELLOW"), ("beta ", "YELLOW")])
    assert compare_highlighted_text(both, again) == 1.0
    assert compare_highlighted_text(both, other) == 0.0
    assert compare_highlighted_text(None, both) == 0.0


def test_a_cells_fill_colour_is_read_from_the_field_each_reference_reads(tmp_path: Path) -> None:
    """Issue #20: two WAA Calc tasks check "bgcolor"; a solid fill keeps its colour in fgColor, which
    OSWorld's main branch reads and WAA does not (it reads bgColor, the default 00000000 here)."""
    red, blue = workbook(tmp_path / "red.xlsx", "FFFF0000"), workbook(tmp_path / "blue.xlsx", "FF0000FF")
    style = [{"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["bgcolor"]}]
    red_cell = [{"type": "check_cell", "sheet_idx": "RNSheet1", "coordinate": "A1",
                 "props": {"bgcolor": {"method": "eq", "ref": "FFFF0000"}}}]
    assert compare_table(red, blue, rules=style) == 0.0
    assert compare_table(red, rules=red_cell) == 1.0
    with following(Reference.WAA):
        assert compare_table(red, blue, rules=style) == 1.0
        assert compare_table(red, rules=red_cell) == 0.0


def test_waa_reads_inline_strings_as_empty(tmp_path: Path) -> None:
    """openpyxl writes text as inline strings, which WAA's read_cell_value does not decode."""
    book = workbook(tmp_path / "book.xlsx")
    name = [{"type": "check_cell", "sheet_idx": "RNSheet1", "coordinate": "A1",
             "props": {"value": {"method": "eq", "ref": "Name"}}}]
    assert compare_table(book, rules=name) == 1.0
    with following(Reference.WAA):
        assert compare_table(book, rules=name) == 0.0


def test_waa_wants_the_expected_bookmarks_among_them_osworld_exactly() -> None:
    bar = {"bookmark_bar": {"children": [{"type": "folder", "name": "Work", "children": []},
                                         {"type": "folder", "name": "Fun", "children": []}]}}
    rule = {"type": "bookmark_bar_folders_names", "names": ["Work"]}
    assert is_expected_bookmarks(bar, rule) == 0.0
    with following(Reference.WAA):
        assert is_expected_bookmarks(bar, rule) == 1.0


def test_waas_url_normal_form_keeps_the_public_suffix() -> None:
    assert same_url("https://example.com/a", "https://example.co.uk/a")
    with following(Reference.WAA):
        assert not same_url("https://example.com/a", "https://example.co.uk/a")
        assert same_url("https://www.example.com/", "https://example.com")
