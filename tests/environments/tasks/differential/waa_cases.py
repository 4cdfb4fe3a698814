"""Differential cases for WindowsAgentArena's metrics: our inputs (files written here, values), one
list per metric, for the metrics WAA's tasks use that this project added for WAA and the ones whose
WAA code differs from OSWorld's main branch (the metrics that ask `reference.follows_waa()`).

Every file is written under `work` from fixed content, so the same case id always means the same
inputs: the recorded outcomes (waa_metrics.json) stay valid on any machine. Paths inside a case
are absolute; the recording keys outcomes by case id only.
"""

from __future__ import annotations

import json
import math
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
from docx import Document
from docx.enum.text import WD_COLOR_INDEX, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import PatternFill
from PIL import Image

from tests.environments.tasks.differential.cases import Case

RED, BLUE = "FFFF0000", "FF0000FF"


def _case(metric: str, kind: str, result: Any, expected: Any = None, has_expected: bool = True,
          **options: Any) -> Case:
    return Case(f"{metric}/{kind}", metric, "waa", kind, result, expected, has_expected, options)


# --- files ---

def workbook(path: Path, fill: str | None = None, values: dict[str, Any] | None = None,
              formats: list[tuple[str, Any]] | None = None, as_libreoffice: bool = False) -> str:
    """A one-sheet workbook: A1 "Name" (solid `fill` if given), numbers in A2:A6 with A4 left empty.

    openpyxl and Excel write a solid fill's colour as its foreground only; LibreOffice (checked
    with 7.4 converting such a file) writes it as foreground and background: `as_libreoffice`."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet["A1"] = "Name"
    if fill:
        colours = {"fgColor": fill, "bgColor": fill} if as_libreoffice else {"fgColor": fill}
        sheet["A1"].fill = PatternFill(fill_type="solid", **colours)
    for row, number in ((2, 1), (3, 3), (5, 5), (6, 7)):
        sheet[f"A{row}"] = number
    for coordinate, value in (values or {}).items():
        sheet[coordinate] = value
    for cells, rule in formats or []:
        sheet.conditional_formatting.add(cells, rule)
    book.save(path)
    return str(path)


def highlighted_docx(path: Path, runs: list[tuple[str, str | None]]) -> str:
    """A .docx with one paragraph of runs; each has a highlight colour name, "none", or None."""
    document = Document()
    paragraph = document.add_paragraph()
    for text, highlight in runs:
        run = paragraph.add_run(text)
        if highlight == "none":
            mark = OxmlElement("w:highlight")
            mark.set(qn("w:val"), "none")
            run._r.get_or_add_rPr().append(mark)
        elif highlight:
            run.font.highlight_color = getattr(WD_COLOR_INDEX, highlight)
    document.save(path)
    return str(path)


def _paragraphs_docx(path: Path, paragraphs: list[str]) -> str:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(path)
    return str(path)


def _wav(path: Path, frequency: float, seconds: float = 1.0, rate: int = 16000) -> str:
    """A mono 16-bit sine tone (no tone, an empty file of frames, when `seconds` is 0)."""
    frames = int(rate * seconds)
    levels = (int(12000 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(frames))
    samples = b"".join(level.to_bytes(2, "little", signed=True) for level in levels)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)
    return str(path)


def text_file(path: Path, body: str) -> str:
    path.write_text(body, encoding="utf-8")
    return str(path)


# --- cases per metric ---

def _table(work: Path) -> list[Case]:
    red = workbook(work / "red.xlsx", RED)
    red_copy = workbook(work / "red_copy.xlsx", RED)
    red_lo = workbook(work / "red_lo.xlsx", RED, as_libreoffice=True)
    blue_lo = workbook(work / "blue_lo.xlsx", BLUE, as_libreoffice=True)
    blue = workbook(work / "blue.xlsx", BLUE)
    plain = workbook(work / "plain.xlsx")
    other = workbook(work / "other.xlsx", values={"A3": 4})
    over_two = FormulaRule(formula=["A1>2"], fill=PatternFill(bgColor="FFFFC7CE"))
    over_four = FormulaRule(formula=["A1>4"], fill=PatternFill(bgColor="FFFFC7CE"))
    equals_zero = FormulaRule(formula=["A1=0"], fill=PatternFill(bgColor="FFFFC7CE"))
    cf_two = workbook(work / "cf_two.xlsx", formats=[("A1:A8", over_two)])
    cf_two_copy = workbook(work / "cf_two_copy.xlsx", formats=[("A1:A8", over_two)])
    cf_four = workbook(work / "cf_four.xlsx", formats=[("A1:A8", over_four)])
    cf_zero = workbook(work / "cf_zero.xlsx", formats=[("A1:A8", equals_zero)])
    cf_cell_is = workbook(work / "cf_cell_is.xlsx", formats=[
        ("A1:A8", CellIsRule(operator="greaterThan", formula=["2"], fill=PatternFill(bgColor="FFFFC7CE")))])
    error = workbook(work / "error.xlsx", values={"B1": "#DIV/0!"})

    def style(prop: str) -> list[dict[str, Any]]:
        return [{"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": [prop]}]

    def cell(coordinate: str, prop: str, ref: Any) -> list[dict[str, Any]]:
        return [{"type": "check_cell", "sheet_idx": "RNSheet1", "coordinate": coordinate,
                 "props": {prop: {"method": "eq", "ref": ref}}}]

    data = [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]
    return [
        _case("compare_table", "bgcolor_same", red, red_copy, rules=style("bgcolor")),
        _case("compare_table", "bgcolor_other_fill", red, blue, rules=style("bgcolor")),
        _case("compare_table", "bgcolor_fill_vs_none", red, plain, rules=style("bgcolor")),
        _case("compare_table", "bgcolor_libreoffice_vs_excel", red_lo, red, rules=style("bgcolor")),
        _case("compare_table", "bgcolor_libreoffice_other", red_lo, blue_lo, rules=style("bgcolor")),
        _case("compare_table", "bgcolor_libreoffice_same", red_lo, red_lo, rules=style("bgcolor")),
        _case("compare_table", "check_cell_bgcolor_libreoffice", red_lo, None, False,
              rules=cell("A1", "bgcolor", RED)),
        _case("compare_table", "fgcolor_other_fill", red, blue, rules=style("fgcolor")),
        _case("compare_table", "fgcolor_same", red, red_copy, rules=style("fgcolor")),
        _case("compare_table", "check_cell_bgcolor_fill", red, None, False, rules=cell("A1", "bgcolor", RED)),
        _case("compare_table", "check_cell_bgcolor_default", red, None, False,
              rules=cell("A1", "bgcolor", "00000000")),
        _case("compare_table", "check_cell_fgcolor_fill", red, None, False, rules=cell("A1", "fgcolor", RED)),
        _case("compare_table", "check_cell_value", red, None, False, rules=cell("A1", "value", "Name")),
        _case("compare_table", "check_cell_error_value", error, None, False,
              rules=cell("B1", "value", "#DIV/0!")),
        _case("compare_table", "cf_same", cf_two, cf_two_copy, rules=style("bgcolor")),
        _case("compare_table", "cf_other", cf_two, cf_four, rules=style("bgcolor")),
        _case("compare_table", "cf_vs_plain", cf_two, plain, rules=style("bgcolor")),
        _case("compare_table", "cf_blank_cells", cf_zero, plain, rules=style("bgcolor")),
        _case("compare_table", "cf_cell_is", cf_cell_is, plain, rules=style("bgcolor")),
        _case("compare_table", "merge_style", red, red_copy, rules=style("merge")),
        _case("compare_table", "sheet_data_same", red, blue, rules=data),
        _case("compare_table", "sheet_data_other", red, other, rules=data),
        _case("compare_table", "missing_result", str(work / "absent.xlsx"), red, rules=data),
        _case("compare_table", "none_result", None, red, rules=data),
    ]


def _highlighted(work: Path) -> list[Case]:
    alpha, green = ("alpha ", "YELLOW"), ("gamma", "BRIGHT_GREEN")
    both = highlighted_docx(work / "hl_both.docx", [alpha, ("beta ", None), green])
    both_again = highlighted_docx(work / "hl_both_again.docx", [alpha, ("beta ", None), green, alpha])
    other = highlighted_docx(work / "hl_other.docx", [alpha, ("beta ", "YELLOW"), ("gamma", None)])
    none_marked = highlighted_docx(work / "hl_none.docx", [alpha, ("beta ", "none"), green])
    plain = highlighted_docx(work / "hl_plain.docx", [("alpha ", None), ("beta", None)])
    plain_other = highlighted_docx(work / "hl_plain_other.docx", [("delta", None)])
    text = text_file(work / "hl.txt", "alpha beta gamma\n")
    name = "compare_highlighted_text"
    return [
        _case(name, "same", both, both),
        _case(name, "repeated_run", both, both_again),
        _case(name, "other", both, other),
        _case(name, "none_highlight", both, none_marked),
        _case(name, "nothing_highlighted", plain, plain_other),
        _case(name, "none_result", None, both),
        _case(name, "not_docx", text, both),
        _case(name, "missing", str(work / "absent.docx"), both),
    ]


def _tabbed_docx(path: Path, lines: list[str], stop_inches: float) -> str:
    """Paragraphs of "words<TAB>words" with one right-aligned tab stop."""
    document = Document()
    for line in lines:
        paragraph = document.add_paragraph(line)
        paragraph.paragraph_format.tab_stops.add_tab_stop(Inches(stop_inches), WD_TAB_ALIGNMENT.RIGHT)
    document.save(path)
    return str(path)


def _tabstops(work: Path) -> list[Case]:
    lines = ["one two three\t1", "four five six\t2"]
    first = _tabbed_docx(work / "tabs.docx", lines, 6.0)
    moved = _tabbed_docx(work / "tabs_moved.docx", lines, 4.0)
    fewer = _tabbed_docx(work / "tabs_fewer.docx", ["one two\t1", "four five six\t2"], 6.0)
    name, words = "check_tabstops", {"word_number_split_by_tabstop": 3, "index": 0}
    return [
        _case(name, "same", first, first, **words),
        _case(name, "moved", first, moved, **words),
        _case(name, "word_count", fewer, first, **words),
        _case(name, "no_options", first, moved),
    ]


def _docx_files(work: Path) -> list[Case]:
    first = _paragraphs_docx(work / "p_first.docx", ["The quick brown fox", "", "jumps over the dog"])
    near = _paragraphs_docx(work / "p_near.docx", ["The quick brown fox", "", "jumps over the dogs"])
    no_blank = _paragraphs_docx(work / "p_no_blank.docx", ["The quick brown fox", "jumps over the dog"])
    name = "compare_docx_files"
    return [
        _case(name, "same", first, first),
        _case(name, "near", first, near),
        _case(name, "near_fuzzy", first, near, fuzzy_match=True),
        _case(name, "near_fuzzy_paragraphs", first, near, fuzzy_match=True, ignore_blanks=False),
        _case(name, "blank_paragraph", first, no_blank, ignore_blanks=False),
        _case(name, "blank_paragraph_deleted", first, no_blank, ignore_blanks=False, delete_empty_lines=True),
    ]


def _json_values(work: Path) -> list[Case]:
    settings = text_file(work / "settings.json",
                         json.dumps({"editor.fontSize": 14, "files.autoSave": "afterDelay"}))
    broken = text_file(work / "broken.json", '{"editor.fontSize": 14,')
    js, jd = "check_json_settings", "check_direct_json_object"
    return [
        _case(js, "subset", settings, {"expected": {"editor.fontSize": 14}}),
        _case(js, "other_value", settings, {"expected": {"editor.fontSize": 12}}),
        _case(js, "absent_key", settings, {"expected": {"editor.wordWrap": "on"}}),
        _case(js, "broken_file", broken, {"expected": {"editor.fontSize": 14}}),
        _case(js, "missing_file", str(work / "absent.json"), {"expected": {"editor.fontSize": 14}}),
        _case(jd, "equal", {"a": 1, "b": "x"}, {"expected": {"a": 1}}),
        _case(jd, "string_result", "{'a': 1}", {"expected": {"a": 1}}),
        _case(jd, "other", {"a": 2}, {"expected": {"a": 1}}),
        _case(jd, "failed_marker", {"a": "__EVALUATION_FAILED__"},
              {"expected": {"a": "__EVALUATION_FAILED__"}}),
        _case(jd, "in_result_list", {"a": ["x", "y"]}, {"expected": {"a": ["y"]}, "expect_in_result": True}),
        _case(jd, "in_result_string_for_list", {"a": "y"},
              {"expected": {"a": ["y", "z"]}, "expect_in_result": True}),
        _case(jd, "in_result_substring", {"a": "xyz"}, {"expected": {"a": "y"}, "expect_in_result": True}),
        _case(jd, "not_json", "not json", {"expected": {"a": 1}}),
        _case(jd, "none", None, {"expected": {"a": 1}}),
    ]


def _browser(work: Path) -> list[Case]:
    bar = {"bookmark_bar": {"children": [
        {"type": "folder", "name": "Work", "children": []}, {"type": "folder", "name": "Fun", "children": []},
        {"type": "url", "name": "Ex", "url": "https://example.com/"},
        {"type": "url", "name": "Org", "url": "https://example.org/"}]}}
    shortcut = "[Desktop Entry]\nName=Example Site\nExec=chromium https://example.com\n"
    description = json.dumps({"data": {"description": "A shortcut to Example Site"}})
    url_file = "[InternetShortcut]\nURL=https://www.example.com/\n"
    bm, sc, tabs, active, cookies = ("is_expected_bookmarks", "is_shortcut_on_desktop", "is_expected_tabs",
                                     "is_expected_active_tab", "is_cookie_deleted")
    return [
        _case(bm, "folders_exact", bar, {"type": "bookmark_bar_folders_names", "names": ["Work", "Fun"]}),
        _case(bm, "folders_subset", bar, {"type": "bookmark_bar_folders_names", "names": ["Work"]}),
        _case(bm, "folders_missing", bar, {"type": "bookmark_bar_folders_names", "names": ["Work", "News"]}),
        _case(bm, "urls_subset", bar, {"type": "bookmark_bar_websites_urls", "urls": ["https://example.com/"]}),
        _case(bm, "urls_exact", bar, {"type": "bookmark_bar_websites_urls",
                                      "urls": ["https://example.com/", "https://example.org/"]}),
        _case(bm, "empty", {}, {"type": "bookmark_bar_folders_names", "names": []}),
        _case(sc, "name_exact", {"a.desktop": shortcut}, {"type": "name", "name": "Example Site"}),
        _case(sc, "name_contained", {"a.desktop": shortcut}, {"type": "name", "name": "Example"}),
        _case(sc, "name_other_case", {"a.desktop": shortcut}, {"type": "name", "name": "example site"}),
        _case(sc, "description", {"a.json": description},
              {"type": "description", "description": "Example Site"}),
        _case(sc, "exec", {"a.desktop": shortcut}, {"type": "exec", "exec": "chromium https://example.com"}),
        _case(tabs, "same", [{"url": "https://www.example.com/"}], {"type": "url", "urls": ["https://example.com"]}),
        _case(tabs, "other_suffix", [{"url": "https://example.co.uk/"}],
              {"type": "url", "urls": ["https://example.com"]}),
        _case(tabs, "no_scheme", [{"url": "http://example.com/"}], {"type": "url", "urls": ["example.com"]}),
        _case(tabs, "empty", [], {"type": "url", "urls": ["https://example.com"]}),
        _case(tabs, "none", None, {"type": "url", "urls": ["https://example.com"]}),
        _case(active, "same", {"url": "https://www.example.com/a?b=1"}, {"type": "url", "url": "https://example.com/a?b=1"}),
        _case(active, "other_suffix", "https://example.co.uk/a", {"type": "url", "url": "https://example.com/a"}),
        _case(active, "subdomain_www", "https://news.www.example.com/", {"type": "url", "url": "https://news.example.com"}),
        _case(cookies, "deleted", [("id", ".other.com")], {"type": "domains", "domains": ["example.com"]}),
        _case(cookies, "kept", [("id", "example.com")], {"type": "domains", "domains": ["example.com"]}),
        _case(cookies, "kept_other_suffix", [("id", "example.co.uk")],
              {"type": "domains", "domains": ["example.com"]}),
        _case("is_url_shortcut_on_desktop", "found", {"a.url": url_file},
              {"type": "url", "url_content": "example.com"}),
        _case("is_url_shortcut_on_desktop", "absent", {"a.url": url_file},
              {"type": "url", "url_content": "example.org"}),
        _case("is_url_shortcut_on_desktop", "no_shortcuts", {},
              {"type": "url", "url_content": "example.com"}),
        _case("is_url_shortcut_on_desktop", "other_type", {"a.url": url_file}, {"type": "name", "name": "x"}),
    ]


def _settings(work: Path) -> list[Case]:
    ee, fs = "check_enabled_experiments", "check_edge_font_size"
    both = {"type": "names", "names": ["tab-groups", "smooth-scrolling"]}
    return [
        _case(ee, "same", ["tab-groups@1", "smooth-scrolling@2"], both),
        _case(ee, "other_order", ["smooth-scrolling@2", "tab-groups@1"], both),
        _case(ee, "missing", ["tab-groups@1"], both),
        _case(ee, "no_suffix", ["tab-groups"], {"type": "names", "names": ["tab-groups"]}),
        _case(ee, "empty", [], {"type": "names", "names": []}),
        _case(ee, "other_type", ["x@1"], {"type": "count", "count": 1}),
        _case(fs, "value", {"default_font_size": 16}, {"type": "value", "value": 16}),
        _case(fs, "other_value", {"default_font_size": 18}, {"type": "value", "value": 16}),
        _case(fs, "range_low_bound", {"default_font_size": 16}, {"type": "range", "min": 16, "max": 20}),
        _case(fs, "range_high_bound", {"default_font_size": 20}, {"type": "range", "min": 16, "max": 20}),
        _case(fs, "range_inside", {"default_font_size": 18}, {"type": "range", "min": 16, "max": 20}),
        _case(fs, "other_type", {"default_font_size": 18}, {"type": "list", "values": [18]}),
        _case("check_font_size", "range_low_bound", {"default_font_size": 16},
              {"type": "range", "min": 16, "max": 20}),
    ]


def _vlc(work: Path) -> list[Case]:
    set_off = text_file(work / "vlcrc_off",
                        "[qt]\n# Resize interface to the native video size\nqt-video-autoresize=0\n")
    set_on = text_file(work / "vlcrc_on", "[qt]\nqt-video-autoresize=1\n")
    commented = text_file(work / "vlcrc_commented", "[qt]\n#qt-video-autoresize=1\n")
    absent = text_file(work / "vlcrc_absent", "[qt]\nqt-bgcone=1\n")
    name = "check_qt_video_resize"
    return [
        _case(name, "off_int", set_off, {"qt-video-autoresize": 0}),
        _case(name, "off_str", set_off, {"qt-video-autoresize": "0"}),
        _case(name, "on_wants_off", set_on, {"qt-video-autoresize": 0}),
        _case(name, "commented", commented, {"qt-video-autoresize": 1}),
        _case(name, "absent_reads_off", absent, {"qt-video-autoresize": 0}),
        _case(name, "missing_file", str(work / "absent_vlcrc"), {"qt-video-autoresize": 0}),
        _case("check_qt_max_volume", "set", text_file(work / "vlcrc_volume", "qt-max-volume=200\n"),
              {"expected_qt_max_volume": 200}),
        _case("check_qt_minimal_view", "default", absent, {"expected_qt_minimal_view": 0}),
        _case("is_vlc_recordings_folder", "set", text_file(work / "vlcrc_rec", "input-record-path=C:\\Rec\n"),
              {"recording_file_path": "C:\\Rec"}),
    ]


def _audio(work: Path) -> list[Case]:
    tone = _wav(work / "tone.wav", 440)
    tone_copy = _wav(work / "tone_copy.wav", 440)
    higher = _wav(work / "higher.wav", 660)
    silent = _wav(work / "silent.wav", 440, seconds=0)
    name = "compare_audios"
    return [
        _case(name, "same", tone, tone_copy),
        _case(name, "other", tone, higher),
        _case(name, "empty", silent, tone),
        _case(name, "none", None, tone),
    ]


def _picture(path: Path, seed: int, size: tuple[int, int] = (64, 48), invert: bool = False) -> str:
    """A grey gradient with a seeded band of noise; `invert` makes its negative."""
    rng = np.random.default_rng(seed)
    width, height = size
    pixels = np.tile(np.linspace(0, 255, width), (height, 1))
    pixels[height // 3: height // 2] = rng.integers(0, 256, (height // 2 - height // 3, width))
    if invert:
        pixels = 255 - pixels
    Image.fromarray(pixels.astype(np.uint8)).convert("RGB").save(path)
    return str(path)


def _images(work: Path) -> list[Case]:
    base = _picture(work / "pic.png", 1)
    name = "compare_images"
    return [
        _case(name, "same", base, _picture(work / "pic_copy.png", 1)),
        _case(name, "near", base, _picture(work / "pic_near.png", 2)),
        _case(name, "inverted", base, _picture(work / "pic_inverted.png", 1, invert=True)),
        _case(name, "other_size", base, _picture(work / "pic_big.png", 1, size=(96, 72))),
        _case(name, "base_result", base, _picture(work / "pic_near2.png", 2), reference_base_result=0.5),
        _case(name, "none", None, base),
    ]


def _video(path: Path, seed: int, frames: int = 12) -> str:
    """A Motion-JPEG .avi of moving seeded noise, `frames` long."""
    import cv2

    rng = np.random.default_rng(seed)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    background = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for frame in range(frames):
        out.write(np.roll(background, frame * 3, axis=1))
    out.release()
    return str(path)


def _videos(work: Path) -> list[Case]:
    base = _video(work / "clip.avi", 1)
    name = "compare_videos"
    return [
        _case(name, "same", base, _video(work / "clip_copy.avi", 1)),
        _case(name, "other", base, _video(work / "clip_other.avi", 2)),
        _case(name, "shorter", base, _video(work / "clip_short.avi", 1, frames=6)),
        _case(name, "missing", str(work / "absent.avi"), base),
    ]


BUILDERS: list[Callable[[Path], list[Case]]] = [_table, _highlighted, _tabstops, _docx_files, _json_values,
                                                _browser, _settings, _vlc, _audio, _images, _videos]


def build(work: Path) -> list[Case]:
    """Every case, its files written under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    return [case for builder in BUILDERS for case in builder(work)]
