"""The compare_table rule language: value matching, each rule type's check, and rule validation."""

from __future__ import annotations

import builtins
import functools
import operator
import re
from collections.abc import Callable
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import ColumnDimension, RowDimension
from rapidfuzz import fuzz

from environments.tasks.metrics.workbook import (
    CHART_PROPS, PIVOT_PROPS, STYLE_PROPS, Books, cell_style, freeze_key, load_charts, load_dimensions,
    load_filters, load_pivots, load_styles,
)

Rule = dict[str, Any]


# --- matching a value against {"method": ..., "ref": ...} (utils._match_value_to_rule) ---

COMPARISONS = {"eq", "ne", "le", "lt", "ge", "gt"}


def _method_known(method: str) -> bool:
    return (method in COMPARISONS or method.startswith(("re", "approx:", "range."))
            or method in ("spreadsheet_range", "str_list_eq", "str_set_eq"))


def match_value(value: Any, rule: Rule) -> bool:
    """OSWorld's value rules: re[.FLAG…], eq/ne/le/lt/ge/gt, approx:TOL, range.XY, spreadsheet_range,
    str_list_eq/str_set_eq. A value of the wrong type fails the rule."""
    method, ref = rule["method"], rule["ref"]
    try:
        if method.startswith("re"):
            flags = functools.reduce(operator.or_, (getattr(re, f) for f in method.split(".")[1:]), 0)
            return re.search(ref, value, flags) is not None
        if method in COMPARISONS:
            return bool(getattr(operator, method)(value, ref))
        if method.startswith("approx:"):
            return abs(float(value) - ref) <= float(method.split(":")[1])
        if method.startswith("range."):
            left, right = (getattr(operator, "l" + bound) for bound in method[6:8])
            return bool(left(ref[0], value) and right(value, ref[1]))
        if method == "spreadsheet_range":
            inner, outer = MultiCellRange(ref[0]), MultiCellRange(ref[1])
            return all(r in value for r in inner.ranges) and all(r in outer for r in value.ranges)
        if method in ("str_list_eq", "str_set_eq"):
            container = getattr(builtins, method[4:-3])
            return container(value.strip("\"'").split(",")) == container(ref)
    except (TypeError, ValueError, AttributeError):
        return False
    raise NotImplementedError(f"value rule method {method!r}")


# --- the rules ---

def _sheet_name(books: Books, rule: Rule) -> bool:
    assert books.expected is not None
    return books.result_names == books.expected.cells.sheetnames


def _sheet_data(books: Books, rule: Rule) -> bool:
    frames = [book.frame(name) for book, name in map(books.resolve, _pair(rule))]
    if any(f is None for f in frames):
        return False
    precision = rule.get("precision", 4)
    return frames[0].round(precision).equals(frames[1].round(precision))


def _sheet_print(books: Books, rule: Rule) -> bool:
    printed = [book.printed(name) for book, name in map(books.resolve, _pair(rule))]
    if any(p is None for p in printed):
        return False
    if rule.get("ignore_case", False):
        printed = [[line.lower() for line in lines] for lines in printed]
    return printed[0] == printed[1]


FUZZY_TYPES = {"includes", "included_by", "fuzzy_match", "exact_match"}
"""`sheet_fuzzy` comparisons: the result cell includes / is included by / fuzzily or exactly equals."""


def _fuzzy_normalize(value: str, spec: Rule) -> str:
    for old, new in spec.get("normalization", []):
        value = value.replace(old, new)
    if "trim_leadings" in spec:
        value = value.lstrip(spec["trim_leadings"])
    if "trim_trailings" in spec:
        value = value.rstrip(spec["trim_trailings"])
    if "ignore_chars" in spec:
        value = "".join(ch for ch in value if ch not in spec["ignore_chars"])
    return value.lower() if spec.get("ignore_case", False) else value


def _sheet_fuzzy(books: Books, rule: Rule) -> bool:
    (book0, name0), (book1, name1) = map(books.resolve, _pair(rule))
    for spec in rule["rules"]:
        for text_range in spec["range"]:
            for row, col in CellRange(text_range).cells:
                coordinate = f"{get_column_letter(col)}{row}"
                first = _fuzzy_normalize(str(book0.value(name0, coordinate)), spec)
                second = _fuzzy_normalize(str(book1.value(name1, coordinate)), spec)
                if not _fuzzy_match(first, second, spec):
                    return False
    return True


def _fuzzy_match(first: str, second: str, spec: Rule) -> bool:
    kind = spec["type"]
    if kind == "includes":
        return second in first
    if kind == "included_by":
        return first in second
    if kind == "fuzzy_match":
        return fuzz.ratio(first, second) >= spec.get("threshold", 85.0)
    return first == second


def _chart(books: Books, rule: Rule) -> bool:
    props = set(rule.get("chart_props", []))
    return (load_charts(books.worksheet(rule["sheet_idx0"]), props)
            == load_charts(books.worksheet(rule["sheet_idx1"]), props))


