"""Option models of the metrics that take options, with OSWorld's defaults; the others take `NoOptions`.

Flags keep OSWorld's truthiness (it reads them with `options.get(key, default)` and `if`).
Unknown options are ignored, as OSWorld's `**options` metrics ignore them, except by
compare_pptx_files, which refuses options it does not honour (metrics/slides.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue

from environments.tasks.parameters import Params, Truthy


class DocxOptions(Params):
    """compare_docx_files."""

    ignore_order: Truthy = False
    delete_empty_lines: Truthy = False
    content_only: Truthy = False
    ignore_blanks: Truthy = True
    fuzzy_match: Truthy = False
    ignore_case: Truthy = False


class TextFileOptions(Params):
    """compare_text_file."""

    ignore_blanks: Truthy = False
    ignore_case: Truthy = False


class CsvOptions(Params):
    """compare_csv."""

    strict: Truthy = True
    ignore_case: Truthy = False


class ImageOptions(Params):
    """compare_images: the SSIM an untouched result would get, to rescale the score from."""

    reference_base_result: float | None = None


class PptxOptions(BaseModel):
    """compare_pptx_files: OSWorld's options and defaults; other keys are kept for the metric to judge."""

    model_config = ConfigDict(extra="allow", frozen=True)
    examine_number_of_slides: Truthy = True
    examine_shape: Truthy = True
    examine_text: Truthy = True
    examine_indent: Truthy = True
    examine_font_name: Truthy = True
    examine_font_size: Truthy = True
    examine_font_bold: Truthy = True
    examine_font_italic: Truthy = True
    examine_color_rgb: Truthy = True
    examine_font_underline: Truthy = True
    examine_strike_through: Truthy = True
    examine_alignment: Truthy = True
    examine_title_bottom_position: Truthy = False
    examine_table_bottom_position: Truthy = False
    examine_run_count: Truthy = True
    examine_right_position: Truthy = False
    examine_top_position: Truthy = False
    examine_shape_for_shift_size: Truthy = False
    examine_image_size: Truthy = False
    examine_modify_height: Truthy = False
    examine_bullets: Truthy = True
    examine_background_color: Truthy = True
    examine_note: Truthy = True
    approximately_tolerance: float = 0.005


class TableRule(BaseModel):
    """One compare_table rule: its `type` and that type's own fields, read by metrics/table_rules.py."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str

    def spec(self) -> dict[str, JsonValue]:
        """The rule as the task file writes it."""
        return self.model_dump()


class TableOptions(Params):
    """compare_table."""

    rules: list[TableRule]
