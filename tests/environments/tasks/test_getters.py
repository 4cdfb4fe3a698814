"""OSWorld's getters on a real LocalMachine and a real Chromium page: files off the machine,
reference files through the download cache, commands, rules and relative dates, browser tabs;
and a whole evaluator scored through `scoring.score`."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from environments.chromium import CHROMIUM_ARGS, chromium_path
from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks.context import OfflineError, TaskContext
from environments.tasks.errors import UnsupportedError
from environments.tasks.getters.basic import format_day, relative_day
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Evaluator, GetterConfig
from environments.tasks.registry import GETTERS
from environments.tasks.scoring import PreparedGetter, score
from environments.tasks.tabs import PageTabs

SHARED = Path(__file__).resolve().parents[4] / "shared" / "osworld"


def get(context: Any, kind: str, **fields: Any) -> Any:
    """Run the getter registered as `kind`, as the scorer does."""
    return run_getter(context, GetterConfig(type=kind, **fields))


def run_getter(context: Any, config: GetterConfig) -> Any:
    """Validate the config's fields against the getter's model, then call it."""
    entry = GETTERS[config.type]
    return PreparedGetter(entry, entry.params.model_validate(config.fields))(context)


# --- vm_file -----------------------------------------------------------------------------------------


def test_vm_file_copies_a_file_off_the_machine(context: TaskContext) -> None:
    (context.machine.home / "Desktop").mkdir()
    (context.machine.home / "Desktop" / "out.txt").write_text("result")
    path = get(context, "vm_file", path="/home/user/Desktop/out.txt", dest="out.txt")
    assert path == str((context.cache_dir / "out.txt").resolve()) and Path(path).read_text() == "result"
    nested = get(context, "vm_file", path="~/Desktop/out.txt", dest="sub/dir/out.txt")
    assert Path(nested).read_text() == "result" and Path(nested).is_relative_to(context.cache_dir.resolve())


def test_vm_file_of_a_missing_file_is_none(context: TaskContext) -> None:
    assert get(context, "vm_file", path="/home/user/missing.docx", dest="missing.docx") is None
    assert not (context.cache_dir / "missing.docx").exists()


def test_vm_file_multi_and_gives(context: TaskContext) -> None:
    for name in ("a", "b", "c"):
        (context.machine.home / f"{name}.txt").write_text(name.upper())
    paths = ["/home/user/a.txt", "/home/user/b.txt", "/home/user/missing.txt", "/home/user/c.txt"]
    dests = ["a.txt", "b.txt", "missing.txt", "c.txt"]
    cache = context.cache_dir.resolve()
    # by default only the first file reaches the metric, as a single path
    assert get(context, "vm_file", multi=True, path=paths, dest=dests) == str(cache / "a.txt")
    # one file given: a path, not a list
    assert get(context, "vm_file", multi=True, path=paths, dest=dests, gives=[3]) == str(cache / "c.txt")
    # several: a list in order, None for a missing one
    given = get(context, "vm_file", multi=True, path=paths, dest=dests, gives=[0, 2, 3])
    assert given == [str(cache / "a.txt"), None, str(cache / "c.txt")]
    # every existing file is copied, given or not
    assert (context.cache_dir / "b.txt").read_text() == "B"


@pytest.mark.parametrize("dest", ["../x.txt", "sub/../../x.txt", "/tmp/kimi-escape.txt"])
def test_vm_file_refuses_a_dest_outside_the_cache(context: TaskContext, dest: str) -> None:
    (context.machine.home / "f.txt").write_text("data")
    with pytest.raises(ValueError, match="leaves the cache folder"):
        get(context, "vm_file", path="/home/user/f.txt", dest=dest)
    assert not (context.cache_dir.parent / "x.txt").exists()


# --- cloud_file and cache_file -------------------------------------------------------------------------


def test_cloud_file_from_a_file_url_and_a_path_beside_the_task(context: TaskContext, tmp_path: Path) -> None:
    reference = tmp_path / "refs" / "gold.csv"
    reference.parent.mkdir()
    reference.write_text("a,b\n1,2\n")
    (tmp_path / "task" / "files").mkdir()
    (tmp_path / "task" / "files" / "beside.txt").write_text("beside the task")
    first = get(context, "cloud_file", path=reference.as_uri(), dest="gold.csv")
    assert (
        first == str((context.cache_dir / "gold.csv").resolve()) and Path(first).read_text() == "a,b\n1,2\n"
    )
    second = get(context, "cloud_file", path="files/beside.txt", dest="beside.txt")
    assert Path(second).read_text() == "beside the task"


def test_cloud_file_multi_fetches_only_what_it_gives(context: TaskContext, tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("1")
    (tmp_path / "two.txt").write_text("2")
    paths = [
        (tmp_path / "does-not-exist.txt").as_uri(),
        (tmp_path / "one.txt").as_uri(),
        (tmp_path / "two.txt").as_uri(),
    ]
    dests = ["zero.txt", "one.txt", "two.txt"]
    assert Path(get(context, "cloud_file", multi=True, path=paths, dest=dests, gives=[2])).read_text() == "2"
    both = get(context, "cloud_file", multi=True, path=paths, dest=dests, gives=[1, 2])
    assert [Path(p).read_text() for p in both] == ["1", "2"]
    with pytest.raises(FileNotFoundError, match="does-not-exist.txt"):
        get(context, "cloud_file", multi=True, path=paths, dest=dests, gives=[0, 1])


def test_cloud_file_offline(machine: LocalMachine, tmp_path: Path) -> None:
    offline = TaskContext(machine, tmp_path / "cache", tmp_path / "downloads", offline=True)
    url = "http://127.0.0.1:9/never-contacted/gold.txt"
    with pytest.raises(OfflineError, match="never-contacted/gold.txt"):
        get(offline, "cloud_file", path=url, dest="gold.txt")
    local = tmp_path / "gold.txt"
    local.write_text("local reference")
    assert (
        Path(get(offline, "cloud_file", path=local.as_uri(), dest="local.txt")).read_text()
        == "local reference"
    )
    # an http URL already in the download cache (as an online run leaves it: OSWorld's uuid5 key and a
    # SHA-256 sidecar) is used offline without a request
    entry = tmp_path / "downloads" / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_gold.txt"
    entry.write_bytes(b"cached reference")
    entry.with_name(entry.name + ".sha256").write_text(hashlib.sha256(b"cached reference").hexdigest() + "\n")
    assert Path(get(offline, "cloud_file", path=url, dest="gold.txt")).read_text() == "cached reference"
    entry.write_bytes(b"altered")  # and a damaged entry is refused, not used
    with pytest.raises(OfflineError):
        get(offline, "cloud_file", path=url, dest="gold.txt")


def test_cloud_file_relative_paths_of_different_tasks_do_not_share_a_cache_entry(
    machine: LocalMachine, tmp_path: Path
) -> None:
    for name in ("task_a", "task_b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "expected.txt").write_text(f"expected of {name}")
    a = TaskContext(machine, tmp_path / "cache_a", tmp_path / "downloads", task_dir=tmp_path / "task_a")
    b = TaskContext(machine, tmp_path / "cache_b", tmp_path / "downloads", task_dir=tmp_path / "task_b")
    assert (
        Path(get(a, "cloud_file", path="expected.txt", dest="expected.txt")).read_text()
        == "expected of task_a"
    )
    assert (
        Path(get(b, "cloud_file", path="expected.txt", dest="expected.txt")).read_text()
        == "expected of task_b"
    )


def test_cloud_file_sees_an_edited_local_reference(context: TaskContext, tmp_path: Path) -> None:
    reference = tmp_path / "task" / "expected.txt"
    reference.write_text("old")
    assert Path(get(context, "cloud_file", path="expected.txt", dest="expected.txt")).read_text() == "old"
    reference.write_text("new")
    assert Path(get(context, "cloud_file", path="expected.txt", dest="expected.txt")).read_text() == "new"


def test_cache_file(context: TaskContext) -> None:
    (context.cache_dir / "stdout.txt").write_text("saved by a setup step")
    assert Path(get(context, "cache_file", path="stdout.txt")).read_text() == "saved by a setup step"
    with pytest.raises(FileNotFoundError, match="never-written.txt is not in the task's cache"):
        get(context, "cache_file", path="never-written.txt")
    with pytest.raises(ValueError, match="leaves the cache folder"):
        get(context, "cache_file", path="../outside.txt")


# --- commands and the terminal -------------------------------------------------------------------------


def test_vm_command_line_and_vm_command_error(context: TaskContext) -> None:
    (context.machine.home / "f.txt").write_text("in the home\n")
    assert get(context, "vm_command_line", command=["cat", "/home/user/f.txt"]) == "in the home\n"
    assert get(context, "vm_command_line", command="cat ~/f.txt; echo $HOME", shell=True) == (
        f"in the home\n{context.machine.home}\n"
    )
    # stdout whatever the exit status
    assert get(context, "vm_command_line", command="echo partial; exit 4", shell=True) == "partial\n"
    assert get(context, "vm_command_error", command=["sh", "-c", "echo bad >&2; echo good"]) == "bad\n"
    # the shell's own "command not found" is its stderr, as on OSWorld's server
    error = get(context, "vm_command_error", command="kimi-no-such-program", shell=True)
    assert "kimi-no-such-program" in error
    assert get(context, "vm_terminal_output") is None  # no terminal was launched


def test_command_getters_give_none_when_the_command_cannot_start(context: TaskContext) -> None:
    """OSWorld's server answers 500 and its getters None; an exclude-only rule then scores 0, not 1
    (task 69acbb55 scored a false 1 on the "command not found" text)."""
    for kind in ("vm_command_line", "vm_command_error"):
        assert get(context, kind, command=["kimi-no-such-program", "-c", "x"]) is None
    evaluator = Evaluator.model_validate({
        "func": "check_include_exclude",
        "result": {"type": "vm_command_error", "command": ["kimi-no-such-program", "-c", "x"]},
        "expected": {"type": "rule", "rules": {"include": [], "exclude": ["Error:"]}},
    })
    assert score(evaluator, context, last_action_failed=False) == 0.0


@dataclass
class ShortTimeout:
    """The local machine with a 0.3 s command timeout in place of the server's 120 s."""

    machine: LocalMachine

    def execute(self, command: Any, shell: bool = False, timeout: float = 0.3) -> Any:
        return self.machine.execute(command, shell=shell, timeout=0.3)


