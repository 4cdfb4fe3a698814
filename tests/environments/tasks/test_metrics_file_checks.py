"""Rule checks on files and values (metrics/file_checks.py, metrics/system.py), on small generated files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook

from environments.tasks.metrics.file_checks import (
    check_accessibility_tree, check_csv, check_json, check_line_number, compare_conference_city_in_order,
    compare_python_pure_text, file_contains, fuzzy_place_math, literal_match, run_sqlite3,
)
from environments.tasks.metrics.system import (
    check_gnome_favorite_apps, check_moved_jpgs, is_in_vm_clickboard, is_utc_0,
)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_check_json_expect_and_unexpect(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.json", json.dumps({"name": "happy", "background": {"scripts": ["b.js"]}}))
    rules = {"expect": [{"key": ["name"], "method": "eq", "ref": "happy"},
                        {"key": ["background", "scripts"], "method": "eq", "ref": ["b.js"]}]}
    assert check_json(manifest, rules) == 1.0
    assert check_json(manifest, {"expect": [{"key": ["missing"], "method": "eq", "ref": 1}]}) == 0.0
    assert check_json(manifest, {"unexpect": [{"key": ["missing"], "method": "eq", "ref": 1}]}) == 1.0
    assert check_json(manifest, {"unexpect": [{"key": ["name"], "method": "re", "ref": "hap"}]}) == 0.0
    assert check_json(write(tmp_path / "bad.json", "{"), rules) == 0.0
    assert check_json(None, rules) == 0.0


def test_check_json_reads_yaml(tmp_path: Path) -> None:
    config = write(tmp_path / "_config.yml", "name: Test Account\nauthor:\n  email: Test@gmail.com\n")
    rules = {"expect": [{"key": ["author", "email"], "method": "eq", "ref": "Test@gmail.com"}]}
    assert check_json(config, rules, is_yaml=True) == 1.0
    assert check_json(write(tmp_path / "empty.yml", ""), rules, is_yaml=True) == 0.0


def test_check_csv_and_run_sqlite3(tmp_path: Path) -> None:
    accounts = write(tmp_path / "a.csv", "url,user\nimap://outlook.office365.com,anonym-x2024@outlook.com\n")
    unexpect = {"unexpect": [{"url": "imap://outlook.office365.com", "user": "anonym-x2024@outlook.com"}]}
    assert check_csv(accounts, unexpect) == 0.0
    assert check_csv(accounts, {"expect": [{"user": "anonym-x2024@outlook.com"}]}) == 1.0
    assert check_csv(None, unexpect) == 0.0
    database = tmp_path / "d.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.execute("INSERT INTO t VALUES (1), (2)")
    connection.close()
    assert run_sqlite3(str(database), {"sql": "SELECT COUNT(*) = 2 FROM t"}) == 1.0
    assert run_sqlite3(str(database), {"sql": "SELECT NULL"}) == 0.0


TREE = """<desktop-frame xmlns:attr="https://accessibility.ubuntu.example.org/ns/attributes">
<application name="Thunderbird"><page-tab-list attr:id="tabmail-tabs">
<page-tab name="About Profiles">About Profiles</page-tab></page-tab-list></application></desktop-frame>"""


def test_accessibility_tree_by_selector_xpath_and_text() -> None:
    selector = [{"selectors": ['application[name=Thunderbird] page-tab-list[attr|id="tabmail-tabs"]'
                               '>page-tab[name="About Profiles"]']}]
    assert check_accessibility_tree(TREE, selector) == 1.0
    assert check_accessibility_tree(TREE, [{"xpath": "//page-tab[@name='Inbox']"}]) == 0.0
    fuzzy = [{"xpath": "//page-tab", "text": "About Profile", "exact": False}]
    assert 0.9 < check_accessibility_tree(TREE, fuzzy) < 1.0
    with pytest.raises(ValueError):
        check_accessibility_tree(TREE, [{"text": "x"}])


def test_literal_file_and_line_checks(tmp_path: Path) -> None:
    assert literal_match(["A", 1], ["a", "1"], type="list", ignore_case=True) == 1.0
    assert literal_match(["A"], ["a", "b"], type="list", ignore_case=True) == 0.0
    assert literal_match(3, "3") == 1.0
    report = write(tmp_path / "r.txt", "CPU %user\n12:00:01 x\n12:00:02 y\n")
    assert file_contains(report, {"expected": ["CPU", "%user"]}) == 1.0
    assert file_contains(report, {"expected": ["%idle"]}) == 0.0
    assert check_line_number(report, {"expected": "2"}) == 1.0
    assert check_line_number(str(tmp_path / "none.txt"), {"expected": "2"}) == 0.0


def test_python_pure_text_ignores_headers_and_blank_lines(tmp_path: Path) -> None:
    gold = write(tmp_path / "g.py", "import os\n\ndef f():\n    return 1\n")
    header = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"
    mine = write(tmp_path / "m.py", header + "import os\ndef f():\n\treturn 1  \n")
    assert compare_python_pure_text(mine, gold) == 1.0
    assert compare_python_pure_text(write(tmp_path / "x.py", "```python\nimport os\n"), gold) == 0.0
    assert compare_python_pure_text(None, gold) == 0.0


def test_fuzzy_place_math_needs_three_words(tmp_path: Path) -> None:
    document = Document()
    document.add_paragraph("alpha beta gamma")
    document.save(tmp_path / "p.docx")
    assert fuzzy_place_math(str(tmp_path / "p.docx"), {"expected": ["alpha", "beta", "gamma"]}) == 1.0
    document.add_paragraph("delta")
    document.save(tmp_path / "q.docx")
    assert fuzzy_place_math(str(tmp_path / "q.docx"), {"expected": ["alpha"]}) == 0.0


def test_conference_cities_in_order(tmp_path: Path) -> None:
    cities = ["Scottsdale, AZ", "Lake Tahoe"] + [f"City {i}" for i in range(19)]
    book = Workbook()
    for row, city in enumerate(cities, start=2):
        book.active.cell(row=row, column=3, value=city)
    book.save(tmp_path / "c.xlsx")
    expected = ["Scottsdale", ["Stateline", "Lake Tahoe"]] + [f"city {i}" for i in range(19)]
    assert compare_conference_city_in_order(str(tmp_path / "c.xlsx"), {"expected": expected}) == 1.0
    wrong_first = {"expected": ["Atlanta", *expected[1:]]}
    assert compare_conference_city_in_order(str(tmp_path / "c.xlsx"), wrong_first) == 0.0
    assert compare_conference_city_in_order(str(tmp_path / "c.xlsx"), {"expected": expected[:2]}) == 0.0


def test_system_metrics() -> None:
    assert check_gnome_favorite_apps("['thunderbird.desktop', 'google-chrome.desktop']\n",
                                     {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}) == 1.0
    status = "Local time: x\nUniversal time: y\nRTC time: z\n      Time zone: Etc/UTC (UTC, +0000)\n"
    assert is_utc_0(status) == 1.0
    assert is_utc_0(status.replace("+0000", "+0100")) == 0.0
    tree = {"type": "directory", "name": "cpjpg", "children": [{"type": "file", "name": "a.jpg"}]}
    assert check_moved_jpgs(tree, {"expected": ["a.jpg"]}) == 1.0
    assert check_moved_jpgs(tree, {"expected": ["a.jpg", "b.jpg"]}) == 0.0
    assert is_in_vm_clickboard({"expected": "/home/user/secret.docx"}, "/home/user/secret.docx\n") == 1.0
    assert is_in_vm_clickboard({"expected": ["a", "b"]}, "a") == 0.0


def test_speedtest_time_within_range(tmp_path: Path) -> None:
    import datetime

    from environments.tasks.metrics.file_checks import compare_time_in_speedtest_results

    now = datetime.datetime.now()
    recent = write(tmp_path / "r.csv", f"Server,Date,Download\nx,{now:%Y-%m-%d %H:%M},94.2\n")
    assert compare_time_in_speedtest_results(recent, "60") == 1.0
    assert compare_time_in_speedtest_results(recent, "0") == 0.0
    assert compare_time_in_speedtest_results(write(tmp_path / "e.csv", "Server,Date\n"), "60") == 0.0
    # As in OSWorld, the time must not end the line (its newline would be read as part of it).
    assert compare_time_in_speedtest_results(write(tmp_path / "l.csv", f"S,D\nx,{now:%H:%M}\n"), "60") == 0.0
    assert compare_time_in_speedtest_results(None, "60") == 0.0
