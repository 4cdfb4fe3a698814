"""compare_table: OSWorld's rule types on workbooks built here with openpyxl, and the real tasks' rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.pivot.cache import CacheDefinition, CacheField, CacheSource, SharedItems, WorksheetSource
from openpyxl.pivot.table import DataField, FieldItem, Location, PivotField, RowColField, TableDefinition
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from environments.tasks import load_tasks
from environments.tasks.metrics import slides, table_rules
from environments.tasks.metrics.table import compare_table
from environments.tasks.registry import METRICS

SHARED = Path(__file__).resolve().parents[4] / "shared" / "osworld"
ROWS = [("Name", "Score", "Grade"), ("Ada", 91.25, "A"), ("Bob", 78.5, "C"), ("Cy", 85.0, "B")]
RED = "FFFF0000"


def book(path: Path, rows: list[tuple] = ROWS, edit: Callable[[Workbook], None] | None = None) -> str:
    """An .xlsx with `rows` in Sheet1, changed by `edit`."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    for row in rows:
        sheet.append(row)
    if edit:
        edit(workbook)
    workbook.save(path)
    return str(path)


def pair(tmp_path: Path, result_edit: Callable | None = None, expected_edit: Callable | None = None,
         result_rows: list[tuple] = ROWS) -> tuple[str, str]:
    return (book(tmp_path / "result.xlsx", result_rows, result_edit),
            book(tmp_path / "gold.xlsx", ROWS, expected_edit))


def rule(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "sheet_idx0": 0, "sheet_idx1": "EI0", **fields}


def test_sheet_data_compares_values_rounded_to_the_precision(tmp_path: Path) -> None:
    same = pair(tmp_path)
    assert compare_table(*same, rules=[rule("sheet_data")]) == 1.0
    assert compare_table(*same, rules=[rule("sheet_data", sheet_idx0="RNSheet1", sheet_idx1="ENSheet1")]) == 1.0
    assert compare_table(*same, rules=[rule("sheet_data", sheet_idx0="RI0", sheet_idx1="EI0")]) == 1.0
    close = [ROWS[0], ("Ada", 91.250001, "A"), *ROWS[2:]]
    assert compare_table(*pair(tmp_path, result_rows=close), rules=[rule("sheet_data")]) == 1.0
    assert compare_table(*pair(tmp_path, result_rows=close), rules=[rule("sheet_data", precision=6)]) == 0.0
    changed = [ROWS[0], ("Ada", 91.25, "B"), *ROWS[2:]]
    assert compare_table(*pair(tmp_path, result_rows=changed), rules=[rule("sheet_data")]) == 0.0
    assert compare_table(*same, rules=[rule("sheet_data", sheet_idx0="RNSheet9")]) == 0.0


def test_missing_or_unreadable_result_scores_zero(tmp_path: Path) -> None:
    _, gold = pair(tmp_path)
    rules = [rule("sheet_data")]
    assert compare_table(None, gold, rules=rules) == 0.0
    assert compare_table(str(tmp_path / "missing.xlsx"), gold, rules=rules) == 0.0
    (tmp_path / "broken.xlsx").write_text("not a workbook")
    assert compare_table(str(tmp_path / "broken.xlsx"), gold, rules=rules) == 0.0
    result, _ = pair(tmp_path)
    assert compare_table(result, str(tmp_path / "missing_gold.xlsx"), rules=rules) == 0.0
    assert compare_table(result, rules=rules) == 0.0


def test_sheet_name(tmp_path: Path) -> None:
    assert compare_table(*pair(tmp_path), rules=[{"type": "sheet_name"}]) == 1.0
    extra = pair(tmp_path, result_edit=lambda wb: wb.create_sheet("Extra"))
    assert compare_table(*extra, rules=[{"type": "sheet_name"}]) == 0.0