@dataclass
class ServerError:
    """A machine whose VM server answers /execute with status 500, as the remote client raises it."""

    def execute(self, command: Any, shell: bool = False, timeout: float = 0.0) -> Any:
        from environments.remote.client import VMProtocolError

        raise VMProtocolError("POST /execute: boom", 500)


def test_command_getters_give_none_on_timeout_and_on_a_server_error(context: TaskContext) -> None:
    machine = ShortTimeout(context.machine)
    slow = TaskContext(machine, context.cache_dir, context.downloads)  # type: ignore[arg-type]
    assert get(slow, "vm_command_line", command=["sleep", "5"]) is None
    assert get(slow, "vm_command_line", command=["echo", "quick"]) == "quick\n"
    failing = TaskContext(ServerError(), context.cache_dir, context.downloads)  # type: ignore[arg-type]
    assert get(failing, "vm_command_error", command=["true"]) is None


# --- rule and rule_relativeTime ------------------------------------------------------------------------


def test_rule_returns_the_rules_as_written(context: TaskContext) -> None:
    rules = {"expected": ["a", "b"], "nested": {"x": 1}}
    assert get(context, "rule", rules=rules) == rules


# Weekdays, worked out by hand: 2026-01-01 is a Thursday; 2026-11-30 a Monday; 2026-12-31 a Thursday;
# 2026-05-31 a Sunday; 2027-01-01 a Friday, 2027-03-01 a Monday, 2027-04-01 and 2027-07-01 Thursdays,
# 2027-08-01 a Sunday, 2026-09-01 and 2026-12-01 Tuesdays.
RELATIVE_DAYS = {
    date(2026, 12, 31): {  # Thursday, the last day of the year
        "today": date(2026, 12, 31),
        "tomorrow": date(2027, 1, 1),
        "this month": date(2026, 12, 31),
        "5th next month": date(2027, 1, 5),
        "10th next month": date(2027, 1, 10),
        "11th next month": date(2027, 1, 11),
        "next Monday": date(2027, 1, 4),
        "next Friday": date(2027, 1, 8),
        "next Monday split": date(2027, 1, 4),
        "next Friday split": date(2027, 1, 8),
        "next week Friday": date(2027, 1, 8),
        "next week Saturday": date(2027, 1, 9),
        "next week Sunday": date(2027, 1, 10),
        "this Saturday": date(2027, 1, 2),
        "this Sunday": date(2027, 1, 3),
        "first monday four months later": date(2027, 4, 5),
        "first monday eight months later": date(2027, 8, 2),
    },
    date(2026, 11, 30): {  # Monday, the last day of the month
        "today": date(2026, 11, 30),
        "tomorrow": date(2026, 12, 1),
        "this month": date(2026, 11, 30),
        "5th next month": date(2026, 12, 5),
        "10th next month": date(2026, 12, 10),
        "11th next month": date(2026, 12, 11),
        "next Monday": date(2026, 12, 7),
        "next Friday": date(2026, 12, 11),
        "next Monday split": date(2026, 12, 7),
        "next Friday split": date(2026, 12, 11),
        "next week Friday": date(2026, 12, 11),
        "next week Saturday": date(2026, 12, 12),
        "next week Sunday": date(2026, 12, 13),
        "this Saturday": date(2026, 12, 5),
        "this Sunday": date(2026, 12, 6),
        # March 2027 starts on a Monday: that day itself
        "first monday four months later": date(2027, 3, 1),
        "first monday eight months later": date(2027, 7, 5),
    },
    date(2026, 5, 31): {  # Sunday
        "tomorrow": date(2026, 6, 1),
        "5th next month": date(2026, 6, 5),
        "10th next month": date(2026, 6, 10),
        "11th next month": date(2026, 6, 11),
        "this month": date(2026, 5, 31),
        "next Monday": date(2026, 6, 1),
        "next Friday": date(2026, 6, 5),
        "next week Friday": date(2026, 6, 5),
        "next week Saturday": date(2026, 6, 6),
        "next week Sunday": date(2026, 6, 7),
        # OSWorld's "this Saturday" is 5 - weekday days away: on a Sunday, the day before
        "this Saturday": date(2026, 5, 30),
        "this Sunday": date(2026, 5, 31),
        "first monday four months later": date(2026, 9, 7),
        "first monday eight months later": date(2027, 1, 4),
    },
    date(2026, 8, 15): {  # Saturday; four months later is December (OSWorld's own arithmetic breaks here)
        "first monday four months later": date(2026, 12, 7),
        "first monday eight months later": date(2027, 4, 5),
        "next Monday": date(2026, 8, 17),
        "this Saturday": date(2026, 8, 15),
        "this Sunday": date(2026, 8, 16),
    },
    date(2026, 4, 10): {  # Friday; eight months later is December of the same year
        "first monday eight months later": date(2026, 12, 7),
        "next Monday": date(2026, 4, 13),
        "next Friday": date(2026, 4, 17),
        "next week Friday": date(2026, 4, 17),
    },
    date(2028, 2, 28): {"tomorrow": date(2028, 2, 29), "10th next month": date(2028, 3, 10)},  # leap year
}


