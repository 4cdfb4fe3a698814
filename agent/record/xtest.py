"""Harmless synthetic X input, to wake pynput listeners that report ready before they listen."""

from __future__ import annotations

import time
from collections.abc import Callable


def nudge_until(done: Callable[[bool], bool], timeout: float = 2.0) -> None:
    """Send harmless XTEST events until `done(keys_probed)` (or `timeout` passes).

    `keys_probed` is False when the keymap has no unmapped keycode to press harmlessly.
    """
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    conn = xdisplay.Display()
    try:
        first, last = conn.display.info.min_keycode, conn.display.info.max_keycode
        mapping = conn.get_keyboard_mapping(first, last - first + 1)
        unmapped = next((first + i for i, syms in enumerate(mapping) if not any(syms)), None)
        deadline = time.monotonic() + timeout
        while not done(unmapped is not None) and time.monotonic() < deadline:
            pointer = conn.screen().root.query_pointer()
            xtest.fake_input(conn, X.MotionNotify, x=pointer.root_x, y=pointer.root_y)
            if unmapped is not None:
                xtest.fake_input(conn, X.KeyPress, unmapped)
                xtest.fake_input(conn, X.KeyRelease, unmapped)
            conn.sync()
            time.sleep(0.01)
    finally:
        conn.close()
