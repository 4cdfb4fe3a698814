"""compare_pptx_files: OSWorld's slide comparison (desktop_env/evaluators/metrics/slides.py).

The result (first file) and the expected presentation are compared slide by slide and shape by
shape; any difference an enabled check looks at scores 0, else 1. The checks and their options
(OSWorld's defaults in OPTIONS): slide count; background colour; notes; number of shapes; shape
position and size within `approximately_tolerance` (relative); tables (size, paragraphs, runs and
their colour, bold, italic and underline); text, paragraph count, alignment, indent level, run
count and each run's font name, size, bold, italic, colour, underline and strike-through; bullet
characters and levels of the slide; and text shapes nested in groups. `examine_title_bottom_position`,
`examine_table_bottom_position`, `examine_right_position`, `examine_top_position` and
`examine_shape_for_shift_size` are OSWorld's task-specific position checks (fixed slide numbers,
texts and EMU thresholds), reproduced as they are.

`examine_shape_lenient_height` comes from an OSWorld version newer than the one this follows: it is
accepted only with `examine_shape` off, where the shape check it relaxes does not run; otherwise it
raises NotImplementedError, as does any other unknown option.
"""

from __future__ import annotations

from typing import Any
from zipfile import BadZipFile

from lxml import etree
from pptx import Presentation
from pptx.enum.dml import MSO_FILL
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.enum.text import PP_ALIGN
from pptx.exc import PackageNotFoundError
from pptx.presentation import Presentation as PresentationType
from pptx.slide import Slide
from pptx.text.text import _Paragraph, _Run

from environments.tasks.metrics.options import PptxOptions
from environments.tasks.registry import metric

OPTIONS: dict[str, Any] = PptxOptions().model_dump()
"""OSWorld's options and their defaults."""
IGNORED_OPTIONS = {"enable_debug"}
"""Options that only switch OSWorld's debug logging. Keys starting with "_" are task comments."""

_NS = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
_SHIFT_SIZE_EXEMPT_TEXT = "Elaborate on what you want to discuss."


def validate_options(options: dict[str, Any]) -> dict[str, Any]:
    """OSWorld's defaults updated with `options`; NotImplementedError for an option not honoured."""
    settings = dict(OPTIONS)
    for key, value in options.items():
        if key in OPTIONS:
            settings[key] = value
        elif key == "examine_shape_lenient_height":
            if value and options.get("examine_shape", True):
                raise NotImplementedError("compare_pptx_files option examine_shape_lenient_height with examine_shape")
        elif key not in IGNORED_OPTIONS and not key.startswith("_"):
            raise NotImplementedError(f"compare_pptx_files option {key!r}")
    return settings


def _has_text(shape: Any) -> bool:
    return hasattr(shape, "text")


def _shape_type(shape: Any) -> MSO_SHAPE_TYPE | None:
    try:
        return shape.shape_type
    except NotImplementedError:
        return None


def _text_shapes(shapes: Any) -> list[Any]:
    """Shapes with text, including those inside groups, in document order."""
    found = []
    for shape in shapes:
        if _has_text(shape) and hasattr(shape, "text_frame"):
            found.append(shape)
        if hasattr(shape, "shapes"):
            found.extend(_text_shapes(shape.shapes))
    return found


def _runs(first: _Paragraph, second: _Paragraph) -> tuple[list[_Run], list[_Run]]:
    """The paragraphs' runs; for two blank paragraphs, only runs with text (so none)."""
    if not first.text.strip() and not second.text.strip():
        return [r for r in first.runs if r.text.strip()], [r for r in second.runs if r.text.strip()]
    return list(first.runs), list(second.runs)


def _has_run_pair(first: _Paragraph, second: _Paragraph) -> bool:
    runs1, runs2 = _runs(first, second)
    return bool(runs1 and runs2)