def test_sheet_print_compares_the_csv_exports(tmp_path: Path) -> None:
    result, gold = pair(tmp_path)
    (tmp_path / "gold-Sheet1.csv").write_text("Name,Score\nAda,91.25\n\n")
    (tmp_path / "result-Sheet1.csv").write_text("Name,Score \n Ada,91.25\n")
    rules = [rule("sheet_print", sheet_idx0="RNSheet1", sheet_idx1="ENSheet1")]
    assert compare_table(result, gold, rules=rules) == 1.0
    (tmp_path / "result-Sheet1.csv").write_text("NAME,Score\nAda,91.25\n")
    assert compare_table(result, gold, rules=rules) == 0.0
    assert compare_table(result, gold, rules=[{**rules[0], "ignore_case": True}]) == 1.0
    (tmp_path / "result-Sheet1.csv").unlink()
    assert compare_table(result, gold, rules=rules) == 0.0


def test_sheet_fuzzy_rules(tmp_path: Path) -> None:
    gold_rows = [("Address", "Phone"), ("12 Main St", "+1 (555) 010-2000")]
    result_rows = [("address", "Phone"), ("12 Main Street ", "555 010")]
    result = book(tmp_path / "result.xlsx", result_rows)
    gold = book(tmp_path / "gold.xlsx", gold_rows)

    def fuzzy(*specs: dict) -> list[dict]:
        return [rule("sheet_fuzzy", sheet_idx0="RNSheet1", sheet_idx1="ENSheet1", rules=list(specs))]

    assert compare_table(result, gold, rules=fuzzy({"range": ["A1:A1"], "type": "exact_match"})) == 0.0
    assert compare_table(result, gold, rules=fuzzy({"range": ["A1:A1"], "type": "exact_match",
                                                     "ignore_case": True})) == 1.0
    address = {"range": ["A2:A2"], "type": "fuzzy_match", "threshold": 85,
               "normalization": [["St", "Street"]], "trim_trailings": " "}
    phone = {"range": ["B2:B2"], "type": "included_by", "trim_leadings": "+1 ", "ignore_chars": " ()-"}
    assert compare_table(result, gold, rules=fuzzy(address, phone)) == 1.0
    assert compare_table(result, gold, rules=fuzzy({**phone, "type": "includes"})) == 0.0
    assert compare_table(result, gold, rules=fuzzy({"range": ["A2:B2"], "type": "fuzzy_match", "threshold": 99})) == 0.0


def fill(cells: list[str], **kwargs: Any) -> Callable[[Workbook], None]:
    def edit(workbook: Workbook) -> None:
        for coordinate in cells:
            workbook.active[coordinate].fill = PatternFill("solid", fgColor=RED)
            workbook.active[coordinate].font = Font(**kwargs)
    return edit


def test_style_compares_cell_styles(tmp_path: Path) -> None:
    bg = [rule("style", props=["bgcolor"])]
    assert compare_table(*pair(tmp_path, fill(["B2"]), fill(["B2"])), rules=bg) == 1.0
    assert compare_table(*pair(tmp_path, fill(["B3"]), fill(["B2"])), rules=bg) == 0.0
    font = [rule("style", props=["font_color"])]
    assert compare_table(*pair(tmp_path, fill(["B2"], color="FF00FF00"), fill(["B2"], color="FF00FF00")), rules=font) == 1.0
    assert compare_table(*pair(tmp_path, fill(["B2"], color="FF0000FF"), fill(["B2"], color="FF00FF00")), rules=font) == 0.0


def test_style_applies_conditional_formats_with_literal_operands(tmp_path: Path) -> None:
    def highlight(formula: str) -> Callable[[Workbook], None]:
        def edit(workbook: Workbook) -> None:
            workbook.active.conditional_formatting.add(
                "B2:B4", CellIsRule(operator="greaterThan", formula=[formula], fill=PatternFill(bgColor=RED)))
        return edit

    bg = [rule("style", props=["bgcolor"])]
    assert compare_table(*pair(tmp_path, highlight("80"), fill(["B2", "B4"])), rules=bg) == 1.0
    assert compare_table(*pair(tmp_path, highlight("90"), fill(["B2", "B4"])), rules=bg) == 0.0
    # A relative reference cannot be computed without inputs: OSWorld skips the format.
    assert compare_table(*pair(tmp_path, highlight("B3"), fill(["B2", "B4"])), rules=bg) == 0.0
    assert compare_table(*pair(tmp_path, highlight("B3"), None), rules=bg) == 1.0
    # A lone absolute cell is read by OSWorld as the range "B3:", which raises: so does ours.
    with pytest.raises(ValueError, match="B3:"):
        compare_table(*pair(tmp_path, highlight("$B$3"), None), rules=bg)


