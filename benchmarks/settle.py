"""Settling against fixed pauses, on real application actions and task setups on a virtual desktop.

    .venv/bin/python -m benchmarks.settle [--rounds 3] [--observe 3] [--configs idle frames]

On Xvfb at 1920×1080 with openbox, xterm, mousepad and LibreOffice Calc, each action goes
through the environment's `perform` (execute + settle), once per settle rule, on fresh
desktops: `idle` (the default: the applications' activity, `wait_until_idle`), `frames` (three
equal frames, the earlier default) and `patient` (15 equal frames ≈ 0.7 s). Actions: openbox's
menu, mousepad's menu and file dialog, launching and closing an xterm, a command printing for
~1 s, typing into Calc, Calc's menu, its Format Cells dialog and opening a file through its
Open dialog. Setups: the first observation after `reset` of each desktop task of the local suite
(Calc, Writer, terminal, mousepad), which must show the application drawn. Browser: the pages of
`benchmarks.slow_pages` in Chromium (a timer, a slow fetch, a slow page load with a slow image, a
debounced search, two stages, a scripted slide, a slow form submission; `benchmarks.settle_browser`),
with the page's own record of its last change as ground truth.

Ground truth comes from a separate watcher process that grabs every area the X server reports
damaged within 5 ms, for the entire run, and logs every change with its time and bounding box
(it grabs only damaged areas, so the X server works for it only as much as the applications
draw, and the `idle` rule, which counts the server's CPU, is not held by it); after each action the benchmark
waits `--observe` seconds more. For each action: the wait, when the UI really
last changed (after the action), whether the settled screenshot was taken too early (the UI
changed after it, or the screen `--observe` s later differs from it), and for fixed pauses of
0.5/2/5 s (OSWorld sleeps 2 s after an action, WindowsAgentArena 5 s) whether they would have
been too early and the time the rule saved.

Blinking carets are masked: a change whose bounding box is a vertical bar at most 3 px wide
and 48 px tall (GTK's and LibreOffice's text caret) is not a UI change. xterm's cursor does
not blink, and X screenshots never contain the mouse pointer. The watcher runs in this
process's session, so the `idle` rule does not count its CPU. Prints a table and writes
benchmarks/results/settle.json with the load average: on a shared machine waits grow.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import select
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import TYPE_CHECKING

import numpy as np

from actions.models import Action, Click, Hotkey, Point, Press, TypeText
from environments.activity import CARET_HEIGHT, CARET_WIDTH
from benchmarks.report import write_result
from environments.screen import ScreenCapture
from environments.settle import SettleConfig

SIZE = (1920, 1080)
PAUSES = (0.5, 2.0, 5.0)
WATCH_INTERVAL = 0.005
SUITE = Path(__file__).resolve().parent.parent / "environments" / "tasks" / "suite" / "examples"
SETUP_TASKS = ("libreoffice_calc/calc-sum-prices", "libreoffice_writer/writer-add-paragraph",
               "os/terminal-write-file", "text_editor/mousepad-append-line")
"""The desktop tasks of the local suite, one per application."""

if TYPE_CHECKING:
    from environments.desktop import DesktopEnv


@dataclass(frozen=True)
class Change:
    at: float
    """time.monotonic() of the grab that first showed the change."""
    box: tuple[int, int, int, int]
    """left, top, right, bottom (exclusive) of the changed pixels."""

    @property
    def caret(self) -> bool:
        left, top, right, bottom = self.box
        return right - left <= CARET_WIDTH and bottom - top <= CARET_HEIGHT


def changed_box(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels that differ between two frames (H×W or H×W×channels), or None."""
    diff = a != b
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff[rows[0]: rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _pixels(capture: ScreenCapture) -> np.ndarray:
    raw = capture.grab()
    return np.frombuffer(raw.bgra, dtype=np.uint32).reshape(raw.size[1], raw.size[0])


def watch(stop: Event, out: Connection) -> None:
    """Grab what the X server reports damaged, within `WATCH_INTERVAL` s, until `stop`; send every
    change, then how late a change is seen at most on average (the event wait plus a grab).

    Only the damaged area is grabbed, into a copy of the screen kept up to date: the X server's
    work for the watcher then matches the applications' own drawing (a blinking caret costs a
    3×20 px grab). Grabbing whole frames (8 MB) on every caret blink, or on a timer, kept the
    server busy while the screen was quiet, and the `idle` rule, which counts the server's CPU,
    waited for the watcher (LibreOffice settled ~1.1 s after its last change, against ~0.4 s
    without the watcher)."""
    import mss
    from Xlib import display as xdisplay
    from Xlib.ext import damage

    connection = xdisplay.Display()
    connection.damage_query_version()
    connection.screen().root.damage_create(damage.DamageReportRawRectangles)
    connection.sync()
    capture = ScreenCapture()
    screen = _pixels(capture).copy()
    height, width = screen.shape
    changes: list[Change] = []
    grabs, grabbing = 0, 0.0
    with mss.MSS() as grabber:
        while not stop.is_set():
            select.select([connection.fileno()], [], [], WATCH_INTERVAL)
            boxes = []
            while connection.pending_events():
                event = connection.next_event()
                if type(event).__name__ == "DamageNotify":
                    a = event.area
                    boxes.append((a.x, a.y, a.x + a.width, a.y + a.height))
            left, top = max(min((b[0] for b in boxes), default=0), 0), max(min((b[1] for b in boxes), default=0), 0)
            right, bottom = min(max((b[2] for b in boxes), default=0), width), min(max((b[3] for b in boxes), default=0), height)
            if right <= left or bottom <= top:
                continue
            now = time.monotonic()
            raw = grabber.grab({"left": left, "top": top, "width": right - left, "height": bottom - top})
            area = np.frombuffer(raw.bgra, dtype=np.uint32).reshape(bottom - top, right - left)
            grabs, grabbing = grabs + 1, grabbing + time.monotonic() - now
            box = changed_box(screen[top:bottom, left:right], area)
            if box is not None:
                changes.append(Change(now, (box[0] + left, box[1] + top, box[2] + left, box[3] + top)))
                screen[top:bottom, left:right] = area
    capture.close()
    connection.close()
    out.send((changes, WATCH_INTERVAL + grabbing / max(grabs, 1)))
    out.close()


@dataclass(frozen=True)
class Trial:
    scenario: str
    action: str
    called: float
    executed: float
    """time.monotonic() when the action's input had been sent."""
    returned: float
    settle_stable: bool
    settled_differs_from_final: bool


@dataclass(frozen=True)
class Row:
    scenario: str
    action: str
    adaptive_s: float
    ui_done_s: float | None
    """When the UI last changed, from the end of the action's input (None: it never changed)."""
    lag_s: float | None
    """Adaptive wait's end minus the UI's last change."""
    early: bool
    stable: bool
    fixed_early: dict[str, bool]
    saved_s: dict[str, float]
    changes: list[tuple[float, tuple[int, int, int, int]]]
    """The UI changes after the action (seconds from its input's end, box), the first 12."""


def at(x: int, y: int) -> Point:
    return Point(x=x, y=y, space="screen")


def _window(desktop_env: dict[str, str], name: str) -> str:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name], env=desktop_env,
                           capture_output=True, text=True, check=True)
    return found.stdout.split()[0]


