"""Debian's Chromium: where it is and the flags it needs here (the browser env and task setup both launch it)."""

from __future__ import annotations

import os
import shutil

from environments.settings import CHROMIUM, text_from_env

# Without these, Chromium here tries to reach Google's services and fails noisily (or hangs).
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
)


class BrowserStartError(RuntimeError):
    """Chromium could not be found or started; the message says what to install."""


def chromium_path() -> str:
    """Debian's Chromium (never a downloaded build); $KIMI_AGENT_CHROMIUM overrides."""
    path = text_from_env(CHROMIUM) or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise BrowserStartError("Chromium not found: apt-get install chromium (or set KIMI_AGENT_CHROMIUM)")
    return path
