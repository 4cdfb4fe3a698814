"""Metrics of OSWorld's Thunderbird tasks: preferences (prefs.js), message filters, mail folders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from environments.tasks.metrics.app_options import MailFolderOptions
from environments.tasks.metrics.table_rules import match_value
from environments.tasks.registry import metric

PREF = re.compile(r'^user_pref\("(?P<key>(?:[^"]|\\")+)\", (?P<val>.+)\);$')
CONDITION = re.compile(r"\b(?:AND|OR) \((?:[\w ]+),(?:[\w ']+),(?:\"(?:(?:[^\"]|\")+)\"|(?:[^)]+))\)|\bALL\b")
FILTER_FIELDS = {"name=": "name", "enabled=": "enabled", "type=": "type", "action=": "action",
                 "actionValue=": "actionValue"}
"""msgFilterRules.dat keys read into a filter; `condition=` ends one filter."""


def _unescaped(value: str) -> str:
    return value.replace('\\"', '"').replace("\\\\", "\\")


@metric("check_thunderbird_prefs")
def check_thunderbird_prefs(result: str | None, rules: dict[str, dict[str, dict[str, Any]]]) -> float:
    """Every `expect` preference is set (its last line) to a value matching its rule, and no
    `unexpect` preference matches."""
    if result is None:
        return 0.0
    expect, unexpect = rules.get("expect", {}), rules.get("unexpect", {})
    met = dict.fromkeys(expect, False)
    clean = True
    with open(result) as source:
        for line in source:
            found = PREF.match(line.strip())
            if found is None:
                continue
            key, value = found.group("key"), json.loads(found.group("val"))
            if key in expect:
                met[key] = match_value(value, expect[key])
            elif key in unexpect:
                clean = clean and not match_value(value, unexpect[key])
    return float(all(met.values()) and clean)


def _filters(path: str) -> list[dict[str, Any]]:
    """Filters of a msgFilterRules.dat: name, enabled, type, action, actionValue and conditions."""
    filters: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with open(path) as source:
        for line in source:
            if line.startswith("condition="):
                current["condition"] = CONDITION.findall(_unescaped(line[len("condition=") + 1:-2]))
                filters.append(current)
                continue
            for prefix, field in FILTER_FIELDS.items():
                if line.startswith(prefix):
                    if field == "name":
                        current = {}
                    current[field] = _unescaped(line[len(prefix) + 1:-2])
                    break
    return filters


def _has(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    return all(key in record and record[key] == value for key, value in pattern.items())


@metric("check_thunderbird_filter")
def check_thunderbird_filter(result: str | None, rules: dict[str, list[dict[str, Any]]]) -> float:
    """Every `expect` pattern matches some filter and no filter matches an `unexpect` pattern."""
    if result is None:
        return 0.0
    filters = _filters(result)
    expect, unexpect = rules.get("expect", []), rules.get("unexpect", [])
    return float(all(any(_has(p, f) for f in filters) for p in expect)
                 and not any(_has(p, f) for p in unexpect for f in filters))


def _folder_digest(path: str, options: MailFolderOptions) -> str:
    """OSWorld's reading of a mbox folder, kept exactly: it keeps only the *empty* pieces between
    "FROM - " markers (its `if mail.strip(): continue`), so two readable folders compare equal
    whenever both start with a message or both do not."""
    messages: list[str] = []
    for mail in Path(path).read_text().strip().split("FROM - "):
        if mail.strip():
            continue
        if options.remove_deleted and re.search(r"X-Mozilla-Status: 000[89]", mail):
            continue
        if options.ignore_status:
            mail = re.sub(r"X-Mozilla-Status\d?:[\s\d]+", "", mail)
        if options.ignore_keys:
            mail = re.sub(r"(X-Mozilla-Keys:[^\n]*?)\n(MIME-Version)", r"\2", mail)
        messages.append("FROM - " + mail.strip())
    return "\n".join(sorted(set(messages) if options.remove_duplicate else messages))


@metric("check_thunderbird_folder", MailFolderOptions)
def check_thunderbird_folder(result: str | list[str | None] | None, expected: str | list[str], *,
                             options: MailFolderOptions) -> float:
    """Each result folder file reads as its reference does (`_folder_digest`); a missing one scores 0."""
    both_lists = isinstance(expected, list) and isinstance(result, list)
    pairs = zip(result, expected) if both_lists else [(result, expected)]
    for mine, gold in pairs:
        if mine is None or _folder_digest(mine, options) != _folder_digest(gold, options):
            return 0.0
    return 1.0