def _place(desktop_env: dict[str, str], name: str, x: int, y: int, w: int, h: int) -> None:
    window = _window(desktop_env, name)
    subprocess.run(["xdotool", "windowmove", window, str(x), str(y), "windowsize", window, str(w), str(h)],
                   env=desktop_env, check=True)


def desktop_scenarios() -> list[tuple[str, str, Action]]:
    """(scenario, action label, action) for one round on openbox, mousepad and xterm."""
    return [
        ("openbox menu", "right-click the desktop", Click(at=at(1700, 950), button="right")),
        ("openbox menu", "Escape closes it", Press(keys=("escape",))),
        ("mousepad menu", "click into mousepad", Click(at=at(1300, 400))),
        ("mousepad menu", "Alt+F opens File", Hotkey(keys=("alt", "f"))),
        ("mousepad menu", "Escape closes it", Press(keys=("escape",))),
        ("mousepad dialog", "Ctrl+O opens Open", Hotkey(keys=("ctrl", "o"))),
        ("mousepad dialog", "Escape closes it", Press(keys=("escape",))),
        ("terminal", "click into xterm", Click(at=at(300, 300))),
        ("terminal", "type a command", TypeText(text="xterm -geometry 80x20+100+600 &")),
        ("terminal", "Enter launches xterm", Press(keys=("enter",))),
        ("terminal", "type exit in it", TypeText(text="exit")),
        ("terminal", "Enter closes it", Press(keys=("enter",))),
        ("terminal", "type a printing loop",
         TypeText(text="for i in $(seq 40); do echo line $i; sleep 0.02; done")),
        ("terminal", "Enter prints for ~1 s", Press(keys=("enter",))),
    ]


