"""The trace's reading of a timeline: silences before visible changes, the work that counts, and the
soonest a never-early rule can end (synthetic timelines shaped like the traced LibreOffice ones)."""

from __future__ import annotations

from benchmarks.settle_trace import Look, Silences, Window


def timeline(busy: set[int], damaged: set[int], until: int, timer: range = range(0, 100_000)) -> list[Look]:
    """Looks every 10 ms up to `until` ms; busy/damaged at the listed ms; a timer pending during `timer` (ms)."""
    return [Look(t / 1000, t in busy, t in damaged, t in timer) for t in range(0, until + 1, 10)]


def test_typing_a_change_after_silent_work_and_a_timer_sets_the_silence():
    # Calc draws the number at 60 ms, works silently at 330 ms, sleeps on timers and redraws at 650 ms.
    looks = timeline(busy={60, 330, 650}, damaged={60, 650}, until=2000, timer=range(70, 1000))
    window = Window.of("type", 0.0, 2.0, [0.06, 0.65], looks)
    assert window.last_change_s == 0.65
    assert window.silences(True) == Silences(0.27, 0.0)  # 330 → 600 ms, the last look before the redraw's slack
    # after the redraw: nothing seen, a timer pending until 1 s: the rule may end once quiet > 0.27 s
    assert window.soonest_end(Silences(0.27, 0.05), True) == 0.28
    # ... or where no timer is pending and it has been quiet for longer than that silence
    assert window.soonest_end(Silences(0.5, 0.05), True) == 0.35


def test_opening_a_document_the_silent_work_counts_and_unchanged_redraws_do_not():
    # The document is drawn by 1300 ms, work goes on without damage until 1740 ms, then timers
    # redraw the status bar with the same pixels at 1980 and 2330 ms.
    busy = set(range(1000, 1310, 10)) | set(range(1500, 1750, 10)) | {1970, 1980, 2320, 2330}
    looks = timeline(busy=busy, damaged={1300, 1980, 2330}, until=3000, timer=range(1310, 100_000))
    window = Window.of("open", 0.0, 3.0, [1.3], looks)
    assert window.signs(True)[-1] == 1.74
    assert window.soonest_end(Silences(0.32, 0.05), True) == 0.77  # quiet for 0.33 s after 1.74
    assert window.soonest_end(Silences(0.2, 0.05), True) == 0.65  # the redraws at 1.97-1.98 s do not count
    assert window.soonest_end(Silences(0.1, 0.05), True) == 0.11  # quiet before the silent work
    # a rule that counts all damage as work also waits out the unchanged redraws
    assert window.signs(False)[-1] == 2.33
    assert window.soonest_end(Silences(0.32, 0.05), False) == 1.01  # quiet for 0.33 s after the redraw at 1.98


def test_a_state_never_followed_by_a_change_lets_the_rule_end_there():
    looks = timeline(busy={60, 330, 650}, damaged={60, 650}, until=1000, timer=range(0))
    window = Window.of("x", 0.0, 1.0, [0.06, 0.65], looks)
    assert window.silences(True) == Silences(0.0, 0.27)
    assert window.soonest_end(Silences(0.3, 0.0), True) == 0.01  # the first quiet look


def test_late_work_after_the_rule_could_end_does_not_count_and_no_change_means_no_end():
    looks = timeline(busy={100, 900}, damaged={100}, until=1500)
    window = Window.of("x", 0.0, 1.5, [0.1], looks)
    assert window.soonest_end(Silences(0.3, 0.3), True) == 0.31
    assert Window.of("y", 0.0, 1.0, [], looks).soonest_end(Silences(0.3, 0.3), True) is None
