"""Metrics of OSWorld's Writer tasks beyond whole-document comparison: tables, images, spacing,
tab stops, fonts, highlighting, strike-through, page breaks and numbers, references, records."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from typing import Any

from docx import Document
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT, WD_TAB_ALIGNMENT
from docx.opc.exceptions import PackageNotFoundError
from lxml import etree
from PIL import Image
from rapidfuzz import fuzz

from environments.tasks.metrics.app_options import (
    ColouredWordsOptions, NewLinesOptions, ReferencesOptions, TabstopOptions,
)
from environments.tasks.registry import METRICS, call_metric, metric

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
REGISTRY = "{http://openoffice.org/2001/registry}"
RED, BLUE = (255, 0, 0), (0, 0, 255)
HIGHLIGHT = "#ffff00"
SIMILARITY_EPSILON = 0.01


def _document(path: str | None) -> Any:
    """The .docx opened with python-docx, or None when missing or unreadable (OSWorld scores that 0)."""
    if not path:
        return None
    try:
        return Document(path)
    except (PackageNotFoundError, ValueError, KeyError, OSError, TypeError, AttributeError):
        return None  # OSWorld catches every failure to open here


def _same_text(result: str, expected: str) -> bool:
    """OSWorld's precondition: compare_docx_files with its default options gives a truthy score."""
    entry = METRICS["compare_docx_files"]
    return bool(call_metric(entry, (result, expected), entry.params()))


@metric("compare_docx_tables")
def compare_docx_tables(result: str | None, expected: str | None) -> float:
    """As many tables, each with the same shape and the same stripped cell texts."""
    first, second = _document(result), _document(expected)
    if first is None or second is None or len(first.tables) != len(second.tables):
        return 0.0
    for a, b in zip(first.tables, second.tables):
        if len(a.rows) != len(b.rows) or len(a.columns) != len(b.columns):
            return 0.0
        for i in range(len(a.rows)):
            for j in range(len(a.columns)):
                if a.cell(i, j).text.strip() != b.cell(i, j).text.strip():
                    return 0.0
    return 1.0


def _images(document: Any) -> list[bytes]:
    return [rel.target_part.blob for rel in document.part.rels.values() if "image" in rel.reltype]


@metric("compare_docx_images")
def compare_docx_images(result: str | None, expected: str | None) -> float:
    """As many images, each with the same decoded pixels."""
    first, second = _document(result), _document(expected)
    if first is None or second is None:
        return 0.0
    a, b = _images(first), _images(second)
    if len(a) != len(b):
        return 0.0
    return float(all(Image.open(BytesIO(x)).tobytes() == Image.open(BytesIO(y)).tobytes()
                     for x, y in zip(a, b)))


@metric("compare_line_spacing")
def compare_line_spacing(result: str | None, expected: str | None) -> float:
    """The same text, and every paragraph with the same line spacing."""
    if not result or not expected or not _same_text(result, expected):
        return 0.0
    first, second = _document(result), _document(expected)
    if first is None or second is None or len(first.paragraphs) != len(second.paragraphs):
        return 0.0
    return float(all(a.paragraph_format.line_spacing == b.paragraph_format.line_spacing
                     for a, b in zip(first.paragraphs, second.paragraphs)))


def _ignored_tab(stop: Any) -> bool:
    left_at_zero = stop.alignment == WD_TAB_ALIGNMENT.LEFT and stop.position == 0
    return stop.alignment == WD_TAB_ALIGNMENT.CLEAR or left_at_zero


@metric("check_tabstops", TabstopOptions)
def check_tabstops(result: str | None, expected: str | None, *, options: TabstopOptions) -> float:
    """Non-empty paragraphs pair up with the same tab-stop alignments; the score is 1 minus the mean
    position difference as a share of the text width. Optionally each paragraph's part before the
    `index`-th tab holds exactly `word_number_split_by_tabstop` words."""
    first, second = _document(result), _document(expected)
    if first is None or second is None:
        return 0.0
    mine = [p for p in first.paragraphs if p.text.strip()]
    gold = [p for p in second.paragraphs if p.text.strip()]
    if len(mine) != len(gold):
        return 0.0
    if options.word_number_split_by_tabstop is not None:
        for paragraph in mine:
            words = [w for w in re.split(r"\s", paragraph.text.split("\t")[options.index]) if w.strip()]
            if len(words) != options.word_number_split_by_tabstop:
                return 0.0
    section = second.sections[0]
    width = section.page_width - section.left_margin - section.right_margin
    lost = 0.0
    for a, b in zip(mine, gold):
        tabs_a = [t for t in a.paragraph_format.tab_stops if not _ignored_tab(t)]
        tabs_b = [t for t in b.paragraph_format.tab_stops if not _ignored_tab(t)]
        if len(tabs_a) != len(tabs_b) or any(x.alignment != y.alignment for x, y in zip(tabs_a, tabs_b)):
            return 0.0
        lost += sum(abs(x.position - y.position) for x, y in zip(tabs_a, tabs_b)) / width
    return 1 - lost / len(mine)