def calc_scenarios(round_index: int, document: Path) -> list[tuple[str, str, Action]]:
    return [
        ("calc typing", "type a number", TypeText(text=str(12345 + round_index))),
        ("calc typing", "Tab to next cell", Press(keys=("tab",))),
        ("calc typing", "type a formula", TypeText(text=f"=A{round_index + 1}*2")),
        ("calc typing", "Enter computes it", Press(keys=("enter",))),
        ("calc menu", "Alt+O opens Format", Hotkey(keys=("alt", "o"))),
        ("calc menu", "Escape closes it", Press(keys=("escape",))),
        ("calc dialog", "Ctrl+1 Format Cells", Hotkey(keys=("ctrl", "1"))),
        ("calc dialog", "Escape closes it", Press(keys=("escape",))),
        ("calc open", "Ctrl+O opens Open", Hotkey(keys=("ctrl", "o"))),
        ("calc open", "type the file's path", TypeText(text=str(document))),
        ("calc open", "Enter opens it", Press(keys=("enter",))),
        ("calc open", "Ctrl+W closes it", Hotkey(keys=("ctrl", "w"))),
    ]


def open_calc(env: DesktopEnv, folder: Path) -> None:
    """Launch Calc in `folder`, fill the screen with it and click into its sheet."""
    env.desktop.launch(["libreoffice", "--calc", "--norestore", "--nologo"], cwd=folder)
    env.desktop.wait_for_window("Calc", timeout=90)
    _place(env.desktop.env, "Calc", 0, 0, *SIZE)
    time.sleep(5)  # LibreOffice keeps drawing for a while after its window maps
    env.perform(Click(at=at(960, 540)))


def run_trials(env: DesktopEnv, scenarios: list[tuple[str, str, Action]], observe: float,
               quiet: float) -> list[Trial]:
    trials = []
    final_capture = ScreenCapture()
    for scenario, label, action in scenarios:
        time.sleep(quiet)
        called = time.monotonic()
        result = env.perform(action)
        returned = time.monotonic()
        if not result.ok:
            raise RuntimeError(f"{scenario}: {label}: {result.error}")
        settled = np.asarray(env.last_screenshot.image)
        time.sleep(observe)
        final = np.asarray(final_capture.capture().image)
        box = changed_box(settled, final)
        differs = box is not None and not Change(0.0, box).caret
        trials.append(Trial(scenario, label, called, called + result.timings.execute, returned,
                            bool(result.settle and result.settle.stable), differs))
    final_capture.close()
    return trials


def rows_for(trials: list[Trial], changes: list[Change], observe: float, watch_latency: float) -> list[Row]:
    rows = []
    for trial in trials:
        ui = [c for c in changes if trial.called < c.at <= trial.returned + observe and not c.caret]
        last = max(c.at for c in ui) if ui else None
        adaptive = trial.returned - trial.executed
        ui_done = last - trial.executed if last is not None else None
        # The watcher sees a change up to one event wait and one grab after it happens.
        changed_later = last is not None and last - watch_latency > trial.returned
        early = trial.settled_differs_from_final or changed_later
        rows.append(Row(
            trial.scenario, trial.action, round(adaptive, 3),
            round(ui_done, 3) if ui_done is not None else None,
            round(trial.returned - last, 3) if last is not None and last <= trial.returned else None,
            early, trial.settle_stable,
            {f"{p:g}s": ui_done is not None and ui_done - watch_latency > p for p in PAUSES},
            {f"{p:g}s": round(p - adaptive, 3) for p in PAUSES},
            [(round(c.at - trial.executed, 3), c.box) for c in ui[:12]],
        ))
    return rows


