"""compare_pptx_files on presentations built here with python-pptx."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import PP_ALIGN
from pptx.presentation import Presentation as PresentationType
from pptx.util import Emu, Inches, Pt

from environments.tasks.metrics.slides import OPTIONS, compare_pptx_files, validate_options

Edit = Callable[[PresentationType], None]


def deck(path: Path, edit: Edit | None = None) -> str:
    """Two slides: a text box (two paragraphs), a 2×2 table and notes; then a picture."""
    presentation = Presentation()
    blank = presentation.slide_layouts[6]
    first = presentation.slides.add_slide(blank)
    frame = first.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2)).text_frame
    frame.text = "Quarterly report"
    run = frame.paragraphs[0].runs[0]
    run.font.name, run.font.size, run.font.bold = "Arial", Pt(24), True
    second = frame.add_paragraph()
    second.text = "Revenue grew"
    second.level = 1
    cells = first.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table
    for row in range(2):
        for col in range(2):
            cells.cell(row, col).text = f"r{row}c{col}"
    first.notes_slide.notes_text_frame.text = "Speak slowly"
    picture = path.with_suffix(".png")
    Image.new("RGB", (40, 30), "navy").save(picture)
    presentation.slides.add_slide(blank).shapes.add_picture(str(picture), Inches(2), Inches(2), Inches(4))
    if edit:
        edit(presentation)
    presentation.save(path)
    return str(path)


def textbox(presentation: PresentationType) -> Any:
    return presentation.slides[0].shapes[0]


def first_run(presentation: PresentationType) -> Any:
    return textbox(presentation).text_frame.paragraphs[0].runs[0]


def compare(tmp_path: Path, edit: Edit, **options: Any) -> float:
    return compare_pptx_files(deck(tmp_path / "result.pptx", edit), deck(tmp_path / "gold.pptx"), **options)


def test_identical_decks_match_and_missing_files_score_zero(tmp_path: Path) -> None:
    gold = deck(tmp_path / "gold.pptx")
    assert compare_pptx_files(deck(tmp_path / "same.pptx"), gold) == 1.0
    assert compare_pptx_files(None, gold) == 0.0
    assert compare_pptx_files(str(tmp_path / "missing.pptx"), gold) == 0.0
    (tmp_path / "broken.pptx").write_text("not a presentation")
    assert compare_pptx_files(str(tmp_path / "broken.pptx"), gold) == 0.0


def set_font(**attributes: Any) -> Edit:
    def edit(presentation: PresentationType) -> None:
        for name, value in attributes.items():
            setattr(first_run(presentation).font, name, value)
    return edit


@pytest.mark.parametrize(("edit", "option"), [
    (set_font(name="Calibri"), "examine_font_name"),
    (set_font(size=Pt(30)), "examine_font_size"),
    (set_font(bold=False), "examine_font_bold"),
    (set_font(italic=True), "examine_font_italic"),
    (set_font(underline=True), "examine_font_underline"),
    (lambda p: first_run(p).font._element.set("strike", "sngStrike"), "examine_strike_through"),
    (lambda p: setattr(textbox(p).text_frame.paragraphs[0], "alignment", PP_ALIGN.CENTER), "examine_alignment"),
    (lambda p: setattr(textbox(p), "left", Inches(2)), "examine_shape"),
    (lambda p: setattr(textbox(p).text_frame.paragraphs[1], "level", 3), "examine_indent"),
    (lambda p: setattr(p.slides[0].notes_slide.notes_text_frame, "text", "Speak fast"), "examine_note"),
])
def test_each_examined_property_and_its_option(tmp_path: Path, edit: Edit, option: str) -> None:
    assert compare(tmp_path, edit) == 0.0
    assert compare(tmp_path, edit, **{option: False}) == 1.0


def test_colour_is_compared_only_between_two_explicit_rgb_colours(tmp_path: Path) -> None:
    red = lambda p: setattr(first_run(p).font.color, "rgb", RGBColor(255, 0, 0))
    gold = deck(tmp_path / "gold.pptx", red)
    assert compare_pptx_files(deck(tmp_path / "blue.pptx", set_font()), gold) == 1.0
    blue = lambda p: setattr(first_run(p).font.color, "rgb", RGBColor(0, 0, 255))
    assert compare_pptx_files(deck(tmp_path / "blue.pptx", blue), gold) == 0.0
    assert compare_pptx_files(str(tmp_path / "blue.pptx"), gold, examine_color_rgb=False) == 1.0


def test_unset_and_false_font_flags_are_the_same(tmp_path: Path) -> None:
    assert compare(tmp_path, set_font(italic=False, underline=False)) == 1.0
    assert compare(tmp_path, lambda p: setattr(textbox(p).text_frame.paragraphs[1], "alignment", PP_ALIGN.LEFT)) == 1.0


def test_text_and_structure_differences(tmp_path: Path) -> None:
    assert compare(tmp_path, lambda p: setattr(first_run(p), "text", "Annual report")) == 0.0
    assert compare(tmp_path, lambda p: p.slides.add_slide(p.slide_layouts[6])) == 0.0
    assert compare(tmp_path, lambda p: p.slides.add_slide(p.slide_layouts[6]), examine_number_of_slides=False) == 1.0
    extra_shape = lambda p: p.slides[1].shapes.add_textbox(0, 0, Inches(1), Inches(1))
    assert compare(tmp_path, extra_shape) == 0.0


def test_tolerance_of_positions(tmp_path: Path) -> None:
    nudge = lambda p: setattr(textbox(p), "left", Emu(Inches(1) + 6000))
    assert compare(tmp_path, nudge) == 0.0
    assert compare(tmp_path, nudge, approximately_tolerance=0.01) == 1.0


def test_run_count(tmp_path: Path) -> None:
    def split(presentation: PresentationType) -> None:
        paragraph = textbox(presentation).text_frame.paragraphs[1]
        paragraph.runs[0].text = "Revenue "
        paragraph.add_run().text = "grew"

    assert compare(tmp_path, split) == 0.0
    assert compare(tmp_path, split, examine_run_count=False) == 1.0


def test_tables_compare_run_styles_regardless_of_font_options(tmp_path: Path) -> None:
    def bold_cell(presentation: PresentationType) -> None:
        cell = presentation.slides[0].shapes[1].table.cell(0, 0)
        cell.text_frame.paragraphs[0].runs[0].font.bold = True

    assert compare(tmp_path, bold_cell) == 0.0
    assert compare(tmp_path, bold_cell, examine_font_bold=False) == 0.0
    # Cell text is compared only through the slide-wide bullet check, as in OSWorld.
    retitled = lambda p: setattr(p.slides[0].shapes[1].table.cell(1, 1), "text", "changed")
    assert compare(tmp_path, retitled) == 0.0
    assert compare(tmp_path, retitled, examine_bullets=False) == 1.0


def test_bullets(tmp_path: Path) -> None:
    def bullet(presentation: PresentationType) -> None:
        properties = textbox(presentation).text_frame.paragraphs[1]._p.get_or_add_pPr()
        etree.SubElement(properties, "{http://schemas.openxmlformats.org/drawingml/2006/main}buChar", char="•")

    assert compare(tmp_path, bullet) == 0.0
    assert compare(tmp_path, bullet, examine_bullets=False) == 1.0


def test_background_colour(tmp_path: Path) -> None:
    def paint(presentation: PresentationType) -> None:
        fill = presentation.slides[1].background.fill
        fill.solid()
        fill.fore_color.rgb = RGBColor(0, 128, 0)

    assert compare(tmp_path, paint) == 0.0
    assert compare(tmp_path, paint, examine_background_color=False) == 1.0


def test_picture_size_options(tmp_path: Path) -> None:
    taller = lambda p: setattr(p.slides[1].shapes[0], "height", Inches(5))
    # examine_shape skips shapes without text, such as pictures (OSWorld's rule).
    assert compare(tmp_path, taller) == 1.0
    assert compare(tmp_path, taller, examine_shape=False, examine_modify_height=True) == 0.0
    assert compare(tmp_path, taller, examine_shape=False, examine_image_size=True) == 0.0
    moved = lambda p: setattr(p.slides[1].shapes[0], "top", Inches(3))
    assert compare(tmp_path, moved, examine_shape=False, examine_image_size=True) == 1.0


def test_top_position_wants_the_picture_on_slide_two_raised(tmp_path: Path) -> None:
    raised = lambda p: setattr(p.slides[1].shapes[0], "top", Inches(1))
    assert compare(tmp_path, raised, examine_shape=False, examine_top_position=True) == 1.0
    assert compare(tmp_path, None, examine_shape=False, examine_top_position=True) == 0.0


def test_options_are_validated() -> None:
    assert validate_options({}) == OPTIONS
    assert validate_options({"examine_shape": False, "_note": "a comment", "enable_debug": False})["examine_shape"] is False
    assert validate_options({"examine_shape": False, "examine_shape_lenient_height": True})["examine_shape"] is False
    with pytest.raises(NotImplementedError, match="examine_shape_lenient_height"):
        validate_options({"examine_shape_lenient_height": True})
    with pytest.raises(NotImplementedError, match="examine_sparkles"):
        compare_pptx_files(None, None, examine_sparkles=True)
