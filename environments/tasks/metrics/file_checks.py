"""Metrics that check a file or a value against rules: JSON/YAML keys, CSV records, an SQL answer,
the accessibility tree, literal values, contained strings, Python source, places in a document."""

from __future__ import annotations

import csv
import datetime
import json
import operator
import os
import re
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

from lxml import etree
from rapidfuzz import fuzz

from environments.tasks.metrics.app_options import AccessibilityOptions, JsonFileOptions, LiteralOptions
from environments.tasks.metrics.table_rules import match_value
from environments.tasks.registry import metric

ACCESSIBILITY_NAMESPACES = {
    osname: {prefix: f"https://accessibility.{osname}.example.org/ns/{path}" for prefix, path in (
        ("st", "state"), ("attr", "attributes"), ("cp", "component"), ("doc", "document"),
        ("docattr", "document/attributes"), ("txt", "text"), ("val", "value"), ("act", "action"))}
    for osname in ("ubuntu", "windows", "macos")
}
"""The namespaces of OSWorld's accessibility-tree XML, one set per operating system."""
ACCESSIBILITY_NAMESPACES["windows"]["class"] = "https://accessibility.windows.example.org/ns/class"
ACCESSIBILITY_NAMESPACES["macos"]["role"] = "https://accessibility.macos.example.org/ns/role"
del ACCESSIBILITY_NAMESPACES["macos"]["docattr"]
TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)")
PYTHON_HEADERS = ("#!", "# -*- coding:", "# coding:", "# coding=")


def _fuzzy_share(first: str, second: str | None) -> float:
    return fuzz.ratio(first, second) / 100.0


def _load_structured(path: str, as_yaml: bool) -> Any:
    import yaml

    with open(path, encoding="utf-8") as source:
        return yaml.safe_load(source) if as_yaml else json.load(source)


@metric("check_json", JsonFileOptions)
def check_json(result: str | None, rules: dict[str, Any], *, options: JsonFileOptions) -> float:
    """Every `expect` rule's key path leads to a value matching its method/ref, and no `unexpect`
    rule matches (a missing key there counts as None). An unreadable file scores 0."""
    # Only a path is looked up: os.path.exists(5) would test (and open() then close) file descriptor 5.
    if not isinstance(result, str) or not os.path.exists(result):
        return 0.0
    import yaml

    try:
        data = _load_structured(result, options.is_yaml)
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        return 0.0
    if options.is_yaml and data is None:
        return 0.0
    for rule in rules.get("expect", []):
        value = data
        for key in rule["key"]:
            try:
                value = value[key]
            except (KeyError, TypeError, IndexError):
                return 0.0
        if not match_value(value, rule):
            return 0.0
    for rule in rules.get("unexpect", []):
        value = data
        for key in rule["key"]:
            try:
                value = value[key]
            except (KeyError, TypeError, IndexError):
                value = None
                break
        if match_value(value, rule):
            return 0.0
    return 1.0