def test_style_evaluates_formula_conditions_with_the_formulas_engine(tmp_path: Path) -> None:
    def formula(text: str, cells: str = "B2:B4") -> Callable[[Workbook], None]:
        def edit(workbook: Workbook) -> None:
            rule = FormulaRule(formula=[text], fill=PatternFill(bgColor=RED))
            workbook.active.conditional_formatting.add(cells, rule)
        return edit

    bg = [rule("style", props=["bgcolor"])]
    # the cell's own value goes to the formula's first reference, as OSWorld calls it
    assert compare_table(*pair(tmp_path, formula("B2>80"), fill(["B2", "B4"])), rules=bg) == 1.0
    contains_b = formula('ISNUMBER(SEARCH("b",C2))', "C2:C4")
    assert compare_table(*pair(tmp_path, contains_b, None), rules=bg) == 0.0
    assert compare_table(*pair(tmp_path, contains_b, fill(["C4"])), rules=bg) == 1.0
    # a formula the engine cannot parse makes OSWorld skip the format
    assert compare_table(*pair(tmp_path, formula("B2>>"), None), rules=bg) == 1.0


def test_freeze(tmp_path: Path) -> None:
    def freeze(cell: str) -> Callable[[Workbook], None]:
        return lambda workbook: setattr(workbook.active, "freeze_panes", cell)

    assert compare_table(*pair(tmp_path, freeze("B2"), freeze("B2")), rules=[rule("freeze")]) == 1.0
    assert compare_table(*pair(tmp_path, freeze("A2"), freeze("B2")), rules=[rule("freeze")]) == 0.0
    assert compare_table(*pair(tmp_path, None, freeze("B2")), rules=[rule("freeze")]) == 0.0


def test_zoom(tmp_path: Path) -> None:
    def zoom(scale: int) -> Callable[[Workbook], None]:
        return lambda workbook: setattr(workbook.active.sheet_view, "zoomScale", scale)

    rules = [{"type": "zoom", "sheet_idx": 0, "method": "lt", "ref": 260}]
    assert compare_table(book(tmp_path / "r.xlsx", edit=zoom(100)), rules=rules) == 1.0
    assert compare_table(book(tmp_path / "r.xlsx", edit=zoom(300)), rules=rules) == 0.0
    assert compare_table(book(tmp_path / "r.xlsx"), rules=rules) == 1.0


def test_data_validation_uses_the_real_tasks_rule(tmp_path: Path) -> None:
    def validation(options: str, cells: str = "D2:D29") -> Callable[[Workbook], None]:
        def edit(workbook: Workbook) -> None:
            check = DataValidation(type="list", formula1=f'"{options}"')
            check.add(cells)
            workbook.active.add_data_validation(check)
        return edit

    rules = [{"type": "data_validation", "sheet_idx": 0, "dv_props": [{
        "ranges": {"method": "spreadsheet_range", "ref": ["D2:D29", "D2:D1048576"]},
        "type": {"method": "eq", "ref": "list"},
        "formula1": {"method": "str_set_eq", "ref": ["Pass", "Fail", "Held"]},
    }]}]
    assert compare_table(book(tmp_path / "r.xlsx", edit=validation("Held,Pass,Fail")), rules=rules) == 1.0
    assert compare_table(book(tmp_path / "r.xlsx", edit=validation("Pass,Fail")), rules=rules) == 0.0
    assert compare_table(book(tmp_path / "r.xlsx", edit=validation("Pass,Fail,Held", "D3:D29")), rules=rules) == 0.0
    assert compare_table(book(tmp_path / "r.xlsx"), rules=rules) == 0.0