@pytest.mark.parametrize(
    ("today", "name", "expected"),
    [(today, name, day) for today, names in RELATIVE_DAYS.items() for name, day in names.items()],
    ids=lambda v: str(v),
)
def test_relative_day(today: date, name: str, expected: date) -> None:
    assert relative_day(name, today) == expected


def test_every_relative_name_in_the_osworld_tasks_is_known() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/osworld is not present")
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "rule_relativeTime":
                names.update(node["rules"]["relativeTime"].values())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in SHARED.rglob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    assert names, "no rule_relativeTime getter found"
    assert names <= set(RELATIVE_DAYS[date(2026, 12, 31)])
    for name in names:
        relative_day(name, date(2026, 12, 31))


@pytest.mark.parametrize("name", ["next fortnight", "yesterday", "next Funday", "this Monday"])
def test_an_unknown_relative_name_raises_naming_it(name: str) -> None:
    with pytest.raises(ValueError, match=f"unknown relative time '{name}'"):
        relative_day(name, date(2026, 12, 31))


@pytest.mark.parametrize(
    ("template", "day", "expected"),
    [
        ("{DoW}, {Month} {Day0D}, {Year}", date(2027, 1, 4), "Mon, Jan 04, 2027"),
        ("{Year}-{Month0D}-{DayD}", date(2027, 1, 4), "2027-01-4"),
        ("{Year}-{Month0D}-{Day0D}", date(2026, 11, 30), "2026-11-30"),
        ("{MonthFull} {Day0D}, 10:15 AM", date(2027, 8, 2), "August 02, 10:15 AM"),
        ("{month}-weather", date(2026, 12, 31), "december-weather"),
        ("{MonthD}/{DayD}", date(2026, 9, 7), "9/7"),
        ("Check In{DoW}, {Month} {Day0D}", date(2026, 12, 13), "Check InSun, Dec 13"),
        ("no placeholder", date(2026, 1, 1), "no placeholder"),
    ],
)
def test_format_day(template: str, day: date, expected: str) -> None:
    assert format_day(template, day) == expected