def _has_record(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    return all(key in record and record[key] == value for key, value in pattern.items())


@metric("check_csv")
def check_csv(result: str | None, rules: dict[str, list[dict[str, str]]]) -> float:
    """Every `expect` pattern matches some record and no record matches an `unexpect` pattern."""
    if result is None:
        return 0.0
    expect, unexpect = rules.get("expect", []), rules.get("unexpect", [])
    seen = [False] * len(expect)
    with open(result, newline="") as source:
        for record in csv.DictReader(source):
            seen = [done or _has_record(pattern, record) for done, pattern in zip(seen, expect)]
            if any(_has_record(pattern, record) for pattern in unexpect):
                return 0.0
    return float(all(seen))


@metric("run_sqlite3")
def run_sqlite3(result: str, rules: dict[str, Any]) -> float:
    """The first column of the first row `rules["sql"]` gives on the database (0 for NULL)."""
    with sqlite3.connect(result) as connection:
        row = connection.execute(rules["sql"]).fetchone()
    connection.close()
    return float(row[0] or 0)


@metric("check_accessibility_tree", AccessibilityOptions)
def check_accessibility_tree(result: str, rules: list[dict[str, Any]], *,
                             options: AccessibilityOptions) -> float:
    """For each rule, elements found by `xpath` (or the CSS `selectors`) must exist; with `text`, the
    best element's text scores 1/0 (`exact`) or its fuzzy ratio. The product of the rules' scores."""
    from lxml.cssselect import CSSSelector

    namespaces = ACCESSIBILITY_NAMESPACES[options.osname]
    tree = etree.fromstring(result.encode() if isinstance(result, str) else result)
    total = 1.0
    for rule in rules:
        if "xpath" in rule:
            elements = tree.xpath(rule["xpath"], namespaces=namespaces)
        elif "selectors" in rule:
            elements = CSSSelector(", ".join(rule["selectors"]), namespaces=namespaces)(tree)
        else:
            raise ValueError("check_accessibility_tree: a rule needs xpath or selectors")
        if not elements:
            return 0.0
        if "text" in rule:
            compare = operator.eq if rule["exact"] else _fuzzy_share
            total *= max(float(compare(rule["text"], element.text or None)) for element in elements)
    return float(total)


@metric("literal_match", LiteralOptions)
def literal_match(result: Any, expected: Any, *, options: LiteralOptions) -> float:
    """Equal as strings (`type` "str") or as lists of strings of the same length (`type` "list")."""
    def text(value: Any) -> str:
        return str(value).lower() if options.ignore_case else str(value)

    if options.type == "str":
        return float(text(result) == text(expected))
    if options.type == "list":
        if not isinstance(result, (list, tuple)) or not isinstance(expected, (list, tuple)):
            return 0.0
        return float([text(v) for v in result] == [text(v) for v in expected])
    raise NotImplementedError(f"literal_match: type {options.type!r} is not supported")


@metric("file_contains")
def file_contains(result: str | None, rules: dict[str, Any]) -> float:
    """1 when the text file contains every expected string (an unreadable file scores 0)."""
    if not result:
        return 0.0
    try:
        text = Path(result).read_text()
    except (OSError, UnicodeDecodeError, TypeError):
        return 0.0
    return float(all(item in text for item in rules["expected"]))


@metric("check_line_number")
def check_line_number(result: str | None, rules: dict[str, Any]) -> float:
    """1 when as many lines hold a time of day (hh:mm:ss) as `rules["expected"]` says."""
    if not isinstance(result, str) or not os.path.isfile(result):
        return 0.0
    try:
        with open(result) as source:
            count = sum(1 for line in source if TIME_OF_DAY.search(line))
        return float(count == int(rules["expected"]))
    except (OSError, UnicodeDecodeError, ValueError):
        return 0.0


def _python_lines(text: str) -> str:
    """Non-empty lines, tabs as 4 spaces, no trailing blanks; a shebang or coding line among the
    first three dropped."""
    lines = text.splitlines()
    start = 0
    while start < min(len(lines), 3) and lines[start].strip().startswith(PYTHON_HEADERS):
        start += 1
    return "\n".join(line.expandtabs(4).rstrip() for line in lines[start:] if line.strip())


@metric("compare_python_pure_text")
def compare_python_pure_text(result: str | None, expected: str | None) -> float:
    """1 when the two Python files hold the same lines, apart from blank lines and layout noise."""
    if not result or not expected:
        return 0.0
    try:
        first, second = (Path(path).read_text(encoding="utf-8") for path in (result, expected))
    except (OSError, UnicodeDecodeError, TypeError):
        return 0.0
    return float(_python_lines(first) == _python_lines(second))


@metric("fuzzy_place_math")
def fuzzy_place_math(result: str | None, rules: dict[str, Any]) -> float:
    """The document must hold exactly three words; each scores its best fuzzy ratio against the
    expected places; the mean."""
    if result is None:
        return 0.0
    from docx import Document

    words = [word for paragraph in Document(result).paragraphs for word in paragraph.text.split()]
    if len(words) != 3:
        return 0.0
    return sum(max(fuzz.ratio(word, place) / 100 for place in rules["expected"]) for word in words) / 3


def _city_key(value: Any) -> str:
    """Lower case, accents and punctuation removed, for tolerant city matching."""
    text = unicodedata.normalize("NFKD", "" if value is None else str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@metric("compare_conference_city_in_order")
def compare_conference_city_in_order(result: str, rules: dict[str, Any]) -> float:
    """Cells C2:C22 of the workbook's active sheet, in order, each contain (after normalizing) the
    expected city or one of its alternatives; a cell without an expected entry scores 0."""
    from openpyxl import load_workbook

    cities = [cell.value for row in load_workbook(result).active["C2:C22"] for cell in row]
    expected = rules["expected"]
    for i, city in enumerate(cities):
        if i >= len(expected) or not isinstance(expected[i], (str, list)):
            return 0.0
        choices = [expected[i]] if isinstance(expected[i], str) else expected[i]
        if not any(_city_key(choice) and _city_key(choice) in _city_key(city) for choice in choices):
            return 0.0
    return 1.0


@metric("compare_time_in_speedtest_results")
def compare_time_in_speedtest_results(result: str | None, minutes: Any) -> float:
    """The speed test's first result row was taken (its second column ends in HH:MM) less than
    `minutes` ago by the clock of the evaluating machine, compared as times of day."""
    if not result:
        return 0.0
    try:
        with open(result) as source:
            source.readline()
            taken = source.readline().split(",")[1][-5:]
        now = datetime.datetime.now().strftime("%H:%M")
        gap = datetime.datetime.strptime(taken, "%H:%M") - datetime.datetime.strptime(now, "%H:%M")
        return float(abs(gap.total_seconds()) / 60 < int(minutes))
    except (OSError, IndexError, ValueError, TypeError):
        return 0.0