def test_row_and_column_props(tmp_path: Path) -> None:
    def hide(row: int) -> Callable[[Workbook], None]:
        return lambda workbook: setattr(workbook.active.row_dimensions[row], "hidden", True)

    def widen(width: float) -> Callable[[Workbook], None]:
        return lambda workbook: setattr(workbook.active.column_dimensions["A"], "width", width)

    rows = [rule("row_props", props=["hidden"])]
    assert compare_table(*pair(tmp_path, hide(3), hide(3)), rules=rows) == 1.0
    assert compare_table(*pair(tmp_path, hide(2), hide(3)), rules=rows) == 0.0
    cols = [rule("col_props", props=["width", "hidden"])]
    assert compare_table(*pair(tmp_path, widen(20), widen(20)), rules=cols) == 1.0
    assert compare_table(*pair(tmp_path, widen(30), widen(20)), rules=cols) == 0.0


def test_filter(tmp_path: Path) -> None:
    def auto_filter(ref: str, values: list[str] | None = None) -> Callable[[Workbook], None]:
        def edit(workbook: Workbook) -> None:
            workbook.active.auto_filter.ref = ref
            if values:
                workbook.active.auto_filter.add_filter_column(2, values)
        return edit

    assert compare_table(*pair(tmp_path, auto_filter("A1:C4", ["A"]), auto_filter("A1:C4", ["A"])),
                         rules=[rule("filter")]) == 1.0
    assert compare_table(*pair(tmp_path, auto_filter("A1:C4", ["B"]), auto_filter("A1:C4", ["A"])),
                         rules=[rule("filter")]) == 0.0
    assert compare_table(*pair(tmp_path, auto_filter("A1:B4"), auto_filter("A1:C4")), rules=[rule("filter")]) == 0.0


def pivot(row_field: int) -> Callable[[Workbook], None]:
    """A pivot table on Sheet2 summing Score by the field `row_field` of Sheet1!A1:C4."""
    def edit(workbook: Workbook) -> None:
        fields = [CacheField(name=name, sharedItems=SharedItems()) for name in ROWS[0]]
        source = CacheSource(type="worksheet", worksheetSource=WorksheetSource(ref="A1:C4", sheet="Sheet1"))
        definition = TableDefinition(
            name="Pivot", cacheId=1, dataCaption="Values",
            location=Location(ref="A3:B6", firstHeaderRow=1, firstDataRow=1, firstDataCol=1),
            pivotFields=[PivotField(axis="axisRow" if i == row_field else None, showAll=False,
                                    items=[FieldItem(x=0), FieldItem(x=1), FieldItem(t="default")]
                                    if i == row_field else [])
                         for i in range(3)],
            rowFields=[RowColField(x=row_field)], dataFields=[DataField(name="Sum", fld=1, subtotal="sum")])
        definition.cache = CacheDefinition(cacheSource=source, cacheFields=fields)
        workbook.create_sheet("Sheet2").add_pivot(definition)
    return edit


def test_pivot_table(tmp_path: Path) -> None:
    rules = [rule("pivot_table", sheet_idx0="RNSheet2", sheet_idx1="ENSheet2",
                  pivot_props=["col_fields", "filter", "row_fields", "data_fields"])]
    assert compare_table(*pair(tmp_path, pivot(0), pivot(0)), rules=rules) == 1.0
    assert compare_table(*pair(tmp_path, pivot(2), pivot(0)), rules=rules) == 0.0
    assert compare_table(*pair(tmp_path, None, pivot(0)), rules=rules) == 0.0


def test_chart(tmp_path: Path) -> None:
    def chart(kind: type, title: str) -> Callable[[Workbook], None]:
        def edit(workbook: Workbook) -> None:
            plot = kind()
            plot.title = title
            plot.add_data(Reference(workbook.active, min_col=2, min_row=1, max_row=4), titles_from_data=True)
            plot.set_categories(Reference(workbook.active, min_col=1, min_row=2, max_row=4))
            workbook.active.add_chart(plot, "E2")
        return edit

    rules = [rule("chart", chart_props=["type", "title"])]
    assert compare_table(*pair(tmp_path, chart(BarChart, "Scores"), chart(BarChart, "Scores")), rules=rules) == 1.0
    assert compare_table(*pair(tmp_path, chart(LineChart, "Scores"), chart(BarChart, "Scores")), rules=rules) == 0.0
    assert compare_table(*pair(tmp_path, chart(BarChart, "Other"), chart(BarChart, "Scores")), rules=rules) == 0.0
    direction = [rule("chart", chart_props=["type", "direction"])]
    assert compare_table(*pair(tmp_path, chart(BarChart, "A"), chart(BarChart, "B")), rules=direction) == 1.0