@metric("compare_subscript_contains")
def compare_subscript_contains(result: str | None, expected: str | None) -> float:
    """1 when some run at the same place is subscript in both documents."""
    first, second = _document(result), _document(expected)
    if first is None or second is None:
        return 0.0
    return float(any(a.font.subscript and b.font.subscript
                     for p, q in zip(first.paragraphs, second.paragraphs) for a, b in zip(p.runs, q.runs)))


@metric("has_page_numbers_in_footers")
def has_page_numbers_in_footers(result: str | None) -> float:
    """Every section's footer's first paragraph holds a digit."""
    document = _document(result)
    if document is None:
        return 0.0
    for section in document.sections:
        text = section.footer.paragraphs[0].text if section.footer.paragraphs else ""
        if not any(ch.isdigit() for ch in text):
            return 0.0
    return 1.0


@metric("compare_font_names")
def compare_font_names(result: str | None, rules: dict[str, Any]) -> float:
    """Every run of every paragraph has the expected font name set."""
    document = _document(result)
    if document is None:
        return 0.0
    return float(all(run.font.name == rules["font_name"] for p in document.paragraphs for run in p.runs))


@metric("is_first_line_centered")
def is_first_line_centered(result: str | None) -> float:
    document = _document(result)
    if document is None:
        return 0.0
    return float(document.paragraphs[0].paragraph_format.alignment == WD_PARAGRAPH_ALIGNMENT.CENTER)


@metric("check_highlighted_words")
def check_highlighted_words(result: str | None, expected: str | None) -> float:
    """The same text, and no span of the .odt uses an automatic style with a yellow background."""
    if not result or not expected or not _same_text(result, expected):
        return 0.0
    from odf.opendocument import load
    from odf.text import Span

    document = load(result)
    styles = {style.getAttribute("name"): style for style in document.automaticstyles.childNodes}
    for span in document.getElementsByType(Span):
        style = styles.get(span.getAttribute("stylename")) if span.getAttribute("stylename") else None
        if style is not None and any(prop.getAttribute("backgroundcolor") == HIGHLIGHT
                                     for prop in style.childNodes):
            return 0.0
    return 1.0


def _highlighted_runs(path: str) -> set[str | None]:
    """The first text of each run in word/document.xml with a highlight other than "none" (an empty
    <w:t/> gives None, as it does in the reference)."""
    with zipfile.ZipFile(path) as docx, docx.open("word/document.xml") as document:
        root = etree.parse(document).getroot()
    texts: set[str | None] = set()
    for run in root.iter(f"{W}r"):
        highlight = next(run.iter(f"{W}highlight"), None)
        if highlight is None or highlight.get(f"{W}val") == "none":
            continue
        text = next(run.iter(f"{W}t"), None)
        if text is not None:
            texts.add(text.text)
    return texts


@metric("compare_highlighted_text")
def compare_highlighted_text(result: str | None, expected: str | None) -> float:
    """1 when both .docx files highlight the same set of run texts (a run counted by its first text;
    order and repeats ignored). A file that is not a .docx raises, as in the reference."""
    if not result or not expected:
        return 0.0
    return float(_highlighted_runs(result) == _highlighted_runs(expected))


@metric("evaluate_strike_through_last_paragraph")
def evaluate_strike_through_last_paragraph(result: str | None, expected: str | None) -> float:
    """The same text, and every run of the last paragraph struck through."""
    if not result or not expected or not _same_text(result, expected):
        return 0.0
    document = _document(result)
    if document is None:
        return 0.0
    return float(all(run.font.strike for run in document.paragraphs[-1].runs))


def _colour_distance(rgb: Any, reference: tuple[int, int, int]) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    if rgb is None:
        raise TypeError("a run without an explicit colour")
    return float(deltaE_ciede2000(rgb2lab([c / 255.0 for c in rgb]), rgb2lab([c / 255.0 for c in reference])))


@metric("evaluate_colored_words_in_tables", ColouredWordsOptions)
def evaluate_colored_words_in_tables(result: str | None, expected: str | None, *,
                                     options: ColouredWordsOptions) -> float:
    """The same text, and in tables every word starting with a vowel red, every other word blue
    (CIEDE2000 within `threshold`)."""
    if not result or not expected or not _same_text(result, expected):
        return 0.0
    document = _document(result)
    if document is None:
        return 0.0
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for run in (run for paragraph in cell.paragraphs for run in paragraph.runs if run.text):
                    target = RED if run.text[0].lower() in "aeiou" else BLUE
                    if _colour_distance(run.font.color.rgb, target) > options.threshold:
                        return 0.0
    return 1.0


@metric("check_italic_font_size_14")
def check_italic_font_size_14(result: str | None, expected: str | None) -> float:
    """The same text, and every italic run set in 14 pt."""
    if not result or not expected or not _same_text(result, expected):
        return 0.0
    document = _document(result)
    if document is None:
        return 0.0
    return float(all(run.font.size is not None and run.font.size.pt == 14
                     for p in document.paragraphs for run in p.runs if run.italic))


