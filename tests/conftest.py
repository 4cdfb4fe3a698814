"""Shared fixtures. `x_display`: one virtual X desktop for the whole test process.

pyautogui binds to one display per process when first imported, so every in-process test
that acts on a display shares this one; tests that need their own desktop run the agent in
a subprocess instead (see tests/e2e).
"""

from __future__ import annotations

import os
import signal
from typing import Iterator

import pytest

from environments.virtual_desktop import VirtualDesktop


def pytest_configure(config: pytest.Config) -> None:
    """Tests run with a fresh, empty HOME: terminals they start read no user shell start-up files
    (a pyenv or conda hook there can stall every new shell), and caches stay out of the real home.

    Ctrl+C works in the programs they start, as in a terminal's foreground job, even when the suite itself
    was started in the background by a shell without job control (`bash -c '... &'`), which starts it with
    SIGINT ignored: every program it starts would inherit that, and the tests that press Ctrl+C would fail."""
    import tempfile

    os.environ["HOME"] = tempfile.mkdtemp(prefix="kimi-tests-home-")
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def x_display() -> Iterator[VirtualDesktop]:
    desktop = VirtualDesktop(1280, 800).start()
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "XAUTHORITY")}
    os.environ.update(DISPLAY=desktop.display, XAUTHORITY=desktop.env["XAUTHORITY"])
    try:
        yield desktop
    finally:
        desktop.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
