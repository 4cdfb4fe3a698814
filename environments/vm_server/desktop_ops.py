"""What the VM server does on its own X session: screenshots with the pointer drawn in, windows,
opening files, commands' argv. Every process runs with argv lists; nothing goes through a shell
unless the request asks for one."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from environments.debian_programs import Program, debian_program, opener_for
from environments.processes import stop_group
from environments.program_shims import shell_env as _shell_env
from environments.terminals import Terminals

__all__ = ["TERMINALS", "argv", "close_all_windows", "open_and_wait", "pointer", "program", "screen_image",
           "screen_size", "screenshot_png", "shell_env", "stop_group", "to_trash", "tree", "verified",
           "window", "window_size"]

OPEN_TIMEOUT = 1800.0
"""How long /setup/open_file waits for the window by default: OSWorld's server's own bound. LibreOffice in a
guest under software emulation takes over a minute to show its window; the route returns as soon as it does."""
TERMINALS = Terminals(f"kimi-vm-server-{os.getpid()}")
"""The terminals `gnome-terminal` opens on this server's display, on a tmux server of this process."""
atexit.register(TERMINALS.stop)
CURSOR = [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)]
"""An arrow pointer, as OSWorld's screenshots show one."""


def argv(command: str | list[str]) -> list[str]:
    """A request's command as argv: `python`/`python3` mean this server's interpreter (which has
    pyautogui, as OSWorld's VMs do), and `~` is expanded, as the reference server does."""
    import shlex

    parts = shlex.split(command) if isinstance(command, str) else list(command)
    if parts and parts[0] in ("python", "python3"):
        parts[0] = sys.executable
    return [os.path.expanduser(p) if p.startswith("~") else p for p in parts]


def program(command: str | list[str]) -> Program:
    """A request's command as it runs here (`argv`), with OSWorld's Ubuntu program names mapped to
    this Debian guest's as the task machine maps them: Google Chrome → Chromium, GNOME Terminal → the
    stand-in of `environments.terminals`."""
    parts = argv(command)
    if not parts:
        return Program(parts)
    return debian_program(parts, Path.home(), TERMINALS)


def shell_env() -> dict[str, str]:
    """The environment of a shell line: OSWorld's Ubuntu program names first on its PATH (see
    `environments.program_shims`), mapped as an argv's are."""
    return _shell_env(os.environ, TERMINALS)


def _xlib_root() -> Any:
    from Xlib import display

    return display.Display().screen().root


def pointer() -> tuple[int, int]:
    data = _xlib_root().query_pointer()
    return data.root_x, data.root_y


def screen_size() -> tuple[int, int]:
    geometry = _xlib_root().get_geometry()
    return geometry.width, geometry.height


def screen_image() -> Image.Image:
    """The whole screen as it is drawn, without the pointer."""
    import mss

    with mss.MSS() as capture:
        shot = capture.grab(capture.monitors[0])
    return Image.frombytes("RGB", shot.size, shot.rgb)


def screenshot_png() -> bytes:
    image = screen_image()
    x, y = pointer()
    ImageDraw.Draw(image).polygon([(x + dx, y + dy) for dx, dy in CURSOR], fill="white", outline="black")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def window(action: str, name: str, strict: bool, by_class: bool) -> bool:
    """wmctrl -a/-c on the first matching window; whether one matched."""
    flag = {"activate": "-a", "close": "-c"}[action]
    done = subprocess.run(["wmctrl", *(["-F"] if strict else []), *(["-x"] if by_class else []), flag, name],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0


def close_all_windows() -> None:
    listed = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, check=False).stdout
    for line in listed.splitlines():
        subprocess.run(["wmctrl", "-ic", line.split()[0]], check=False)


def open_and_wait(path: Path, window_name: str | None = None, timeout: float = OPEN_TIMEOUT) -> None:
    """Open `path` in the program for its kind; wait for a window titled with `window_name`, or
    with the file's name or stem, and activate it."""
    subprocess.Popen([*opener_for(path), str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    names = [window_name] if window_name else [path.name, path.stem]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, check=False).stdout.splitlines():
            if any(name.lower() in line.lower() for name in names):
                subprocess.run(["wmctrl", "-i", "-a", line.split()[0]], check=False)
                return
        time.sleep(0.1)
    raise RuntimeError(f"no window for {names[0]} within {timeout:g} s")


def window_size(app_class: str) -> tuple[int, int] | None:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", app_class], capture_output=True,
                           text=True, check=False).stdout.split()
    if not found:
        return None
    shape = subprocess.run(["xdotool", "getwindowgeometry", "--shell", found[0]], capture_output=True, text=True,
                           check=False).stdout
    values = dict(line.split("=", 1) for line in shape.splitlines() if "=" in line)
    return int(values["WIDTH"]), int(values["HEIGHT"])


def verified(verification: dict[str, Any]) -> bool:
    """OSWorld's checks: `window_exists` (a window title containing it) and `command_success` (exit 0)."""
    if "window_exists" in verification:
        titles = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, check=False).stdout.lower()
        if str(verification["window_exists"]).lower() not in titles:
            return False
    if "command_success" in verification:
        command = verification["command_success"]
        done = subprocess.run(command, shell=isinstance(command, str), capture_output=True, check=False)
        if done.returncode != 0:
            return False
    return True


def to_trash(path: Path) -> None:
    """Move to the freedesktop trash of the user (~/.local/share/Trash/files)."""
    trash = Path.home() / ".local" / "share" / "Trash" / "files"
    trash.mkdir(parents=True, exist_ok=True)
    target, n = trash / path.name, 1
    while target.exists():
        target, n = trash / f"{path.stem}.{n}{path.suffix}", n + 1
    shutil.move(path, target)


def tree(path: Path, depth: int = 8) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "directory" if path.is_dir() else "file", "name": path.name}
    if path.is_dir() and depth > 0:
        node["children"] = [tree(child, depth - 1) for child in sorted(path.iterdir()) if not child.is_symlink()]
    return node