@metric("contains_page_break")
def contains_page_break(result: str | None, rules: dict[str, Any]) -> float:
    """Page breaks in paragraph runs: at least one, and exactly `page_break_count` when given."""
    document = _document(result)
    if document is None:
        return 0.0
    breaks = sum(1 for p in document.paragraphs for run in p.runs
                 for br in run.element.iter(f"{W}br") if br.get(f"{W}type") == "page")
    wanted = rules.get("page_break_count") if isinstance(rules, dict) else None
    if wanted is not None and breaks != wanted:
        return 0.0
    return float(breaks > 0)


@metric("find_default_font")
def find_default_font(result: str | None, rules: dict[str, Any]) -> float:
    """LibreOffice's registrymodifications.xcu sets Writer's standard default font to `font_name`."""
    if not result:
        return 0.0
    font = None
    try:
        root = etree.parse(result).getroot()
    except (OSError, etree.XMLSyntaxError, TypeError):
        root = None
    if root is not None:
        for item in root.iter("item"):
            if item.get(f"{REGISTRY}path") != "/org.openoffice.Office.Writer/DefaultFont":
                continue
            for prop in item.iter("prop"):
                if prop.get(f"{REGISTRY}name") == "Standard":
                    for value in prop.findall("value"):
                        font = value.text
    return float(font == rules["font_name"])


def _docx_paragraph_texts(path: str | None) -> list[str] | None:
    if not path or not path.endswith(".docx"):
        return None
    document = _document(path)
    return None if document is None else [p.text for p in document.paragraphs]


@metric("compare_docx_files_and_ignore_new_lines", NewLinesOptions)
def compare_docx_files_and_ignore_new_lines(result: str | None, expected: str | None, *,
                                            options: NewLinesOptions) -> float:
    """Non-empty paragraphs equal; with `ignore_blanks`, their joined texts equal up to whitespace."""
    first, second = _docx_paragraph_texts(result), _docx_paragraph_texts(expected)
    if first is None or second is None:
        return 0.0
    first, second = [t for t in first if t != ""], [t for t in second if t != ""]
    if options.ignore_blanks:
        def squeezed(texts: list[str]) -> str:
            return re.sub(r"\s+", " ", "\n".join(texts)).strip()

        return float(squeezed(first) == squeezed(second))
    return float(first == second)


@metric("compare_references", ReferencesOptions)
def compare_references(result: str | None, expected: str | None, *, options: ReferencesOptions) -> float:
    """The non-empty paragraphs after the first `reference_indicator` paragraph, pair by pair: their
    mean fuzzy ratio, rescaled so `reference_base_result` (+ 0.01) scores 0."""
    first, second = _docx_paragraph_texts(result), _docx_paragraph_texts(expected)
    if first is None or second is None:
        return 0.0
    heading = options.reference_indicator
    if heading not in first and heading not in second:
        return 1.0
    if heading not in first or heading not in second:
        return 0.0
    mine = [p for p in first[first.index(heading) + 1:] if p.strip()]
    gold = [p for p in second[second.index(heading) + 1:] if p.strip()]
    if len(mine) != len(gold):
        return 0.0
    mean = sum(fuzz.ratio(a, b) / 100.0 for a, b in zip(mine, gold)) / len(mine)
    base = options.reference_base_result
    return (mean - base) / (1 - base) if mean >= base + SIMILARITY_EPSILON else 0.0


def _records(path: str) -> tuple[list[str], list[str]] | None:
    document = _document(path)
    if document is None:
        return None
    lines = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    return lines, [line.split(",")[1].strip() for line in lines if len(line.split(",")) == 4]


@metric("compare_unique_train_records")
def compare_unique_train_records(result: str | None, expected: list[str | None] | str | None) -> float:
    """expected = [gold, original]: every result line comes from the original, train ids are unique,
    the same ids and as many lines as the gold document."""
    if not result or not isinstance(expected, list) or len(expected) < 2:
        return 0.0
    if not expected[0] or not expected[1]:
        return 0.0
    mine, gold, original = _records(result), _records(expected[0]), _records(expected[1])
    if mine is None or gold is None or original is None:
        return 0.0
    (lines, ids), (gold_lines, gold_ids) = mine, gold
    return float(set(lines) <= set(original[0]) and len(ids) == len(set(ids)) and set(ids) == set(gold_ids)
                 and len(lines) == len(gold_lines))


@metric("compare_docx_lines")
def compare_docx_lines(result: str | None, expected: str | None) -> float:
    """The two documents hold the same set of non-empty stripped paragraphs."""
    first, second = _document(result), _document(expected)
    if first is None or second is None:
        return 0.0
    lines = [{p.text.strip() for p in document.paragraphs if p.text.strip()} for document in (first, second)]
    return float(lines[0] == lines[1])