def test_check_cell_needs_no_expected_workbook(tmp_path: Path) -> None:
    def merge(workbook: Workbook) -> None:
        workbook.active.merge_cells("A6:C6")
        workbook.active["A6"] = "Total"
        workbook.active["A6"].font = Font(bold=True)

    result = book(tmp_path / "r.xlsx", edit=merge)

    def cell(coordinate: str, **props: dict) -> list[dict]:
        return [{"type": "check_cell", "sheet_idx": 0, "coordinate": coordinate, "props": props}]

    assert compare_table(result, rules=cell("B2", value={"method": "approx:0.1", "ref": 91.3})) == 1.0
    assert compare_table(result, rules=cell("B2", value={"method": "approx:0.01", "ref": 91.3})) == 0.0
    assert compare_table(result, rules=cell("A2", value={"method": "eq", "ref": "Ada"})) == 1.0
    assert compare_table(result, rules=cell("A2", value={"method": "re.I", "ref": "^ada$"})) == 1.0
    assert compare_table(result, rules=cell("B6", merge={"method": "eq", "ref": True})) == 1.0
    assert compare_table(result, rules=cell("A6", merge={"method": "eq", "ref": False},
                                            font_bold={"method": "eq", "ref": True})) == 1.0
    assert compare_table(result, rules=cell("D6", merge={"method": "eq", "ref": True})) == 0.0
    assert compare_table(result, rules=cell("B2", value={"method": "range.te", "ref": [90, 92]})) == 1.0
    assert compare_table(result, rules=cell("Z9", value={"method": "approx:0.1", "ref": 1})) == 0.0


def test_sheet_data_ignores_ignore_case_as_osworld_does(tmp_path: Path) -> None:
    shouting = [ROWS[0], ("ADA", 91.25, "A"), *ROWS[2:]]
    rules = [rule("sheet_data", sheet_idx0="RNSheet1", sheet_idx1="ENSheet1", ignore_case=True)]
    assert compare_table(*pair(tmp_path, result_rows=shouting), rules=rules) == 0.0


@pytest.mark.parametrize("bad_rule", [
    {"type": "sparkline", "sheet_idx0": 0, "sheet_idx1": "EI0"},
    {"type": "teleport"},
    rule("sheet_fuzzy", rules=[{"range": ["A1"], "type": "soundex"}]),
    rule("style", props=["border"]),
    {"type": "check_cell", "sheet_idx": 0, "coordinate": "A1", "props": {"value": {"method": "magic", "ref": 1}}},
    rule("chart", chart_props=["colour"]),
])
def test_unimplemented_rules_raise_not_implemented(tmp_path: Path, bad_rule: dict) -> None:
    with pytest.raises(NotImplementedError):
        compare_table(*pair(tmp_path), rules=[bad_rule])
    with pytest.raises(NotImplementedError):
        compare_table(None, rules=[bad_rule])


def test_an_unknown_sheet_index_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="XX0"):
        compare_table(*pair(tmp_path), rules=[rule("sheet_data", sheet_idx1="XX0")])


# --- every real task: the rules and options it uses are honoured ---

def _tasks() -> Iterator[Any]:
    yield from load_tasks(SHARED).tasks if SHARED.is_dir() else []


def _uses(task: Any, name: str) -> list[dict[str, Any]]:
    """The options of each use of metric `name` in the task."""
    evaluator = task.evaluator
    options = evaluator.options
    found = []
    for i, func in enumerate(evaluator.metrics):
        if func == name:
            found.append((options[i] if i < len(options) else {}) if isinstance(options, list) else options or {})
    return found


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/osworld is not present")
def test_real_task_rules_and_options_are_honoured() -> None:
    """Every task counted runnable uses only compare_table rules and pptx options we implement."""
    checked = 0
    for task in _tasks():
        if not all(name in METRICS for name in task.evaluator.metrics if name != "infeasible"):
            continue
        for options in _uses(task, "compare_table"):
            table_rules.validate_rules(options["rules"])
            checked += 1
        for options in _uses(task, "compare_pptx_files"):
            slides.validate_options(options)
            checked += 1
    assert checked >= 100