def _style(books: Books, rule: Rule) -> bool:
    props = rule.get("props", [])
    return (load_styles(*books.resolve(rule["sheet_idx0"]), props)
            == load_styles(*books.resolve(rule["sheet_idx1"]), props))


def _freeze(books: Books, rule: Rule) -> bool:
    sheets = [books.worksheet(i) for i in _pair(rule)]
    return None not in sheets and freeze_key(sheets[0]) == freeze_key(sheets[1])


def _zoom(books: Books, rule: Rule) -> bool:
    sheet = books.worksheet(rule["sheet_idx"])
    return sheet is not None and match_value(sheet.sheet_view.zoomScale or 100.0, rule)


def _data_validation(books: Books, rule: Rule) -> bool:
    """Every validation of the sheet matches one of `dv_props`, and there are at least as many."""
    sheet = books.worksheet(rule["sheet_idx"])
    if sheet is None:
        return False
    validations = sheet.data_validations.dataValidation
    wanted = rule["dv_props"]

    def fits(dv: Any) -> bool:
        return any(all(match_value(getattr(dv, attr), spec) for attr, spec in props.items()) for props in wanted)

    return len(validations) >= len(wanted) and all(fits(dv) for dv in validations)


def _row_props(books: Books, rule: Rule) -> bool:
    return _same(lambda i: load_dimensions(books.worksheet(i), "row", rule.get("props", [])), rule)


def _col_props(books: Books, rule: Rule) -> bool:
    return _same(lambda i: load_dimensions(books.worksheet(i), "column", rule.get("props", [])), rule)


def _filter(books: Books, rule: Rule) -> bool:
    return _same(lambda i: load_filters(books.worksheet(i)), rule)


def _pivot_table(books: Books, rule: Rule) -> bool:
    return _same(lambda i: load_pivots(books.worksheet(i), set(rule.get("pivot_props", []))), rule)


def _check_cell(books: Books, rule: Rule) -> bool:
    book, name = books.resolve(rule["sheet_idx"])
    sheet = book.sheet(name)
    if sheet is None:
        return False
    cell = sheet[rule["coordinate"]]
    for prop, spec in rule["props"].items():
        value = book.value(name, rule["coordinate"]) if prop == "value" else cell_style(prop, cell)
        if not match_value(value, spec):
            return False
    return True


def _pair(rule: Rule) -> tuple[int | str, int | str]:
    return rule["sheet_idx0"], rule["sheet_idx1"]


def _same(load: Callable[[int | str], Any], rule: Rule) -> bool:
    return load(rule["sheet_idx0"]) == load(rule["sheet_idx1"])


RULES: dict[str, Callable[[Books, Rule], bool]] = {
    "sheet_name": _sheet_name, "sheet_data": _sheet_data, "sheet_print": _sheet_print,
    "sheet_fuzzy": _sheet_fuzzy, "chart": _chart, "style": _style, "freeze": _freeze, "zoom": _zoom,
    "data_validation": _data_validation, "row_props": _row_props, "col_props": _col_props,
    "filter": _filter, "pivot_table": _pivot_table, "check_cell": _check_cell,
}
"""Rule types this module implements; OSWorld also has `sparkline`."""


def validate_rules(rules: list[Rule]) -> None:
    """Raise NotImplementedError naming the first rule (or rule option) this module cannot honour."""
    for rule in rules:
        kind = rule["type"]
        if kind not in RULES:
            raise NotImplementedError(f"compare_table rule type {kind!r}")
        unknown: set[str] = set()
        specs: list[Rule] = []
        if kind == "sheet_fuzzy":
            unknown = {spec["type"] for spec in rule["rules"]} - FUZZY_TYPES
        elif kind == "style":
            unknown = set(rule.get("props", [])) - STYLE_PROPS
        elif kind == "check_cell":
            unknown = set(rule["props"]) - STYLE_PROPS - {"value"}
            specs = list(rule["props"].values())
        elif kind == "chart":
            unknown = set(rule.get("chart_props", [])) - CHART_PROPS
        elif kind == "pivot_table":
            unknown = set(rule.get("pivot_props", [])) - PIVOT_PROPS
        elif kind in ("row_props", "col_props"):
            dimension = RowDimension if kind == "row_props" else ColumnDimension
            unknown = {p for p in rule.get("props", []) if not hasattr(dimension, p)}
        elif kind == "data_validation":
            unknown = {a for props in rule["dv_props"] for a in props if not hasattr(DataValidation(), a)}
            specs = [spec for props in rule["dv_props"] for spec in props.values()]
        elif kind == "zoom":
            specs = [rule]
        unknown |= {spec["method"] for spec in specs if not _method_known(spec["method"])}
        if unknown:
            raise NotImplementedError(f"compare_table {kind} rule with {sorted(unknown)}")

