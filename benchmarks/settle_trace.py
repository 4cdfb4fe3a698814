"""How long any settling rule must wait in LibreOffice Calc, from what the desktop shows of its work.

    .venv/bin/python -m benchmarks.settle_trace [--rounds 2] [--observe 2.5]

Runs the Calc actions of `benchmarks.settle` (typing, menus, dialogs, opening a file through the
Open dialog) and the first observation after the setup of the local suite's Calc task, and records,
for the whole run, two things side by side:

- what really changed on screen: the benchmark's watcher grabs every damaged area and logs the
  pixels that differ (a caret's blink masked);
- every sign of work the `idle` rule can see (`environments.activity`, looked at every 10 ms):
  a look in which the display's programs used at least the busy share of a core, or the X server
  reported damage, changed pixels or not.

A rule sees work (a busy program, a program starting or ending, damage) or sees nothing; while it
sees nothing, all it knows is how long that has lasted and whether a program sleeps on a main-loop
timer due soon. Whenever a visible change still came after the rule had seen nothing for q seconds
(LibreOffice sleeping on a timer, as it also does when that timer will redraw nothing new), a rule
that ends in that state, quiet for q with a timer pending (or without one), is early there. So a
never-early rule ends at the soonest at the first look where it has been quiet for longer than
every such q, with the timer state at that look. That is worked out twice: for a rule that counts
all damage as work (ours), and for one that compares the damaged areas' pixels and ignores damage
that changed none, with the work just before it. The report prints the silences and, per action,
how long after its last visible change each kind of rule ends at the soonest, and writes
benchmarks/results/settle_trace.json.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.report import write_result
from benchmarks.settle import SIZE, SUITE, Change, _watched, calc_scenarios, open_calc
from environments.settle import SettleConfig

LOOK_INTERVAL = 0.01
FIRST_FRAME = Path("libreoffice_calc/calc-sum-prices")
"""The local-suite task whose first frame (after its setup opens a spreadsheet) is traced too."""
REDRAW_SLACK = 0.04
"""Seconds before a sign of damage within which work counts as drawing that damage."""


@dataclass(frozen=True)
class Look:
    at: float
    busy: bool
    """The display's programs used at least the busy share of a core since the previous look, or one
    of them started or ended."""
    damaged: bool
    timer: bool
    """A program that was just busy sleeps on a main-loop timer due soon (`Reading.timer_due`)."""


@dataclass(frozen=True)
class Window:
    """One action: the looks and visible changes (time.monotonic()) from the end of its input
    (`start`) until `end`."""

    action: str
    start: float
    end: float
    changes: tuple[float, ...]
    looks: tuple[Look, ...]

    @classmethod
    def of(cls, action: str, start: float, end: float, changes: list[float], looks: list[Look]) -> Window:
        return cls(action, start, end, tuple(sorted(t for t in changes if start < t <= end)),
                   tuple(look for look in looks if start < look.at <= end))

    @property
    def last_change_s(self) -> float | None:
        return round(self.changes[-1] - self.start, 3) if self.changes else None

    def signs(self, pixels: bool) -> list[float]:
        """When the rule saw work or damage. With `pixels` (a rule that compares the damaged areas' pixels),
        not an unchanged redraw: damage with no visible change near it, and the work just before it."""
        if not pixels:
            return [look.at for look in self.looks if look.busy or look.damaged]
        unchanged = {look.at for look in self.looks
                     if look.damaged and not any(abs(look.at - c) <= REDRAW_SLACK for c in self.changes)}
        return [look.at for look in self.looks
                if (look.busy or look.damaged) and look.at not in unchanged
                and not any(0 <= r - look.at <= REDRAW_SLACK for r in unchanged)]

    def silences(self, pixels: bool) -> Silences:
        """How long the rule had seen nothing, with a timer pending and without, at looks after which a
        visible change still came: a rule that ends in such a state is early there."""
        signs = self.signs(pixels)
        with_timer = without = 0.0
        for change in self.changes:
            before = [t for t in signs if t < change - REDRAW_SLACK]
            if not before:
                continue
            for look in self.looks:
                if before[-1] < look.at < change - REDRAW_SLACK:
                    quiet = look.at - before[-1]
                    if look.timer:
                        with_timer = max(with_timer, quiet)
                    else:
                        without = max(without, quiet)
        return Silences(round(with_timer, 3), round(without, 3))

    def soonest_end(self, silences: Silences, pixels: bool) -> float | None:
        """How long after the last visible change a never-early rule can end at the soonest: at the first
        look where it has seen nothing for longer than any silence (`silences`, with a timer pending or
        without, as at that look) after which a visible change still came. None: nothing changed; the end
        of the watch: no such look."""
        if not self.changes:
            return None
        signs = self.signs(pixels)
        for look in self.looks:
            if look.at < self.changes[-1]:
                continue
            quiet = look.at - max((t for t in signs if t <= look.at), default=self.changes[-1])
            if quiet > (silences.with_timer if look.timer else silences.without) + 1e-9:
                return round(look.at - self.changes[-1], 3)
        return round(self.end - self.changes[-1], 3)


@dataclass(frozen=True)
class Silences:
    """The longest quiet (s) at a look after which a visible change still came, at looks where a timer
    was pending and where none was."""

    with_timer: float
    without: float

    def longest(self, other: Silences) -> Silences:
        return Silences(max(self.with_timer, other.with_timer), max(self.without, other.without))


def _look(stop: threading.Event, looks: list[Look], config: SettleConfig) -> None:
    from environments.activity import DesktopActivity

    activity = DesktopActivity.open(os.environ["DISPLAY"], busy_share=config.busy_share)
    try:
        while not stop.is_set():
            reading = activity.poll()
            busy = reading.cpu_share >= config.busy_share or reading.spawned > 0
            looks.append(Look(reading.at, busy, reading.changed, reading.timer_due))
            time.sleep(LOOK_INTERVAL)
    finally:
        activity.close()


def run(rounds: int, observe: float) -> list[Window]:
    from environments.base import TaskOptions
    from environments.xvfb import XvfbEnv

    config = SettleConfig()
    env = XvfbEnv(*SIZE, settle=config)
    folder = Path(tempfile.mkdtemp(prefix="settle-trace-"))
    document = folder / "prices.xlsx"
    shutil.copyfile(SUITE.parent / "files" / "prices.xlsx", document)
    looks: list[Look] = []
    stop = threading.Event()
    looker = threading.Thread(target=_look, args=(stop, looks, config), daemon=True)
    marks: list[tuple[str, float]] = []

    def body() -> list:
        looker.start()
        for _ in range(rounds):
            _, info = env.reset(options=TaskOptions(task=SUITE / f"{FIRST_FRAME}.json"))
            marks.append((f"first frame: {FIRST_FRAME.name}", time.monotonic() - info["result"].timings.capture))
            time.sleep(observe)
        env.reset()  # ends the task: its Calc quits
        open_calc(env, folder)
        for index in range(rounds):
            for _, label, action in calc_scenarios(index, document):
                time.sleep(0.5)
                called = time.monotonic()
                result = env.perform(action)
                if not result.ok:
                    raise RuntimeError(f"{label}: {result.error}")
                marks.append((label, called + result.timings.execute))
                time.sleep(observe)
        stop.set()
        looker.join(timeout=5)
        return []

    try:
        env.reset()
        _, changes, _ = _watched(env, body)
    finally:
        stop.set()
        env.close()
        shutil.rmtree(folder, ignore_errors=True)
    visible = [c.at for c in changes if not Change(c.at, c.box).caret]
    return [Window.of(label, start, start + observe, visible, looks) for label, start in marks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="times every action is traced")
    parser.add_argument("--observe", type=float, default=2.5, help="seconds watched after each action")
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    windows = run(args.rounds, args.observe)
    rows, summary = [], {}
    for pixels in (False, True):
        silences = functools.reduce(Silences.longest, (w.silences(pixels) for w in windows), Silences(0.0, 0.0))
        summary["pixels" if pixels else "damage"] = silences
        for index, w in enumerate(windows):
            if not pixels:
                rows.append({"action": w.action, "last_change_s": w.last_change_s})
            rows[index]["soonest_end_pixels_s" if pixels else "soonest_end_s"] = w.soonest_end(silences, pixels)
    print(f"{'action':34s} {'last change':>11s} {'soonest end':>11s} {'(pixels)':>8s}")
    for row in rows:
        cells = [f"{row[k]:.3f}" if row[k] is not None else "-"
                 for k in ("last_change_s", "soonest_end_s", "soonest_end_pixels_s")]
        print(f"{row['action']:34s} {cells[0]:>11s} {cells[1]:>11s} {cells[2]:>8s}")
    over = [row["action"] for row in rows
            if row["last_change_s"] is not None and min(row["soonest_end_s"], row["soonest_end_pixels_s"]) > 0.5]
    for name, silences in summary.items():
        print(f"counting {name}: the longest silences before a visible change, {silences.with_timer:.3f} s with a "
              f"timer pending, {silences.without:.3f} s without")
    print(f"a never-early rule ends more than 0.5 s after the last visible change in {len(over)} of {len(rows)} "
          f"actions: {', '.join(over) or '-'}\n(last change: s after the action's input; soonest end: s after the "
          "last change, counting all damage as work, and (pixels) for a rule that ignores unchanged redraws)")
    write_result("settle_trace", {
        "rounds": args.rounds, "observe_s": args.observe, "load_average_at_start": load_before,
        "silences_s": {name: asdict(silences) for name, silences in summary.items()},
        "over_half_second": over, "actions": rows,
    })

if __name__ == "__main__":
    main()