@dataclass
class ClockMachine(LocalMachine):
    """A LocalMachine whose clock says 2026-12-31 10:00 (UTC)."""

    clock: datetime = datetime(2026, 12, 31, 10, 0, tzinfo=ZoneInfo("UTC"))

    def now(self) -> datetime:
        return self.clock


@pytest.fixture
def clock_context(tmp_path: Path) -> Iterator[TaskContext]:
    m = ClockMachine(tmp_path / "home", tmp_path / "cache", (1280, 800))
    yield TaskContext(m, m.cache_dir, tmp_path / "downloads")
    m.close()


def test_rule_relative_time_with_from_only(clock_context: TaskContext) -> None:
    rules = {
        "relativeTime": {"from": "next Monday"},
        "expect_in_result": True,
        "expected": {"fromStation": ["BOM"], "time": ["{Year}-{Month0D}-{Day0D}"]},
    }
    config = GetterConfig(type="rule_relativeTime", rules=rules)
    result = run_getter(clock_context, config)
    assert result == {
        "relativeTime": {"from": "next Monday"},
        "expect_in_result": True,
        "expected": {"fromStation": ["BOM"], "time": ["2027-01-04"]},
    }
    assert config.fields["rules"]["expected"]["time"] == ["{Year}-{Month0D}-{Day0D}"]  # not changed in place
    single = get(
        clock_context,
        "rule_relativeTime",
        rules={"relativeTime": {"from": "tomorrow"}, "expected": {"time": "{DoW}, {Month} {Day0D}, {Year}"}},
    )
    assert single["expected"]["time"] == "Fri, Jan 01, 2027"


