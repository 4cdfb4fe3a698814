"""WindowsAgentArena's `/obs_winagent` answered from an X desktop: the active window's picture,
title and rectangle, and the names of the open windows.

WAA's harness asks for it with every observation and drops the whole observation when it fails,
so a Linux guest answers it with the same fields its Windows server gives. Where Windows has a
notion X lacks, the Windows server's own fallback is taken: no active window (or one without a
title) is "Desktop" with the whole screen as its rectangle, as the Windows server answers for its
desktop window.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

DESKTOP_TITLE = "Desktop"
NO_HUMAN_INPUT = "Question: No question asked yet\nAnswer: No answer given yet"
"""What WAA's server reports as the human's input until its `human` object is asked something, which
only code run through /execute_windows does (not served on Linux)."""


@dataclass(frozen=True)
class ActiveWindow:
    title: str
    rect: tuple[int, int, int, int]
    """(x0, y0, x1, y1) on the screen, the window's frame included, as Windows' GetWindowRect gives it."""


def _property(display: Any, window: Any, name: str) -> list[Any] | None:
    from Xlib import X, error

    try:
        found = window.get_full_property(display.intern_atom(name), X.AnyPropertyType)
    except error.XError:  # the window went away between listing and reading it
        return None
    return list(found.value) if found is not None else None


def _title(display: Any, window: Any) -> str:
    from Xlib import X, error

    try:
        utf8 = display.intern_atom("UTF8_STRING")
        found = window.get_full_property(display.intern_atom("_NET_WM_NAME"), utf8)
        if found is None:
            found = window.get_full_property(display.intern_atom("WM_NAME"), X.AnyPropertyType)
    except error.XError:
        return ""
    if found is None:
        return ""
    value = found.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _frame_rect(display: Any, root: Any, window: Any) -> tuple[int, int, int, int]:
    """The window's rectangle on the root window, widened by the frame the window manager draws."""
    geometry = window.get_geometry()
    origin = root.translate_coords(window, 0, 0)
    left, right, top, bottom = (_property(display, window, "_NET_FRAME_EXTENTS") or [0, 0, 0, 0])[:4]
    x1, y1 = origin.x + geometry.width + right, origin.y + geometry.height + bottom
    return origin.x - left, origin.y - top, x1, y1


def active_window() -> ActiveWindow:
    """The focused top-level window, or the desktop (the whole screen) when none has a title."""
    from Xlib import display as xdisplay
    from Xlib import error

    display = xdisplay.Display()
    try:
        root = display.screen().root
        screen = root.get_geometry()
        desktop = ActiveWindow(DESKTOP_TITLE, (0, 0, screen.width, screen.height))
        active = (_property(display, root, "_NET_ACTIVE_WINDOW") or [0])[0]
        if not active:
            return desktop
        window = display.create_resource_object("window", active)
        title = _title(display, window)
        if not title:
            return desktop
        try:
            return ActiveWindow(title, _frame_rect(display, root, window))
        except error.XError:
            return desktop
    finally:
        display.close()


def window_names() -> list[str]:
    """Titles of the managed windows, topmost first, each once; untitled ones left out (as WAA's
    server lists its visible top-level windows)."""
    from Xlib import display as xdisplay

    display = xdisplay.Display()
    try:
        root = display.screen().root
        stacking = _property(display, root, "_NET_CLIENT_LIST_STACKING") or []
        names: list[str] = []
        for window_id in reversed(stacking):
            title = _title(display, display.create_resource_object("window", window_id))
            if title and title not in names:
                names.append(title)
        return names
    finally:
        display.close()


def observation(screen: Image.Image) -> dict[str, Any]:
    """The JSON body of WAA's `/obs_winagent` for this desktop, cut from `screen` (no pointer drawn,
    as the Windows server's window grab has none); the rectangle may reach past the screen's edges
    (a maximised window's frame does), and what lies outside is black, as in the Windows grab."""
    window = active_window()
    picture = screen.crop(window.rect)
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return {
        "image": base64.b64encode(out.getvalue()).decode(), "window_title": window.title,
        "rect": list(window.rect), "window_names_str": "\n".join(window_names()),
        "computer_clipboard": None, "human_input": NO_HUMAN_INPUT, "status": "success",
    }
