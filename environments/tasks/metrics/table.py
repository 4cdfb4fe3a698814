"""compare_table: OSWorld's spreadsheet checks (desktop_env/evaluators/metrics/table.py and utils.py).

`compare_table(result, expected=None, rules=[...])` runs the rules in order and scores 1 only if all
pass. A rule names sheets with `sheet_idx0`/`sheet_idx1` (or `sheet_idx`): an int is a sheet
position in the result, "RI0"/"EI0" a position in the result/expected workbook, "RNSheet1"/"ENSheet1"
a sheet name there. Values are read as OSWorld reads them from the file: numbers (and dates) as
floats, text as str, booleans as None; `sheet_data` compares pandas frames rounded to `precision`
(default 4) decimals; `sheet_print` compares the CSV export "<workbook stem>-<sheet name>.csv" next
to each workbook, line by line.

Conditional formats are evaluated as OSWorld evaluates them, with the `formulas` engine OSWorld
uses: formula-type rules (expression, containsText, beginsWith, endsWith, containsErrors and their
negations) call their first formula with the cell's value, then the values of its absolute
references; `cellIs` rules whose formulas reference cells are skipped; other types (top10,
duplicateValues, colour scales, …) are never activated (OSWorld reuses the previous rule's test
there, an accident this does not copy). Freeze panes compare the frozen rows and columns (OSWorld
main; PyPI desktop-env 1.0.2 compared the scroll position too). Not honoured: the `sparkline` rule
(no real task uses it), which raises NotImplementedError. OSWorld passes `ignore_case` to
`sheet_data` in one task but `sheet_data` ignores it; so does this module.
"""

from __future__ import annotations

import os
from zipfile import BadZipFile

from openpyxl.utils.exceptions import InvalidFileException

from environments.tasks.metrics.options import TableOptions
from environments.tasks.metrics.table_rules import RULES, Rule, validate_rules
from environments.tasks.metrics.workbook import Book, Books
from environments.tasks.registry import metric


def _needs_expected(rule: Rule) -> bool:
    indices = (rule.get(key) for key in ("sheet_idx", "sheet_idx0", "sheet_idx1"))
    return rule["type"] == "sheet_name" or any(isinstance(i, str) and i.startswith("E") for i in indices)


@metric("compare_table", TableOptions)
def compare_table(result: str | None, expected: str | None = None, *, options: TableOptions) -> float:
    """1 when every rule in `options.rules` holds for the result (and expected) workbook.

    A missing or unreadable result scores 0, and so does a rule naming an expected workbook that
    is absent.
    """
    rules: list[Rule] = [rule.spec() for rule in options.rules]
    validate_rules(rules)
    if not result or not os.path.isfile(result):
        return 0.0
    if expected is not None and not os.path.isfile(expected):
        return 0.0
    if expected is None and any(_needs_expected(rule) for rule in rules):
        return 0.0
    try:
        books = Books(Book(result), Book(expected) if expected else None)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError):
        return 0.0
    return float(all(RULES[rule["type"]](books, rule) for rule in rules))
