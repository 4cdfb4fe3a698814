"""Reading a workbook for compare_table: cell values, styles, conditional formats, charts, pivots, filters."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.formatting.rule import Rule as ConditionalRule
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import coordinate_to_tuple, get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from environments.tasks.metrics.reference import follows_waa
from environments.tasks.metrics.text import read_lines
from environments.tasks.metrics.workbook_waa import WaaCells


@dataclass
class Book:
    """One workbook file, loaded lazily in the forms the rules need."""

    path: str

    @cached_property
    def cells(self) -> Workbook:
        """Formulas, styles, merges, charts, pivots (openpyxl's default load)."""
        return openpyxl.load_workbook(self.path)

    @cached_property
    def values(self) -> Workbook:
        """Cached values of formulas, as stored in the file."""
        return openpyxl.load_workbook(self.path, data_only=True)

    @cached_property
    def waa_cells(self) -> WaaCells:
        return WaaCells(self.path)

    def value(self, sheet: str, coordinate: str) -> Any:
        """The cell's stored value the way OSWorld's read_cell_value decodes it (WAA's, when following it)."""
        if follows_waa():
            return self.waa_cells.value(sheet, coordinate)
        if sheet not in self.values.sheetnames:
            return None
        value = self.values[sheet][coordinate].value
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, (datetime, date, time, timedelta)):
            return float(to_excel(value, self.values.epoch))
        return value

    def frame(self, sheet: str) -> pd.DataFrame | None:
        try:
            return pd.read_excel(self.path, sheet_name=sheet)
        except (ValueError, KeyError):
            return None

    def printed(self, sheet: str) -> list[str] | None:
        """Lines of the CSV export of `sheet`, stripped, trailing blank lines dropped."""
        lines = read_lines(f"{os.path.splitext(self.path)[0]}-{sheet}.csv")
        if lines is None:
            return None
        stripped = [line.strip() for line in lines]
        while stripped and not stripped[-1]:
            stripped.pop()
        return stripped

    def sheet(self, name: str) -> Worksheet | None:
        return self.cells[name] if name in self.cells.sheetnames else None


@dataclass
class Books:
    result: Book
    expected: Book | None
    result_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.result_names = self.result.cells.sheetnames

    def resolve(self, index: int | str) -> tuple[Book, str]:
        """The workbook and sheet name a `sheet_idx` designates."""
        if isinstance(index, int):
            return self.result, _nth(self.result_names, index)
        prefix, rest = index[:2], index[2:]
        if prefix not in ("RI", "RN", "EI", "EN"):
            raise ValueError(f"unrecognised sheet index {index!r}")
        book = self.result if prefix[0] == "R" else self.expected
        assert book is not None, "compare_table checks that rules naming the expected workbook have one"
        return book, _nth(book.cells.sheetnames, int(rest)) if prefix[1] == "I" else rest

    def worksheet(self, index: int | str) -> Worksheet | None:
        book, name = self.resolve(index)
        return book.sheet(name)