def test_rule_relative_time_with_from_and_to(clock_context: TaskContext) -> None:
    result = get(
        clock_context,
        "rule_relativeTime",
        rules={
            "relativeTime": {"from": "10th next month", "to": "11th next month"},
            "expected": {
                "start_location": "BOS",
                "from": "{DoW}, {Month} {Day0D}, 12:00 PM",
                "to": "{DoW}, {Month} {Day0D}, 12:00 PM",
            },
        },
    )
    assert result["expected"] == {
        "start_location": "BOS",
        "from": "Sun, Jan 10, 12:00 PM",
        "to": "Mon, Jan 11, 12:00 PM",
    }


def test_rule_relative_time_with_split_names(clock_context: TaskContext) -> None:
    result = get(
        clock_context,
        "rule_relativeTime",
        rules={
            "relativeTime": {"from": "next Monday split", "to": "next Friday split"},
            "expected": {
                "puDay": "{DayD}",
                "puMonth": "{MonthD}",
                "puYear": "{Year}",
                "doDay": "{DayD}",
                "doMonth": "{MonthD}",
                "doYear": "{Year}",
            },
        },
    )
    assert result["expected"] == {
        "puDay": "4",
        "puMonth": "1",
        "puYear": "2027",
        "doDay": "8",
        "doMonth": "1",
        "doYear": "2027",
    }


