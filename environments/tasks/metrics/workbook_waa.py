"""Cell values as WindowsAgentArena's older utils.read_cell_value reads them from the file's XML.

It knows three cell types: numbers (no type, or "n") as floats, shared strings ("s") and formula
strings ("str"). Everything else reads as None: inline strings (which openpyxl writes for text),
booleans, errors (#DIV/0!), ISO dates. The sheet file is found by its sheetId
(xl/worksheets/sheet<id>.xml); a sheet name not in the book or a missing sheet file raises
KeyError, and an unreadable archive reads as empty, as there. OSWorld's main branch reads inline
strings and errors too (workbook.Book.value follows it).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _shared_strings(book: zipfile.ZipFile) -> list[str] | None:
    try:
        root = etree.fromstring(book.read("xl/sharedStrings.xml"))
    except (KeyError, etree.XMLSyntaxError):
        return None
    return ["".join(t.text or "" for t in item.iter(f"{MAIN}t")) for item in root.iterchildren(f"{MAIN}si")]


def _decoded(cell: Any, shared: list[str] | None) -> Any:
    kind, value = cell.get("t"), cell.find(f"{MAIN}v")
    text = value.text if value is not None else None
    if kind is None or kind == "n":
        try:
            return float(text) if text is not None else None
        except ValueError:
            return None
    if kind == "s":
        if text is None or shared is None:
            return None
        try:
            return shared[int(text)]
        except ValueError:
            return None
    return text if kind == "str" else None


def _sheet_values(path: str, sheet: str) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as book:
            shared = _shared_strings(book)
            workbook = etree.fromstring(book.read("xl/workbook.xml"))
            ids = {item.get("name"): item.get("sheetId") for item in workbook.iter(f"{MAIN}sheet")}
            root = etree.fromstring(book.read(f"xl/worksheets/sheet{ids[sheet]}.xml"))
    except zipfile.BadZipFile:
        return {}
    values: dict[str, Any] = {}
    for row in root.iter(f"{MAIN}row"):
        for cell in row.iterchildren(f"{MAIN}c"):
            values.setdefault(cell.get("r"), _decoded(cell, shared))
    return values


@dataclass
class WaaCells:
    """One workbook file's cells, each sheet decoded once, on first use."""

    path: str
    sheets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def value(self, sheet: str, coordinate: str) -> Any:
        if sheet not in self.sheets:
            self.sheets[sheet] = _sheet_values(self.path, sheet)
        return self.sheets[sheet].get(coordinate)