CONFIGS = {
    "idle": SettleConfig(),
    "frames": SettleConfig(watch=False),
    # A stable window long enough to outlast LibreOffice's idle-timer toolbar refresh (the
    # longest quiet gap inside one action's changes measured here was 0.59 s).
    "patient": SettleConfig(watch=False, interval=0.05, stable_frames=15),
}


def _watched(env: DesktopEnv, body) -> tuple[list[Trial], list[Change], float]:
    """Run `body()` (→ trials) on `env`'s display while a watcher process logs every change."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    receive, send = context.Pipe(duplex=False)
    watcher = context.Process(target=watch, args=(stop, send), daemon=True)
    try:
        watcher.start()
        trials = body()
        stop.set()
        changes, watch_latency = receive.recv()
    finally:
        stop.set()
        watcher.join(timeout=10)
        if watcher.is_alive():
            watcher.kill()
    return trials, changes, watch_latency


def measure(config: SettleConfig, rounds: int, observe: float, quiet: float) -> tuple[list[Row], float]:
    """Every scenario `rounds` times on a fresh desktop whose env settles with `config`."""
    from environments.xvfb import XvfbEnv

    env = XvfbEnv(*SIZE, launch=[["xterm", "-geometry", "120x40+0+0"], ["mousepad"]], settle=config)
    folder = Path(tempfile.mkdtemp(prefix="settle-bench-"))
    document = folder / "prices.xlsx"
    shutil.copyfile(SUITE.parent / "files" / "prices.xlsx", document)

    def body() -> list[Trial]:
        trials: list[Trial] = []
        for _ in range(rounds):
            trials.extend(run_trials(env, desktop_scenarios(), observe, quiet))
        open_calc(env, folder)
        for index in range(rounds):
            trials.extend(run_trials(env, calc_scenarios(index, document), observe, quiet))
        return trials

    try:
        _place(env.desktop.env, "Mousepad", 1000, 100, 800, 600)
        env.reset()
        trials, changes, watch_latency = _watched(env, body)
    finally:
        env.close()
        shutil.rmtree(folder, ignore_errors=True)
    return rows_for(trials, changes, observe, watch_latency), watch_latency


def measure_setups(config: SettleConfig, observe: float) -> tuple[list[Row], float]:
    """The first observation after each local-suite desktop task's setup, on one fresh desktop."""
    from environments.base import TaskOptions
    from environments.xvfb import XvfbEnv

    env = XvfbEnv(*SIZE, settle=config)

    def body() -> list[Trial]:
        trials = []
        final_capture = ScreenCapture()
        for name in SETUP_TASKS:
            called = time.monotonic()
            _, info = env.reset(options=TaskOptions(task=SUITE / f"{name}.json"))
            returned = time.monotonic()
            waited = info["result"].timings.capture
            settled = np.asarray(env.last_screenshot.image)
            time.sleep(observe)
            final = np.asarray(final_capture.capture().image)
            box = changed_box(settled, final)
            differs = box is not None and not Change(0.0, box).caret
            trials.append(Trial("first frame", name.split("/")[1], called, returned - waited, returned,
                                True, differs))
        final_capture.close()
        env.reset()  # ends the last task: its programs stop
        return trials

    try:
        env.reset()
        trials, changes, watch_latency = _watched(env, body)
    finally:
        env.close()
    return rows_for(trials, changes, observe, watch_latency), watch_latency