def test_rule_relative_time_uses_the_timezone_of_the_rules(tmp_path: Path) -> None:
    # UTC+14 and UTC-12 are 26 hours apart: their dates always differ, and both ignore the machine's clock
    clock = datetime(2001, 6, 15, 12, 0, tzinfo=ZoneInfo("UTC"))
    m = ClockMachine(tmp_path / "home", tmp_path / "cache", (1280, 800), clock=clock)
    clock_context = TaskContext(m, m.cache_dir, tmp_path / "downloads")
    found = {}
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        before = datetime.now(ZoneInfo(zone)).date()
        result = get(
            clock_context,
            "rule_relativeTime",
            rules={
                "relativeTime": {"from": "tomorrow"},
                "timezone": zone,
                "expected": {"time": "{Year}-{Month0D}-{Day0D}"},
            },
        )
        after = datetime.now(ZoneInfo(zone)).date()
        assert result["expected"]["time"] in {str(before + timedelta(days=1)), str(after + timedelta(days=1))}
        found[zone] = result["expected"]["time"]
    assert found["Pacific/Kiritimati"] != found["Etc/GMT+12"]
    assert "2001-06-16" not in found.values()
    # without a timezone, the machine's clock decides
    local = get(
        clock_context,
        "rule_relativeTime",
        rules={"relativeTime": {"from": "tomorrow"}, "expected": {"time": "{Year}-{Month0D}-{Day0D}"}},
    )
    assert local["expected"]["time"] == "2001-06-16"
    m.close()


def test_rule_relative_time_with_an_unknown_name(clock_context: TaskContext) -> None:
    with pytest.raises(ValueError, match="'the day after never'"):
        get(
            clock_context,
            "rule_relativeTime",
            rules={"relativeTime": {"from": "the day after never"}, "expected": {"time": "{Year}"}},
        )


# --- browser getters -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@dataclass
class Browsing:
    context: TaskContext
    page: Any
    pages: Any


@pytest.fixture
def browsing(chromium: Any, tmp_path: Path) -> Iterator[Browsing]:
    pages = chromium.new_context()
    observed = {"page": pages.new_page()}
    m = LocalMachine(
        tmp_path / "home",
        tmp_path / "cache",
        (1280, 800),
        tabs_factory=lambda: PageTabs(pages, lambda: observed["page"]),
    )
    (m.home / "shop.html").write_text(
        "<title>Kimi Shop</title><h1>Search results</h1><p id=marker>kimi-marker-7</p>"
        "<button>Add to cart</button><a href='#x'>Next page</a>"
    )
    (m.home / "other.html").write_text("<title>Other tab</title><p>other</p>")
    try:
        yield Browsing(TaskContext(m, m.cache_dir, tmp_path / "downloads"), observed["page"], pages)
    finally:
        m.close()
        pages.close()


QUERY = "?q=kimi+agent&tags=a,b,c&lang=en&empty="


@pytest.mark.browser
def test_active_tab_info_and_url(browsing: Browsing) -> None:
    home_url = browsing.context.machine.home.as_uri()
    browsing.page.goto(f"{home_url}/shop.html{QUERY}")
    browsing.pages.new_page().goto(f"{home_url}/other.html")  # another tab, not the observed one
    info = get(browsing.context, "active_tab_info")
    assert info["title"] == "Kimi Shop" and info["url"] == f"{home_url}/shop.html{QUERY}"
    assert "kimi-marker-7" in info["content"] and info["content"].lstrip().lower().startswith("<html")
    assert get(browsing.context, "active_url_from_accessTree", goto_prefix="https://") == info["url"]
    assert get(browsing.context, "open_tabs_info") == [
        {"title": "Kimi Shop", "url": f"{home_url}/shop.html{QUERY}"},
        {"title": "Other tab", "url": f"{home_url}/other.html"},
    ]


