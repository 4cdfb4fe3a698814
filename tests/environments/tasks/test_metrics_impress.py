"""Impress task metrics (metrics/impress.py) on presentations generated with python-pptx."""

from __future__ import annotations

import zipfile
from pathlib import Path

from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Inches

from environments.tasks.metrics.impress import (
    check_auto_saving_time, check_image_stretch_and_center, check_left_panel, check_page_number_colors,
    check_presenter_console_disable, check_slide_orientation_portrait, check_transition,
    evaluate_presentation_fill_to_rgb_distance,
)

REGISTRY = ('<?xml version="1.0"?><oor:items xmlns:oor="http://openoffice.org/2001/registry">{}</oor:items>')


def deck(path: Path, width: float = 10, height: float = 7.5, background: RGBColor | None = None) -> str:
    presentation = Presentation()
    presentation.slide_width, presentation.slide_height = Inches(width), Inches(height)
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    if background is not None:
        slide.background.fill.solid()
        slide.background.fill.fore_color.rgb = background
    presentation.save(path)
    return str(path)


def test_orientation_and_background_fill(tmp_path: Path) -> None:
    assert check_slide_orientation_portrait(deck(tmp_path / "p.pptx", width=7.5, height=10)) == 1.0
    assert check_slide_orientation_portrait(deck(tmp_path / "l.pptx")) == 0.0
    rules = {"rgb": [0, 0, 255], "original_rgb": [255, 255, 255]}
    blue = deck(tmp_path / "b.pptx", background=RGBColor(0, 0, 255))
    white = deck(tmp_path / "w.pptx", background=RGBColor(255, 255, 255))
    navy = deck(tmp_path / "g.pptx", background=RGBColor(0, 0, 128))
    assert evaluate_presentation_fill_to_rgb_distance(blue, rules) == 1.0
    assert evaluate_presentation_fill_to_rgb_distance(white, rules) == 0.0
    half = evaluate_presentation_fill_to_rgb_distance(navy, rules)
    assert 0.5 < half < 1.0


def with_slide_xml(path: Path, name: str, change: str, into: str) -> str:
    """Rewrite one part of the package, replacing `change` with `into`."""
    copy = path.with_name("edited_" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == name:
                data = data.decode().replace(change, into, 1).encode()
            target.writestr(item, data)
    return str(copy)


def test_transition_type(tmp_path: Path) -> None:
    plain = Path(deck(tmp_path / "t.pptx"))
    dissolve = with_slide_xml(plain, "ppt/slides/slide1.xml", "</p:sld>",
                              "<p:transition><p:dissolve/></p:transition></p:sld>")
    assert check_transition(dissolve, {"slide_idx": 0, "transition_type": "dissolve"}) == 1.0
    assert check_transition(dissolve, {"slide_idx": 0, "transition_type": "fade"}) == 0.0
    assert check_transition(str(plain), {"slide_idx": 0, "transition_type": "dissolve"}) == 0.0
    assert check_transition(str(plain), {"slide_idx": 3, "transition_type": "dissolve"}) == 0.0


NUMBER_SHAPE = ('<p:sp><p:nvSpPr><p:cNvPr id="99" name="Slide Number"/><p:cNvSpPr/><p:nvPr>'
                '<p:ph type="sldNum"/></p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:p><a:r>'
                '<a:rPr lang="en-US"><a:solidFill><a:srgbClr val="{}"/></a:solidFill></a:rPr>'
                '<a:t>1</a:t></a:r></a:p></p:txBody></p:sp></p:spTree>')


def test_page_number_colour_from_the_master(tmp_path: Path) -> None:
    plain = Path(deck(tmp_path / "n.pptx"))
    master = "ppt/slideMasters/slideMaster1.xml"
    red = with_slide_xml(plain, master, "</p:spTree>", NUMBER_SHAPE.format("E01010"))
    assert check_page_number_colors(red, {"color": "red"}) == 1.0
    assert check_page_number_colors(red, {"color": "blue"}) == 0.0


def test_image_stretched_and_centred(tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    Image.new("RGB", (20, 10), "green").save(picture)

    def placed(left: float, top: float, width: float, height: float, name: str) -> str:
        presentation = Presentation()
        slide = presentation.slides.add_slide(presentation.slide_layouts[6])
        slide.shapes.add_picture(str(picture), Inches(left), Inches(top), Inches(width), Inches(height))
        presentation.save(tmp_path / name)
        return str(tmp_path / name)

    original = placed(1, 1, 2, 1, "o.pptx")
    assert check_image_stretch_and_center(placed(0, 0, 10, 7.5, "f.pptx"), original) == 1.0
    assert check_image_stretch_and_center(original, original) == 0.0


def test_libreoffice_settings_and_left_panel(tmp_path: Path) -> None:
    xcu = tmp_path / "registrymodifications.xcu"
    xcu.write_text(REGISTRY.format(
        '<item oor:path="/org.openoffice.Office.Impress/Misc/Start"><prop oor:name="EnablePresenterScreen" '
        'oor:op="fuse"><value>false</value></prop></item>'
        '<item oor:path="/org.openoffice.Office.Common/Save/Document"><prop oor:name="AutoSaveTimeIntervall" '
        'oor:op="fuse"><value>3</value></prop></item>'))
    assert check_presenter_console_disable(str(xcu)) == 1.0
    assert check_auto_saving_time(str(xcu), {"minutes": 3}) == 1.0
    assert check_auto_saving_time(str(xcu), {"minutes": 5}) == 0.0
    empty = tmp_path / "empty.xcu"
    empty.write_text(REGISTRY.format(""))
    assert check_presenter_console_disable(str(empty)) == 0.0
    assert check_auto_saving_time(str(empty), {"minutes": 3}) == 0.0
    assert check_presenter_console_disable(None) == 0.0
    tree = ('<desktop-frame><application name="soffice"><document-frame name="Slides View"/></application>'
            '</desktop-frame>')
    assert check_left_panel(tree) == 1.0
    assert check_left_panel("<desktop-frame/>") == 0.0