def summarize(rows: list[Row]) -> dict:
    """Early screenshots, the wait, and how long after the UI's last change it ended (the lag:
    over the rows that changed the screen and were not early)."""
    adaptive = [r.adaptive_s for r in rows]
    lags = [r.lag_s for r in rows if r.lag_s is not None]
    return {
        "actions": len(rows), "early_adaptive": sum(r.early for r in rows),
        "early_fixed": {k: sum(r.fixed_early[k] for r in rows) for k in rows[0].fixed_early},
        "adaptive_median_s": round(statistics.median(adaptive), 3), "adaptive_max_s": max(adaptive),
        "lag_median_s": round(statistics.median(lags), 3) if lags else None,
        "lag_max_s": max(lags) if lags else None,
        "lag_over_0.5s": sum(lag > 0.5 for lag in lags),
        "saved_total_s": {k: round(sum(r.saved_s[k] for r in rows), 1) for k in rows[0].saved_s},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--observe", type=float, default=3.0,
                        help="seconds to keep watching after each settle")
    parser.add_argument("--quiet", type=float, default=0.5, help="seconds between actions")
    parser.add_argument("--configs", nargs="+", default=["idle", "frames"], choices=list(CONFIGS))
    parser.add_argument("--cases", nargs="+", default=["setups", "actions", "browser"],
                        choices=["setups", "actions", "browser"])
    args = parser.parse_args()
    results = {}
    load_before = [round(x, 2) for x in os.getloadavg()]
    for name in args.configs:
        rows: list[Row] = []
        periods = []
        if "setups" in args.cases:
            setup_rows, period = measure_setups(CONFIGS[name], args.observe)
            rows += setup_rows
            periods.append(period)
        if "actions" in args.cases:
            action_rows, period = measure(CONFIGS[name], args.rounds, args.observe, args.quiet)
            rows += action_rows
            periods.append(period)
        if "browser" in args.cases:
            from benchmarks.settle_browser import measure_browser

            rows += measure_browser(name, args.rounds, args.observe)
        if not rows:
            continue
        watch_latency = max(periods, default=0.0)
        _print(name, rows, CONFIGS[name], watch_latency)
        summary = summarize(rows)
        print(f"{name}: {summary}\n")
        results[name] = {"config": asdict(CONFIGS[name]), "watch_latency_ms": round(watch_latency * 1000, 1),
                         "summary": summary, "rows": [asdict(r) for r in rows]}
    # A browser-only run (`--cases browser`) keeps its own file, beside the desktop run's.
    write_result("settle_browser" if args.cases == ["browser"] else "settle", {
        "size": list(SIZE), "rounds": args.rounds, "observe_s": args.observe, "cases": args.cases,
        "load_average_at_start": load_before, "caret_mask_px": [CARET_WIDTH, CARET_HEIGHT],
        "configs": results,
    })


def _print(name: str, rows: list[Row], config: SettleConfig, watch_latency: float) -> None:
    print(f"settle '{name}' ({config})")
    print(f"vs fixed pauses; watcher latency {watch_latency * 1000:.1f} ms")
    head = f"{'scenario':15s} {'action':24s} {'adaptive':>8s} {'UI done':>8s} {'lag':>6s} {'early':>5s}"
    head += "".join(f" {'early@' + f'{p:g}s':>9s} {'saved':>6s}" for p in PAUSES)
    print(head)
    for r in rows:
        done = f"{r.ui_done_s:8.3f}" if r.ui_done_s is not None else f"{'-':>8s}"
        lag = f"{r.lag_s:6.3f}" if r.lag_s is not None else f"{'-':>6s}"
        early = "YES" if r.early else "no"
        line = f"{r.scenario:15s} {r.action:24s} {r.adaptive_s:8.3f} {done} {lag} {early:>5s}"
        for p in PAUSES:
            key = f"{p:g}s"
            line += f" {('YES' if r.fixed_early[key] else 'no'):>9s} {r.saved_s[key]:6.2f}"
        print(line)
    print("seconds from the end of the action's input; lag = adaptive end - UI's last change; "
          "early = the UI changed after the screenshot was taken")


if __name__ == "__main__":
    main()
