"""Metrics of OSWorld's Impress tasks beyond whole-presentation comparison: orientation, background
fill, transitions, page-number colour, a stretched image, the slide panel, LibreOffice settings."""

from __future__ import annotations

import math
import zipfile
from typing import Any

from lxml import etree
from pptx import Presentation
from pptx.enum.dml import MSO_FILL
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Inches

from environments.tasks.registry import metric

P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
REGISTRY = "{http://openoffice.org/2001/registry}"
NUMBER_PLACES = ("sldNum", "ftr", "dt")
"""Placeholders that may carry the slide number's colour, the number's own first."""
COLOUR_MARGIN = 50
TOLERANCE = Inches(0.5)
WHITE_DISTANCE = math.sqrt(3 * 255**2)


def _registry_items(path: str, item_path: str) -> list[Any]:
    items = etree.parse(path).getroot().iter("item")
    return [item for item in items if item.get(f"{REGISTRY}path") == item_path]


@metric("check_presenter_console_disable")
def check_presenter_console_disable(result: str | None) -> float:
    """LibreOffice's settings turn Impress's presenter screen off (EnablePresenterScreen false)."""
    try:
        items = _registry_items(result or "", "/org.openoffice.Office.Impress/Misc/Start")
    except (OSError, etree.XMLSyntaxError, TypeError):
        return 0.0
    for item in items:
        for prop in item.findall("prop"):
            if prop.get(f"{REGISTRY}name") == "EnablePresenterScreen":
                value = prop.findtext("value") or ""
                return float(value.lower() == "false")
    return 0.0


@metric("check_auto_saving_time")
def check_auto_saving_time(result: str | None, rules: dict[str, Any]) -> float:
    """LibreOffice's auto-save interval (AutoSaveTimeIntervall) is `minutes`."""
    try:
        items = _registry_items(result or "", "/org.openoffice.Office.Common/Save/Document")
    except (OSError, etree.XMLSyntaxError, TypeError):  # OSWorld returns None (no score) here
        return 0.0
    minutes = None
    for item in items:
        for prop in item.iter("prop"):
            if prop.get(f"{REGISTRY}name") == "AutoSaveTimeIntervall":
                minutes = prop.findtext(".//value")
                break
    return float(minutes is not None and int(minutes) == rules["minutes"])


@metric("check_slide_orientation_Portrait")
def check_slide_orientation_portrait(result: str) -> float:
    presentation = Presentation(result)
    return float(presentation.slide_width < presentation.slide_height)


def _fill_rgb(fill: Any) -> Any:
    try:
        return fill.fore_color.rgb
    except (AttributeError, TypeError):
        return None


def _slide_distance(slide: Any, rgb: list[int], original: list[int] | None) -> float:
    """How far the slide's solid background (or its master's, when inherited) is from `rgb`, 0…1;
    1 when it is not solid, has no RGB, or is still the original colour."""
    fill = slide.background.fill
    if fill.type == MSO_FILL.BACKGROUND:
        fill = slide.slide_layout.slide_master.background.fill
    if fill.type != MSO_FILL.SOLID:
        return 1.0
    colour = _fill_rgb(fill)
    if colour is None:
        return 1.0
    if original is not None and tuple(colour) == tuple(original):
        return 1.0
    return math.dist(colour, rgb) / WHITE_DISTANCE


@metric("evaluate_presentation_fill_to_rgb_distance")
def evaluate_presentation_fill_to_rgb_distance(result: str, rules: dict[str, Any]) -> float:
    """1 minus the mean distance of the slides' background colours to `rgb`."""
    slides = list(Presentation(result).slides)
    original = rules.get("original_rgb")
    return 1 - sum(_slide_distance(slide, rules["rgb"], original) for slide in slides) / len(slides)


@metric("check_transition")
def check_transition(result: str, rules: dict[str, Any]) -> float:
    """Slide `slide_idx` (from 0) has a transition of `transition_type` (e.g. dissolve)."""
    with zipfile.ZipFile(result) as package:
        name = f"ppt/slides/slide{rules['slide_idx'] + 1}.xml"
        if name not in package.namelist():
            return 0.0
        root = etree.fromstring(package.read(name))
    transition = next(root.iter(f"{P}transition"), None)
    if transition is None:
        return 0.0
    return float(next(transition.iter(f"{P}{rules['transition_type']}"), None) is not None)


def _number_colour(master: Any) -> str | None:
    """The colour (RRGGBB) OSWorld takes for slide numbers from the first slide master."""
    def colour_in(element: Any) -> str | None:
        for fill in element.iter(f"{A}solidFill"):
            found = next(fill.iter(f"{A}srgbClr"), None)
            if found is not None:
                return found.get("val")
        return None

    placeholders = list(master.iter(f"{P}ph"))
    first_number = next((p for p in placeholders if p.get("type") == "sldNum"), None)
    if first_number is not None and colour_in(first_number) is not None:
        return colour_in(first_number)
    for placeholder in placeholders:
        if placeholder.get("type") in NUMBER_PLACES and colour_in(placeholder) is not None:
            return colour_in(placeholder)
    in_runs = [c.get("val") for rpr in master.iter(f"{A}rPr") for fill in rpr.iter(f"{A}solidFill")
               for c in fill.iter(f"{A}srgbClr")]
    for value in reversed(in_runs):
        if value and value != "000000":
            return value
    anywhere = [c.get("val") for fill in master.iter(f"{A}solidFill") for c in fill.iter(f"{A}srgbClr")]
    for value in reversed(anywhere):
        if value and value != "000000":
            return value
    return anywhere[-1] if anywhere else None


def _rgb(value: str | None) -> tuple[int, int, int] | None:
    value = (value or "").lstrip("#")
    if len(value) != 6:
        return None
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return None


@metric("check_page_number_colors")
def check_page_number_colors(result: str, rules: dict[str, Any]) -> float:
    """The slide master's page-number colour is clearly `color` (red, blue, green or black)."""
    with zipfile.ZipFile(result) as package:
        master = etree.fromstring(package.read("ppt/slideMasters/slideMaster1.xml"))
    rgb = _rgb(_number_colour(master))
    if rgb is None:
        return 0.0
    r, g, b = rgb
    m = COLOUR_MARGIN
    checks = {"red": r > g + m and r > b + m, "blue": b > g + m and b > r + m,
              "green": g > r + m and g > b + m, "black": r < m and g < m and b < m}
    return float(checks.get(rules["color"], True))


@metric("check_image_stretch_and_center")
def check_image_stretch_and_center(result: str, original: str) -> float:
    """The first slide's picture, found by its bytes, now fills the slide and is centred (within ½ inch)."""
    before, after = Presentation(original), Presentation(result)
    pictures = [s for s in before.slides[0].shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    if not pictures:
        return 0.0
    blob = pictures[0].image.blob
    moved = None
    for shape in after.slides[0].shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE and shape.image.blob == blob:
            moved = shape
    if moved is None:
        return 0.0
    width, height = before.slide_width, before.slide_height
    return float(abs(moved.width - width) <= TOLERANCE and abs(moved.height - height) <= TOLERANCE
                 and abs(moved.left - (width - moved.width) / 2) <= TOLERANCE
                 and abs(moved.top - (height - moved.height) / 2) <= TOLERANCE)


@metric("check_left_panel")
def check_left_panel(tree: str) -> float:
    """Impress's slide panel is open: the accessibility tree has a "Slides View" document frame."""
    root = etree.fromstring(tree.encode() if isinstance(tree, str) else tree)
    return float(any(frame.get("name") == "Slides View" for frame in root.iter("document-frame")))