def _rgb(run: _Run) -> Any:
    """The run's explicit RGB colour, or None when it has none (theme or inherited colour)."""
    try:
        return run.font.color.rgb
    except AttributeError:
        return None


def _alignment(paragraph: _Paragraph) -> PP_ALIGN:
    return paragraph.alignment if paragraph.alignment is not None else PP_ALIGN.LEFT


def _underlines_differ(first: Any, second: Any) -> bool:
    """OSWorld's rule: two set values that differ, or inherited (None) against single (True)."""
    if first == second:
        return False
    if first is not None and second is not None:
        return True
    return first is True or second is True


def _background(slide: Slide) -> Any:
    """The slide's solid background colour, else its master's, else None."""
    for fill in (slide.background.fill, slide.slide_layout.slide_master.background.fill):
        if fill.type == MSO_FILL.SOLID:
            try:
                return fill.fore_color.rgb
            except AttributeError:
                return ("theme", fill.fore_color.theme_color)
        if fill.type != MSO_FILL.BACKGROUND:
            return None
    return None


def _notes(slide: Slide) -> str:
    if not slide.has_notes_slide or slide.notes_slide.notes_text_frame is None:
        return ""
    return slide.notes_slide.notes_text_frame.text.strip()


def _bullets(slide: Slide) -> list[tuple[Any, str, str]]:
    """(level, bullet character, text) of each paragraph with text, from the slide's XML."""
    bullets = []
    for paragraph in etree.fromstring(slide.part.blob).iterfind(".//a:p", _NS):
        text = "".join(t.text or "" for t in paragraph.iterfind(".//a:t", _NS))
        if not text.strip():
            continue
        properties = paragraph.find("a:pPr", _NS)
        if properties is None:
            bullets.append(("No Level", "No Bullet", text))
            continue
        char = properties.find("a:buChar", _NS)
        bullets.append((properties.get("lvl"), char.get("char") if char is not None else "No Bullet", text))
    return bullets


def _bullets_match(first: Slide, second: Slide) -> bool:
    """Same texts and bullet characters; levels (None as "0") only where a bullet shows."""
    bullets1, bullets2 = _bullets(first), _bullets(second)
    if len(bullets1) != len(bullets2):
        return False
    for (level1, char1, text1), (level2, char2, text2) in zip(bullets1, bullets2):
        if text1 != text2 or char1 != char2:
            return False
        if char1 != "No Bullet" and _level(level1) != _level(level2):
            return False
    return True


def _level(level: str | None) -> str:
    return "0" if level is None else level