@pytest.mark.browser
def test_active_tab_url_parse(browsing: Browsing) -> None:
    browsing.page.goto(f"{browsing.context.machine.home.as_uri()}/shop.html{QUERY}")
    ctx = browsing.context
    assert get(ctx, "active_tab_url_parse", parse_keys=["q", "lang", "missing", "empty"]) == {
        "q": "kimi agent",
        "lang": "en",
        "missing": "",
        "empty": "",
    }
    assert get(ctx, "active_tab_url_parse", parse_keys=["q", "lang"], replace={"q": "query"}) == {
        "lang": "en",
        "query": "kimi agent",
    }
    assert get(ctx, "active_tab_url_parse", parse_keys=["tags", "q", "missing"], split_list=True) == {
        "tags": ["a", "b", "c"],
        "q": ["kimi agent"],
        "missing": [""],
    }


@pytest.mark.browser
def test_a_browser_page_has_no_desktop_accessibility_tree(browsing: Browsing) -> None:
    """OSWorld's tree is the desktop's AT-SPI XML (tests/environments/tasks/test_accessibility.py),
    not a page's ARIA snapshot: a browser-only environment has none."""
    browsing.page.goto(f"{browsing.context.machine.home.as_uri()}/shop.html")
    with pytest.raises(UnsupportedError, match="AT-SPI"):
        get(browsing.context, "accessibility_tree")


@pytest.mark.browser
def test_browser_getters_when_the_active_tab_is_closed(browsing: Browsing) -> None:
    browsing.page.close()
    assert get(browsing.context, "active_tab_info") is None
    assert get(browsing.context, "active_url_from_accessTree") is None
    assert get(browsing.context, "active_tab_url_parse", parse_keys=["q"]) is None
    assert get(browsing.context, "open_tabs_info") == []


def test_accessibility_tree_without_a_desktop_is_unsupported(context: TaskContext) -> None:
    with pytest.raises(UnsupportedError, match="AT-SPI"):
        get(context, "accessibility_tree")


# --- scoring a whole evaluator -------------------------------------------------------------------------


def test_score_an_evaluator_with_file_command_and_rule_getters(context: TaskContext, tmp_path: Path) -> None:
    (tmp_path / "task" / "gold.txt").write_text("line one\nline two\n")
    evaluator = Evaluator.model_validate(
        {
            "func": ["compare_text_file", "check_include_exclude", "exact_match"],
            "result": [
                {"type": "vm_file", "path": "/home/user/Desktop/out.txt", "dest": "out.txt"},
                {"type": "vm_command_line", "command": ["cat", "/home/user/Desktop/out.txt"]},
                {
                    "type": "vm_command_line",
                    "command": "wc -l < ~/Desktop/out.txt | tr -d ' \\n'",
                    "shell": True,
                },
            ],
            "expected": [
                {"type": "cloud_file", "path": "gold.txt", "dest": "gold.txt"},
                {"type": "rule", "rules": {"include": ["line one", "two"], "exclude": ["three"]}},
                {"type": "rule", "rules": {"expected": "2"}},
            ],
        }
    )
    out = context.machine.home / "Desktop" / "out.txt"
    assert score(evaluator, context, last_action_failed=False) == 0.0  # nothing written yet
    out.parent.mkdir()
    out.write_text("line one\nline two\n")
    assert score(evaluator, context, last_action_failed=False) == 1.0
    assert score(evaluator, context, last_action_failed=True) == 0.0
    out.write_text("line one\nline two\nline three\n")
    assert score(evaluator, context, last_action_failed=False) == 0.0
    either = evaluator.model_copy(update={"conj": "or"})
    assert score(either, context, last_action_failed=False) == 0.0
    out.write_text("line one\nline two \n")  # includes and line count right, file text wrong
    assert score(either, context, last_action_failed=False) == 1.0
    assert score(evaluator, context, last_action_failed=False) == 0.0
