"""The panic hotkey: a global key combination on the X display the agent acts on that stops the run.

The loop checks the signal before every action, so once the key is pressed nothing more is
performed; a model request already in flight finishes and its reply is discarded.
"""

from __future__ import annotations

import threading
from typing import Any, Self

from actions.keys import UnknownKeyError
from agent.record.xtest import nudge_until
from agent.safety.rules import parse_combo

DEFAULT_PANIC_KEY = "ctrl+alt+shift+k"
"""Chosen to be unlikely in any application and typed by nobody by accident."""

# Our key names → pynput's (`<name>` is a pynput `Key` member).
_PYNPUT_NAMES = {
    "win": "cmd", "command": "cmd", "escape": "esc", "pageup": "page_up", "pagedown": "page_down",
    "printscreen": "print_screen", "capslock": "caps_lock", "numlock": "num_lock",
    "scrolllock": "scroll_lock", "apps": "menu", "altgr": "alt_gr",
}


class PanicKeyError(RuntimeError):
    """The panic key cannot be used: an unknown key name, or no listener on this display."""


class PanicSignal:
    """Set once the panic key is pressed; safe to read from the loop's thread."""

    def __init__(self, keys: str = DEFAULT_PANIC_KEY) -> None:
        try:
            self.combo = parse_combo(keys)
        except (UnknownKeyError, ValueError) as err:
            raise PanicKeyError(f"--panic-key {keys!r}: {err}") from None
        self.keys = "+".join(sorted(self.combo, key=_modifiers_first))
        self._pressed = threading.Event()

    @property
    def pressed(self) -> bool:
        return self._pressed.is_set()

    def press(self) -> None:
        self._pressed.set()


class PanicKey:
    """Listens for the panic key on $DISPLAY while in a `with` block; pressing it sets `signal`."""

    def __init__(self, signal: PanicSignal) -> None:
        self.signal = signal
        self._live = threading.Event()
        self._listener: Any = None

    def __enter__(self) -> Self:
        try:
            from pynput import keyboard  # binds to $DISPLAY at import
        except ImportError as err:
            raise PanicKeyError(f"the panic key needs an X display pynput can open ({err}); run with --no-panic-key") from None
        try:
            hotkey = keyboard.HotKey(keyboard.HotKey.parse(_pynput_combo(self.signal.combo)), self.signal.press)
        except ValueError as err:
            raise PanicKeyError(f"--panic-key {self.signal.keys}: pynput has no key {err}; choose other keys") from None
        listener: Any = None

        def press(key: Any) -> None:
            self._live.set()
            hotkey.press(listener.canonical(key))

        listener = keyboard.Listener(on_press=press, on_release=lambda key: hotkey.release(listener.canonical(key)))
        self._listener = listener
        listener.start()
        listener.wait()
        # pynput reports ready before its X RECORD context is enabled; harmless synthetic
        # keys until one is seen make sure a press right after this returns is not missed.
        nudge_until(lambda _: self._live.is_set() or not listener.is_alive())
        if not listener.is_alive():
            raise PanicKeyError("the panic-key listener stopped at once (does the X server have the RECORD extension?); run with --no-panic-key")
        return self

    def __exit__(self, *_: object) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            try:
                nudge_until(lambda _: not listener.is_alive())  # pynput notices stop() at the next event
            except Exception:  # noqa: BLE001  the display is gone (the run's own error says so); its listener died with it
                pass


def _modifiers_first(key: str) -> tuple[int, str]:
    return (["ctrl", "alt", "shift", "win"].index(key) if key in ("ctrl", "alt", "shift", "win") else 4, key)


def _pynput_combo(combo: frozenset[str]) -> str:
    parts = []
    for key in sorted(combo, key=_modifiers_first):
        parts.append(key if len(key) == 1 else f"<{_PYNPUT_NAMES.get(key, key)}>")
    return "+".join(parts)