class _Comparison:
    """The checks of compare_pptx_files under one set of options."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.on = settings

    def close(self, first: Any, second: Any) -> bool:
        if first == second:
            return True
        if not first or not second:
            return False
        return abs(first - second) / max(abs(first), abs(second)) <= self.on["approximately_tolerance"]

    def same_box(self, first: Any, second: Any) -> bool:
        return all(self.close(getattr(first, a), getattr(second, a)) for a in ("left", "top", "width", "height"))

    def presentations(self, first: PresentationType, second: PresentationType) -> bool:
        if self.on["examine_number_of_slides"] and len(first.slides) != len(second.slides):
            return False
        pairs = zip(first.slides, second.slides)
        return all(self.slides(number, a, b) for number, (a, b) in enumerate(pairs, start=1))

    def slides(self, number: int, first: Slide, second: Slide) -> bool:
        if self.on["examine_background_color"] and _background(first) != _background(second):
            return False
        if self.on["examine_note"] and _notes(first) != _notes(second):
            return False
        if len(first.shapes) != len(second.shapes):
            return False
        if not all(self.shapes(number, a, b) for a, b in zip(first.shapes, second.shapes)):
            return False
        if self.on["examine_bullets"] and self.has_run_pair(first, second) and not _bullets_match(first, second):
            return False
        texts1, texts2 = _text_shapes(first.shapes), _text_shapes(second.shapes)
        if len(texts1) != len(texts2):
            return False
        return not self.on["examine_alignment"] or all(self.nested_texts(a, b) for a, b in zip(texts1, texts2))

    def has_run_pair(self, first: Slide, second: Slide) -> bool:
        """Whether OSWorld compares a pair of runs on these slides (it checks bullets with each pair)."""
        return any(
            _has_run_pair(p1, p2)
            for s1, s2 in zip(first.shapes, second.shapes) if _has_text(s1) and _has_text(s2)
            for p1, p2 in zip(s1.text_frame.paragraphs, s2.text_frame.paragraphs)
        )

    def shapes(self, number: int, first: Any, second: Any) -> bool:
        return self.positions(number, first, second) and self.sizes(first, second) and self.contents(first, second)

    def positions(self, number: int, first: Any, second: Any) -> bool:
        """OSWorld's task-specific position checks (slide numbers, texts and EMU limits are theirs)."""
        on, both_text = self.on, _has_text(first) and _has_text(second)
        types = (_shape_type(first), _shape_type(second))
        if on["examine_title_bottom_position"]:
            if both_text and first.text == second.text:
                if first.text == "Product Comparison" and (first.top <= second.top or first.top < 3600000):
                    return False
            elif not self.same_box(first, second):
                return False
        if on["examine_table_bottom_position"]:
            if number == 3 and types == (MSO_SHAPE_TYPE.TABLE, MSO_SHAPE_TYPE.TABLE):
                if first.top <= second.top or first.top < 3600000:
                    return False
            elif not self.same_box(first, second):
                return False
        untexted = not _has_text(first) and not _has_text(second)
        if (on["examine_right_position"] and number == 2 and untexted
                and (first.left <= second.left or first.left < 4320000)):
            return False
        pictures = types == (MSO_SHAPE_TYPE.PICTURE, MSO_SHAPE_TYPE.PICTURE)
        if (on["examine_top_position"] and number == 2 and pictures
                and (first.top >= second.top or first.top > 1980000)):
            return False
        if on["examine_shape_for_shift_size"] and not self.same_box(first, second):
            return both_text and first.text == second.text == _SHIFT_SIZE_EXEMPT_TEXT
        return True

    def sizes(self, first: Any, second: Any) -> bool:
        """`examine_shape` (skipped for two shapes without text), `examine_image_size`, `examine_modify_height`."""
        on, same_box = self.on, self.same_box(first, second)
        types = (_shape_type(first), _shape_type(second))
        blank = not (getattr(first, "text", "") or "").strip() and not (getattr(second, "text", "") or "").strip()
        if on["examine_shape"] and not same_box and not blank:
            return False
        if on["examine_image_size"]:
            if types == (MSO_SHAPE_TYPE.PICTURE, MSO_SHAPE_TYPE.PICTURE):
                if not (self.close(first.width, second.width) and self.close(first.height, second.height)):
                    return False
            elif not same_box:
                return False
        if on["examine_modify_height"]:
            untexted = not _has_text(first) and not _has_text(second)
            if untexted or types == (MSO_SHAPE_TYPE.FREEFORM, MSO_SHAPE_TYPE.FREEFORM):
                return self.close(first.height, second.height)
            return same_box
        return True

    def contents(self, first: Any, second: Any) -> bool:
        if _shape_type(first) == MSO_SHAPE_TYPE.TABLE and not self.tables(first, second):
            return False
        return not (_has_text(first) and _has_text(second)) or self.texts(first, second)

    def tables(self, first: Any, second: Any) -> bool:
        """Same size; per cell, same paragraph count; per run, colour (if examined), bold, italic, underline."""
        if not getattr(second, "has_table", False):
            return False
        table1, table2 = first.table, second.table
        if len(table1.rows) != len(table2.rows) or len(table1.columns) != len(table2.columns):
            return False
        for row in range(len(table1.rows)):
            for col in range(len(table1.columns)):
                paragraphs1 = table1.cell(row, col).text_frame.paragraphs
                paragraphs2 = table2.cell(row, col).text_frame.paragraphs
                if len(paragraphs1) != len(paragraphs2):
                    return False
                for p1, p2 in zip(paragraphs1, paragraphs2):
                    runs1, runs2 = _runs(p1, p2)
                    if self.on["examine_run_count"] and len(runs1) != len(runs2):
                        return False
                    if not all(self.table_runs(r1, r2) for r1, r2 in zip(runs1, runs2)):
                        return False
        return True

    def table_runs(self, first: _Run, second: _Run) -> bool:
        font1, font2 = first.font, second.font
        rgb1, rgb2 = _rgb(first), _rgb(second)
        if self.on["examine_color_rgb"] and rgb1 is not None and rgb2 is not None and rgb1 != rgb2:
            return False
        return (bool(font1.bold) == bool(font2.bold) and bool(font1.italic) == bool(font2.italic)
                and not _underlines_differ(font1.underline, font2.underline))

    def texts(self, first: Any, second: Any) -> bool:
        on = self.on
        if on["examine_text"] and first.text.strip() != second.text.strip():
            return False
        paragraphs1, paragraphs2 = first.text_frame.paragraphs, second.text_frame.paragraphs
        if len(paragraphs1) != len(paragraphs2):
            return False
        for p1, p2 in zip(paragraphs1, paragraphs2):
            if on["examine_alignment"] and _alignment(p1) != _alignment(p2):
                return False
            if on["examine_text"] and p1.text != p2.text:
                return False
            if on["examine_indent"] and p1.level != p2.level and not {p1.level, p2.level} <= {0, 1}:
                return False
            runs1, runs2 = _runs(p1, p2)
            if on["examine_run_count"] and len(runs1) != len(runs2):
                return False
            if not all(self.runs(r1, r2) for r1, r2 in zip(runs1, runs2)):
                return False
        return True

    def runs(self, first: _Run, second: _Run) -> bool:
        on, font1, font2 = self.on, first.font, second.font
        rgb1, rgb2 = _rgb(first), _rgb(second)
        strike1, strike2 = (f._element.attrib.get("strike", "noStrike") for f in (font1, font2))
        return not (
            (on["examine_font_name"] and font1.name != font2.name)
            or (on["examine_font_size"] and font1.size != font2.size)
            or (on["examine_font_bold"] and bool(font1.bold) != bool(font2.bold))
            or (on["examine_font_italic"] and bool(font1.italic) != bool(font2.italic))
            or (on["examine_color_rgb"] and rgb1 is not None and rgb2 is not None and rgb1 != rgb2)
            or (on["examine_font_underline"] and _underlines_differ(font1.underline, font2.underline))
            or (on["examine_strike_through"] and strike1 != strike2)
        )

    def nested_texts(self, first: Any, second: Any) -> bool:
        """The extra pass over text shapes including grouped ones: text, paragraph count, alignment."""
        if self.on["examine_text"] and first.text.strip() != second.text.strip():
            return False
        paragraphs1, paragraphs2 = first.text_frame.paragraphs, second.text_frame.paragraphs
        if len(paragraphs1) != len(paragraphs2):
            return False
        return all(_alignment(p1) == _alignment(p2) for p1, p2 in zip(paragraphs1, paragraphs2))


@metric("compare_pptx_files", PptxOptions)
def compare_pptx_files(result: str | None, expected: str | None, *, options: PptxOptions) -> float:
    """1 when the result presentation matches the expected one under OSWorld's checks (module doc)."""
    settings = validate_options(options.model_dump(exclude_unset=True))
    if not result or not expected:
        return 0.0
    try:
        first, second = Presentation(result), Presentation(expected)
    except (PackageNotFoundError, BadZipFile, KeyError, OSError, ValueError):
        return 0.0
    return float(_Comparison(settings).presentations(first, second))
