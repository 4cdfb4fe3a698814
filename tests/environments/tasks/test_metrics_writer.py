"""Writer task metrics (metrics/writer.py) on documents generated with python-docx and odfpy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK, WD_PARAGRAPH_ALIGNMENT, WD_TAB_ALIGNMENT
from docx.shared import Inches, Pt, RGBColor
from PIL import Image

from environments.tasks.metrics.writer import (
    check_highlighted_words, check_italic_font_size_14, check_tabstops,
    compare_docx_files_and_ignore_new_lines, compare_docx_images, compare_docx_tables, compare_font_names,
    compare_line_spacing, compare_references, compare_subscript_contains, compare_unique_train_records,
    contains_page_break,
    evaluate_colored_words_in_tables, evaluate_strike_through_last_paragraph, find_default_font,
    has_page_numbers_in_footers, is_first_line_centered,
)


def docx(path: Path, build: Callable[[Document], None]) -> str:
    document = Document()
    build(document)
    document.save(path)
    return str(path)


def paragraphs(*texts: str) -> Callable[[Document], None]:
    return lambda d: [d.add_paragraph(t) for t in texts]


def test_tables_compare_shape_and_cells(tmp_path: Path) -> None:
    def table(value: str) -> Callable[[Document], None]:
        def build(d: Document) -> None:
            cells = d.add_table(rows=2, cols=2)
            cells.cell(1, 1).text = value
        return build

    gold = docx(tmp_path / "g.docx", table("10"))
    assert compare_docx_tables(docx(tmp_path / "s.docx", table(" 10 ")), gold) == 1.0
    assert compare_docx_tables(docx(tmp_path / "d.docx", table("11")), gold) == 0.0
    assert compare_docx_tables(docx(tmp_path / "n.docx", paragraphs("x")), gold) == 0.0
    assert compare_docx_tables(None, gold) == 0.0


def test_images_compare_pixels(tmp_path: Path) -> None:
    def with_image(colour: str) -> Callable[[Document], None]:
        png = tmp_path / f"{colour}.png"
        Image.new("RGB", (8, 8), colour).save(png)
        return lambda d: d.add_picture(str(png), width=Inches(1))

    gold = docx(tmp_path / "g.docx", with_image("red"))
    assert compare_docx_images(docx(tmp_path / "s.docx", with_image("red")), gold) == 1.0
    assert compare_docx_images(docx(tmp_path / "d.docx", with_image("blue")), gold) == 0.0


def test_line_spacing_needs_same_text_and_spacing(tmp_path: Path) -> None:
    def spaced(value: float) -> Callable[[Document], None]:
        def build(d: Document) -> None:
            d.add_paragraph("Intro").paragraph_format.line_spacing = value
        return build

    gold = docx(tmp_path / "g.docx", spaced(2.0))
    assert compare_line_spacing(docx(tmp_path / "s.docx", spaced(2.0)), gold) == 1.0
    assert compare_line_spacing(docx(tmp_path / "d.docx", spaced(1.0)), gold) == 0.0


def test_tabstops_score_position_differences(tmp_path: Path) -> None:
    def tabbed(position: float) -> Callable[[Document], None]:
        def build(d: Document) -> None:
            paragraph = d.add_paragraph("Title one\tAuthor")
            paragraph.paragraph_format.tab_stops.add_tab_stop(Inches(position), WD_TAB_ALIGNMENT.RIGHT)
        return build

    gold = docx(tmp_path / "g.docx", tabbed(6.0))
    assert check_tabstops(docx(tmp_path / "s.docx", tabbed(6.0)), gold) == 1.0
    near = check_tabstops(docx(tmp_path / "n.docx", tabbed(5.0)), gold)
    assert 0.0 < near < 1.0
    assert check_tabstops(str(tmp_path / "s.docx"), gold, word_number_split_by_tabstop=2, index=0) == 1.0
    assert check_tabstops(str(tmp_path / "s.docx"), gold, word_number_split_by_tabstop=3, index=0) == 0.0


def test_run_formatting_checks(tmp_path: Path) -> None:
    def formatted(d: Document) -> None:
        first = d.add_paragraph("Title")
        first.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
        body = d.add_paragraph()
        water = body.add_run("H")
        water.font.name = "Times New Roman"
        low = body.add_run("2")
        low.font.subscript, low.font.name = True, "Times New Roman"
        italic = body.add_run("O")
        italic.italic, italic.font.size, italic.font.name = True, Pt(14), "Times New Roman"
        last = d.add_paragraph().add_run("struck")
        last.font.strike, last.font.name = True, "Times New Roman"
        first.runs[0].font.name = "Times New Roman"

    result = docx(tmp_path / "r.docx", formatted)
    plain = docx(tmp_path / "p.docx", paragraphs("Title", "H2O", "struck"))
    assert compare_subscript_contains(result, result) == 1.0
    assert compare_subscript_contains(plain, result) == 0.0
    assert compare_font_names(result, {"font_name": "Times New Roman"}) == 1.0
    assert compare_font_names(plain, {"font_name": "Times New Roman"}) == 0.0
    assert is_first_line_centered(result) == 1.0
    assert is_first_line_centered(plain) == 0.0
    assert evaluate_strike_through_last_paragraph(result, plain) == 1.0
    assert evaluate_strike_through_last_paragraph(plain, plain) == 0.0
    assert check_italic_font_size_14(result, plain) == 1.0


def test_coloured_words_in_tables(tmp_path: Path) -> None:
    def coloured(vowel: RGBColor) -> Callable[[Document], None]:
        def build(d: Document) -> None:
            cells = d.add_table(rows=1, cols=2)
            cells.cell(0, 0).paragraphs[0].add_run("apple").font.color.rgb = vowel
            cells.cell(0, 1).paragraphs[0].add_run("tree").font.color.rgb = RGBColor(0, 0, 255)
        return build

    right = docx(tmp_path / "r.docx", coloured(RGBColor(255, 0, 0)))
    wrong = docx(tmp_path / "w.docx", coloured(RGBColor(0, 0, 255)))
    assert evaluate_colored_words_in_tables(right, right) == 1.0
    assert evaluate_colored_words_in_tables(wrong, wrong) == 0.0


def test_page_breaks_and_footers(tmp_path: Path) -> None:
    def broken(count: int) -> Callable[[Document], None]:
        def build(d: Document) -> None:
            for _ in range(count):
                d.add_paragraph("page").add_run().add_break(WD_BREAK.PAGE)
        return build

    five = docx(tmp_path / "five.docx", broken(5))
    assert contains_page_break(five, {"page_break_count": 5}) == 1.0
    assert contains_page_break(five, {"page_break_count": 4}) == 0.0
    assert contains_page_break(docx(tmp_path / "none.docx", broken(0)), {}) == 0.0

    def footer(text: str) -> Callable[[Document], None]:
        return lambda d: d.sections[0].footer.paragraphs[0].add_run(text)

    assert has_page_numbers_in_footers(docx(tmp_path / "f1.docx", footer("Page 1"))) == 1.0
    assert has_page_numbers_in_footers(docx(tmp_path / "f2.docx", footer("Page"))) == 0.0


def test_default_font_from_registry(tmp_path: Path) -> None:
    xcu = tmp_path / "registrymodifications.xcu"
    xcu.write_text('<?xml version="1.0"?><oor:items xmlns:oor="http://openoffice.org/2001/registry">'
                   '<item oor:path="/org.openoffice.Office.Writer/DefaultFont"><prop oor:name="Standard" '
                   'oor:op="fuse"><value>Times New Roman</value></prop></item></oor:items>')
    assert find_default_font(str(xcu), {"font_name": "Times New Roman"}) == 1.0
    assert find_default_font(str(xcu), {"font_name": "Arial"}) == 0.0
    assert find_default_font(None, {"font_name": "Arial"}) == 0.0


def test_new_lines_and_references(tmp_path: Path) -> None:
    gold = docx(tmp_path / "g.docx", paragraphs("Alpha beta", "", "gamma"))
    rewrapped = docx(tmp_path / "a.docx", paragraphs("Alpha", "beta gamma"))
    assert compare_docx_files_and_ignore_new_lines(rewrapped, gold) == 1.0
    assert compare_docx_files_and_ignore_new_lines(str(tmp_path / "a.docx"), gold, ignore_blanks=False) == 0.0
    refs = docx(tmp_path / "r.docx", paragraphs("Body", "References", "Smith 2020. A study.", "Lee 2021. B."))
    assert compare_references(refs, refs) == 1.0
    changed = docx(tmp_path / "c.docx", paragraphs("Body", "References", "Completely different text"))
    assert compare_references(changed, refs) == 0.0
    none = docx(tmp_path / "n.docx", paragraphs("Body"))
    assert compare_references(none, none) == 1.0


def test_unique_train_records(tmp_path: Path) -> None:
    original = docx(tmp_path / "o.docx", paragraphs("08:00:00, T1, S1, 1", "08:05:00, T1, S1, 1",
                                                     "09:00:00, T2, S2, 2"))
    gold = docx(tmp_path / "g.docx", paragraphs("08:00:00, T1, S1, 1", "09:00:00, T2, S2, 2"))
    assert compare_unique_train_records(gold, [gold, original]) == 1.0
    assert compare_unique_train_records(original, [gold, original]) == 0.0
    assert compare_unique_train_records(gold, gold) == 0.0


def test_highlighted_words_in_odt(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.style import Style, TextProperties
    from odf.text import P, Span

    def odt(name: str, highlighted: bool) -> str:
        document = OpenDocumentText()
        style = Style(name="T1", family="text")
        style.addElement(TextProperties(backgroundcolor="#ffff00" if highlighted else "#ffffff"))
        document.automaticstyles.addElement(style)
        paragraph = P(text="Call ")
        paragraph.addElement(Span(stylename=style, text="now"))
        document.text.addElement(paragraph)
        document.save(str(tmp_path / name))
        return str(tmp_path / name)

    plain = odt("plain.odt", False)
    assert check_highlighted_words(plain, plain) == 1.0
    assert check_highlighted_words(odt("marked.odt", True), plain) == 0.0


def test_docx_lines_compare_as_sets(tmp_path: Path) -> None:
    from environments.tasks.metrics.writer import compare_docx_lines

    gold = docx(tmp_path / "g.docx", paragraphs("a", "b"))
    assert compare_docx_lines(docx(tmp_path / "s.docx", paragraphs("b", "", " a ")), gold) == 1.0
    assert compare_docx_lines(docx(tmp_path / "d.docx", paragraphs("a")), gold) == 0.0
    assert compare_docx_lines(None, gold) == 0.0