def _nth(names: list[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else ""


# --- cell styles (utils._read_cell_style) ---

STYLE_PROPS = {"number_format", "font_name", "font_family", "font_color", "font_bold", "font_italic",
               "font_underline", "font_size", "fill_type", "bgcolor", "fgcolor", "hyperlink", "merge"}
_FONT_ATTRIBUTES = {"font_name": "name", "font_family": "family", "font_bold": "bold", "font_italic": "italic",
                    "font_underline": "underline", "font_size": "size"}


def cell_style(name: str, cell: Cell | MergedCell, dxf: DifferentialStyle | None = None) -> Any:
    """A style property of a cell, or of the conditional format `dxf` applied to it (utils._read_cell_style).

    Font properties and number formats are None for an empty cell; `merge` is True only for the
    covered cells of a merged range (not its top-left cell); `bgcolor` is the cell's pattern
    foreground colour (what spreadsheet apps show as background) or the format's background colour.
    Following WAA (metrics/reference.py), `bgcolor` is the pattern's background colour and `fgcolor`
    its foreground colour, of the format when one applies, else of the cell: LibreOffice writes a
    solid fill's colour into both, Excel and openpyxl into the foreground only, so the readings
    differ on files the latter wrote (an unset background reads 00000000).
    As in OSWorld, a font colour that is not set, or a format without a font or number format,
    raises AttributeError (OSWorld's runner then records no score for the task).
    """
    has_value = cell.value is not None
    if name == "merge":
        if follows_waa():
            raise NotImplementedError("cell style 'merge': WAA's compare_table has no such style")
        return isinstance(cell, MergedCell)
    if name == "hyperlink":
        return cell.hyperlink or ("" if has_value else None)
    if name == "number_format":
        if not has_value or cell.data_type != "n":
            return None
        return cell.number_format if dxf is None else dxf.numFmt.formatCode
    styled = dxf or cell
    if name in _FONT_ATTRIBUTES or name == "font_color":
        if not has_value:
            return None
        if name == "font_color":
            return styled.font.color.rgb
        return getattr(styled.font, _FONT_ATTRIBUTES[name])
    if name == "fill_type":
        return getattr(styled.fill, "tagname", None)
    if name in ("bgcolor", "fgcolor"):
        if follows_waa():
            # WAA's utils reads the field the name says, from the format when one applies.
            try:
                return getattr(styled.fill, "bgColor" if name == "bgcolor" else "fgColor").rgb
            except AttributeError:
                return None
        color = getattr(cell.fill, "fgColor", None) if dxf is None else getattr(dxf.fill, "bgColor", None)
        return getattr(color, "rgb", None)
    raise NotImplementedError(f"cell style {name!r}")


# --- conditional formats, evaluated as OSWorld evaluates them ---

FORMULA_CONDITIONS = {"expression", "containsText", "notContainsText", "beginsWith", "endsWith",
                      "containsErrors", "notContainsErrors"}
_ABSOLUTE = re.compile(r"\$([A-Z]{1,3})\$(\d+)(?::\$([A-Z]{1,3})\$(\d+))?")
"""An absolute reference or range, as OSWorld finds them in a conditional format's formula."""
_CF_OPERATORS: dict[str, Callable[[Any, list[Any]], bool]] = {
    "lessThan": lambda v, r: v < r[0],
    "lessThanOrEqual": lambda v, r: v <= r[0],
    "equal": lambda v, r: v == r[0],
    "notEqual": lambda v, r: v != r[0],
    "greaterThanOrEqual": lambda v, r: v >= r[0],
    "greaterThan": lambda v, r: v > r[0],
    "between": lambda v, r: min(r) <= v <= max(r),
    "notBetween": lambda v, r: not min(r) <= v <= max(r),
}


def _absolute_arguments(book: Book, name: str, formula: str) -> list[Any]:
    """Values of the formula's absolute ranges ($A$1:$B$2), which OSWorld passes after the cell's value.

    OSWorld reads a lone absolute cell ($A$1) as the range "A1:", which openpyxl refuses with a
    ValueError that ends the metric; so does this.
    """
    arguments: list[Any] = []
    for col1, row1, col2, row2 in _ABSOLUTE.findall(formula):
        cells = CellRange(f"{col1}{row1}:{col2}{row2}").cells
        arguments.append([book.value(name, f"{get_column_letter(col)}{row}") for row, col in cells])
    return arguments


Compiled = list[tuple[Callable[..., Any], list[Any]]]


def _compiled(rule: ConditionalRule, book: Book, name: str) -> Compiled | None:
    """Each formula of the rule compiled by the `formulas` engine (as OSWorld does) with its absolute
    ranges' values; None when one does not parse, for OSWorld then skips the rule."""
    import formulas  # ~1 s to import: only workbooks with conditional formats pay for it

    compiled = []
    for formula in rule.formula:
        try:
            function = formulas.Parser().ast("=" + formula)[1].compile()
        except Exception:  # noqa: BLE001 - OSWorld skips a rule whose formula fails to parse, whatever raised
            return None
        compiled.append((function, _absolute_arguments(book, name, formula)))
    return compiled


def _plain(value: Any) -> Any:
    """The engine's 1×1 array result as a plain value."""
    return value.item() if getattr(value, "size", 0) == 1 else value


def _condition(rule: ConditionalRule, book: Book, name: str) -> Callable[[Any], bool] | None:
    """Whether a cell value activates the rule, as OSWorld decides it; None when it never does.

    Formula types call their first formula with the cell's value, then the absolute ranges' values;
    `cellIs` compares the value with its formulas computed without inputs (a formula referencing a
    cell cannot be, so OSWorld skips the rule); other types are never activated.
    """
    compiled = _compiled(rule, book, name)
    if compiled is None:
        return None
    if rule.type in FORMULA_CONDITIONS:
        function, arguments = compiled[0]

        def satisfied(value: Any) -> bool:
            try:
                return bool(_plain(function(value, *arguments)))
            except Exception:  # noqa: BLE001 - OSWorld counts a formula that fails on a value as not active
                return False

        return satisfied
    if rule.type != "cellIs" or rule.operator not in _CF_OPERATORS:
        return None
    try:
        refs = [_plain(function()) for function, _ in compiled]
    except Exception:  # noqa: BLE001 - OSWorld skips the rule whatever the engine raised
        return None
    compare = _CF_OPERATORS[rule.operator]

    def active(value: Any) -> bool:
        try:
            return bool(compare(value, refs))
        except (TypeError, IndexError):
            return False

    return active


def _waa_condition(rule: ConditionalRule, book: Book, name: str) -> Callable[[Any], bool]:
    """Whether a cell value activates the rule, as WAA's utils decides it: expressions only (any other
    type raises NotImplementedError), tried on every cell of the range, empty ones included; a
    formula that does not parse or fails on a value raises."""
    if rule.type != "expression":
        raise NotImplementedError(f"conditional format type {rule.type!r}: WAA evaluates only expressions")
    import formulas

    function = formulas.Parser().ast("=" + rule.formula[0])[1].compile()
    arguments = _absolute_arguments(book, name, rule.formula[0])
    return lambda value: bool(function(value, *arguments))


def load_styles(book: Book, name: str, props: list[str]) -> dict[str, list[Any]]:
    """Concerned style values per coordinate, conditional formats applied (utils.load_xlsx_styles)."""
    sheet = book.sheet(name)
    if sheet is None:
        return {}
    styles = {c.coordinate: [cell_style(p, c) for p in props] for col in sheet.iter_cols() for c in col}
    waa = follows_waa()
    for formatting in sheet.conditional_formatting:
        for rule in formatting.rules:
            active = _waa_condition(rule, book, name) if waa else _condition(rule, book, name)
            if active is None:
                continue
            blanks = 0
            for cell_range in sorted(formatting.cells.ranges, key=lambda r: r.bounds):
                for row, col in cell_range.cells:
                    coordinate = f"{get_column_letter(col)}{row}"
                    value = book.value(name, coordinate)
                    if value is None and not waa:
                        blanks += 1
                        if blanks > 50:
                            break
                        continue
                    if active(value):
                        styles[coordinate] = [cell_style(p, sheet[coordinate], rule.dxf) for p in props]
    return styles


# --- charts, pivot tables, filters, rows and columns (utils.load_*) ---

CHART_PROPS = {"title", "legend", "anchor", "width", "height", "type", "direction", "xtitle", "ytitle", "ztitle"}
_PIVOT_ATTRIBUTES = {"name": "name", "show_total": "visualTotals", "show_empty_row": "showEmptyRow",
                     "show_empty_col": "showEmptyCol", "show_headers": "showHeaders", "location": "location"}
PIVOT_PROPS = {*_PIVOT_ATTRIBUTES, "selection", "filter", "col_fields", "row_fields", "data_fields", "ordered",
               "ignore_special_fields", "data_fields_name"}


def _rich_text(title: Any) -> str | None:
    try:
        return title.tx.rich.p[0].r[0].t
    except (AttributeError, IndexError, TypeError):
        return None


def _formula(source: Any) -> str:
    for kind in ("numRef", "strRef"):
        reference = getattr(source, kind, None)
        if reference is not None:
            return str(reference.f)
    return ""


def _chart_prop(chart: Any, prop: str) -> Any:
    """One of OSWorld's chart properties (utils.load_charts); `anchor` repeats the end row as OSWorld does."""
    if prop == "title":
        return _rich_text(chart.title)
    if prop == "legend":
        return chart.legend.position if chart.legend is not None else None
    if prop == "anchor":
        end = getattr(chart.anchor, "to", None)
        end_row, end_col = getattr(end, "row", None), getattr(end, "col", None)
        return [getattr(chart.anchor, "editAs", None), chart.anchor._from.col, end_row, end_col, end_row]
    if prop in ("width", "height"):
        return getattr(chart, prop)
    if prop == "type":
        return chart.tagname
    if prop == "direction":
        return getattr(chart, "barDir", None)
    axis = getattr(chart, f"{prop[0]}_axis", None)
    return _rich_text(getattr(axis, "title", None))


def load_charts(sheet: Worksheet | None, props: set[str]) -> dict[str, dict[str, Any]]:
    """Charts keyed by their series' value and category references, with the concerned props."""
    charts: dict[str, dict[str, Any]] = {}
    for chart in sheet._charts if sheet is not None else []:
        key = ";".join(f"{_formula(s.val)},{_formula(s.cat)}" for s in chart.series)
        charts[key] = {prop: _chart_prop(chart, prop) for prop in props}
    return charts


def load_pivots(sheet: Worksheet | None, props: set[str]) -> dict[str, dict[str, Any]]:
    """Pivot tables keyed by their source range, with the concerned props (utils.load_pivot_tables).

    Field indices count from the first pivot field that has selected items, as OSWorld counts them.
    """
    pivots: dict[str, dict[str, Any]] = {}
    for pivot in sheet._pivots if sheet is not None else []:
        raw = [[(item.h, item.x) for item in f.items if item.x is not None] for f in pivot.pivotFields]
        left = next((i for i, items in enumerate(raw) if items), len(raw))
        kept = raw[left:]
        right = next((i for i, items in enumerate(reversed(kept)) if items), len(kept))
        selection = kept[:len(kept) - right]
        source = pivot.cache.cacheSource
        first, last = (coordinate_to_tuple(c) for c in source.worksheetSource.ref.split(":"))
        key = (f"{source.type};{(first[0], first[1] + left)}:{(last[0], last[1] - right)};"
               f"{source.worksheetSource.sheet}")
        info: dict[str, Any] = {prop: getattr(pivot, attr) for prop, attr in _PIVOT_ATTRIBUTES.items() if prop in props}
        if "filter" in props or "selection" in props:
            info["selection"] = selection if "ordered" in props else [set(items) for items in selection]
        if "filter" in props:
            info["filter_fields"] = {f.fld for f in pivot.pageFields}
        for prop, fields in (("col_fields", pivot.colFields), ("row_fields", pivot.rowFields)):
            if prop in props:
                indices = [f.x - left for f in fields]
                info[prop] = [i for i in indices if i >= 0] if "ignore_special_fields" in props else indices
        if "data_fields" in props:
            info["data_fields"] = [
                f"{f.fld - left};{f.name if 'data_fields_name' in props else ''};{f.subtotal};{f.showDataAs}"
                for f in pivot.dataFields
            ]
        pivots[key] = info
    return pivots


def load_filters(sheet: Worksheet | None) -> dict[str, Any]:
    """The sheet's auto-filter: range, filter columns and sort state (utils.load_filters)."""
    if sheet is None:
        return {}
    auto = sheet.auto_filter
    columns = []
    for column in auto.filterColumn:
        found: dict[str, Any] = {"col_id": column.colId, "hidden_button": column.hiddenButton,
                                 "show_button": column.showButton}
        if column.filters is not None:
            found.update(filters_blank=column.filters.blank, filters=set(column.filters.filter))
        if column.customFilters is not None:
            found.update(custom_filters_op=column.customFilters._and,
                         custom_filters={(f.operator, f.val) for f in column.customFilters.customFilter})
        columns.append(found)
    filters: dict[str, Any] = {"ref": auto.ref, "filter_column": sorted(columns, key=lambda c: c["col_id"])}
    sort = auto.sortState
    if sort is not None:
        filters["sort_state"] = {
            "sort": sort.columnSort, "case": sort.caseSensitive, "method": sort.sortMethod, "ref": sort.ref,
            "condition": [{"descending": c.descending, "key": c.sortBy, "ref": c.ref, "custom_list": c.customList,
                           "dxf_id": c.dxfId, "icon": c.iconSet, "iconid": c.iconId} for c in sort.sortCondition],
        }
    return filters


def load_dimensions(sheet: Worksheet | None, kind: str, props: list[str]) -> dict[Any, dict[str, Any]]:
    if sheet is None:
        return {}
    holder = sheet.row_dimensions if kind == "row" else sheet.column_dimensions
    return {key: {p: getattr(dim, p) for p in props} for key, dim in holder.items()}


def freeze_key(sheet: Worksheet) -> tuple[Any, ...]:
    """Frozen rows and columns, independent of scrolling (the pane's top-left cell is not)."""
    pane = sheet.sheet_view.pane
    if pane is None:
        return ("none",)
    split = (int(pane.xSplit or 0), int(pane.ySplit or 0))
    if (pane.state or "").lower() in ("frozen", "frozensplit"):
        return ("frozen", *split)
    return ("other", *split, pane.topLeftCell)

