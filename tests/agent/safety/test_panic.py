"""The panic-key listener on a real X display: only the whole chord sets the signal."""

from __future__ import annotations

import subprocess
import time

import pytest

from agent.safety import PanicKey, PanicKeyError, PanicSignal

pytestmark = pytest.mark.desktop


def pressed_within(signal: PanicSignal, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not signal.pressed and time.monotonic() < deadline:
        time.sleep(0.01)
    return signal.pressed


def test_the_chord_sets_the_signal_and_other_chords_do_not(x_display) -> None:
    signal = PanicSignal("Ctrl+Alt+Shift+K")
    assert signal.keys == "ctrl+alt+shift+k"
    with PanicKey(signal):
        for near_miss in ("ctrl+alt+k", "ctrl+shift+k", "alt+shift+k", "k"):
            subprocess.run(["xdotool", "key", near_miss], env=x_display.env, check=True, timeout=10)
        assert not pressed_within(signal, 0.5)
        subprocess.run(["xdotool", "key", "ctrl+alt+shift+k"], env=x_display.env, check=True, timeout=10)
        assert pressed_within(signal, 5)


def test_an_unknown_key_is_a_clear_error() -> None:
    with pytest.raises(PanicKeyError, match="--panic-key 'ctrl\\+nosuchkey'"):
        PanicSignal("ctrl+nosuchkey")
