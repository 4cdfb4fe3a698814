"""Getters that read the task itself: `rule` and `rule_relativeTime`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from environments.tasks.parameters import RelativeTimeParams, RuleParams
from environments.tasks.registry import getter

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@getter("rule", RuleParams)
def get_rule(_context: Any, params: RuleParams) -> JsonValue:
    """The expected value written in the task itself."""
    return params.rules


def _next_month(today: date, day: int) -> date:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day)


def _first_monday_months_later(today: date, months: int) -> date:
    index = today.month - 1 + months
    first = date(today.year + index // 12, index % 12 + 1, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _next_weekday(today: date, weekday: int) -> date:
    """The weekday in the coming week (Monday to Sunday after this one)."""
    monday = today + timedelta(days=7 - today.weekday())
    return monday + timedelta(days=weekday)


def relative_day(name: str, today: date) -> date:
    """The date OSWorld's relative-time names denote (the names its task files use)."""
    name = name.removesuffix(" split")
    fixed = {"today": 0, "tomorrow": 1}
    if name in fixed:
        return today + timedelta(days=fixed[name])
    if name == "this month":
        return today
    if name.endswith("next month") and name.split()[0][:-2].isdigit():
        return _next_month(today, int(name.split()[0][:-2]))
    if name == "this Saturday":
        return today + timedelta(days=5 - today.weekday())
    if name == "this Sunday":
        return today + timedelta(days=6 - today.weekday())
    words = {"Monday": 0, "Tuesday": 1, "Wednesday": 2, "Thursday": 3, "Friday": 4, "Saturday": 5,
             "Sunday": 6}
    for prefix in ("next week ", "next "):
        if name.startswith(prefix) and name[len(prefix):] in words:
            return _next_weekday(today, words[name[len(prefix):]])
    later = {"first monday four months later": 4, "first monday eight months later": 8}
    if name in later:
        return _first_monday_months_later(today, later[name])
    raise ValueError(f"rule_relativeTime: unknown relative time {name!r}")


def format_day(template: str, day: date) -> str:
    """OSWorld's date placeholders: {DoW} {Month} {MonthFull} {month} {Month0D} {MonthD} {DayD} {Day0D}
    {Year}."""
    values = {
        "{DoW}": WEEKDAYS[day.weekday()], "{MonthFull}": MONTHS[day.month - 1],
        "{Month0D}": f"{day.month:02d}", "{MonthD}": str(day.month), "{Month}": MONTHS[day.month - 1][:3],
        "{month}": MONTHS[day.month - 1].lower(), "{Day0D}": f"{day.day:02d}", "{DayD}": str(day.day),
        "{Year}": str(day.year),
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


@getter("rule_relativeTime", RelativeTimeParams)
def get_rule_relative_time(context: Any, params: RelativeTimeParams) -> dict[str, JsonValue]:
    """The task's rules with relative dates ("tomorrow", "next Monday", …) written out.

    Today is the machine's local date, or the date in `rules.timezone` when given. With only
    `from`, `expected.time` is formatted with that day; with `from` and `to`, `expected.from` and
    `expected.to` are; with "… split" names, the expected fields are split in two halves in
    order (the first half takes `from`, the second `to`), as the car-rental tasks use them.
    """
    rules = params.rules.model_dump(by_alias=True, exclude_unset=True)
    zone = params.rules.timezone
    now = datetime.now(ZoneInfo(zone)) if zone else (context.machine.now() if context else datetime.now())
    today = now.date()
    relative, expected = params.rules.relativeTime, rules["expected"]
    start = relative_day(relative.start, today)
    if relative.end is None:
        times = expected["time"]
        expected["time"] = ([format_day(t, start) for t in times] if isinstance(times, list)
                            else format_day(times, start))
        return rules
    end = relative_day(relative.end, today)
    if relative.start.endswith(" split"):
        keys = list(expected)
        half = len(keys) // 2
        for i, key in enumerate(keys):
            expected[key] = format_day(expected[key], start if i < half else end)
        return rules
    expected["from"] = format_day(expected["from"], start)
    expected["to"] = format_day(expected["to"], end)
    return rules
