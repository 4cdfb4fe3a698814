"""Which Debian program runs what an OSWorld task names: Chromium for Google Chrome, the stand-in of
`environments.terminals` for GNOME Terminal, and the opener for a file of each kind. Shared by the
task machine on this computer and by our VM server inside a Debian guest, so it imports nothing
beyond the standard library and those two small modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from environments.terminals import TerminalWindow, Terminals

CHROME_NAMES = ("google-chrome", "google-chrome-stable", "chromium", "chromium-browser")
TERMINAL_NAMES = ("gnome-terminal",)


@dataclass(frozen=True)
class Program:
    """A command as it runs here: its argv, the terminal window it opens, the DevTools port it asks for."""

    argv: list[str]
    terminal: TerminalWindow | None = None
    devtools_port: int | None = None


def debian_program(argv: list[str], home: Path, terminals: Terminals) -> Program:
    """`argv` with Ubuntu's program names mapped to Debian's. Chromium keeps its profile under
    `home` and gets the flags it needs here; a terminal gets its own tmux session on `terminals`."""
    name = Path(argv[0]).name
    if name in CHROME_NAMES:
        from environments.chromium import CHROMIUM_ARGS, chromium_path

        ports = [a.split("=", 1)[1] for a in argv[1:] if a.startswith("--remote-debugging-port=")]
        port = int(ports[-1]) if ports and ports[-1].isdigit() else None  # the last one, as Chromium reads it
        profile = f"--user-data-dir={home / '.config' / 'chromium'}"
        extra = [a for a in CHROMIUM_ARGS if a not in argv] + ["--password-store=basic", profile]
        return Program([chromium_path(), *extra, *argv[1:]], devtools_port=port)
    if name in TERMINAL_NAMES:
        window = terminals.window(argv[1:])
        return Program(window.argv, terminal=window)
    return Program(argv)


def opener_for(path: Path) -> list[str]:
    """The program that opens `path`, by its suffix (OSWorld's VM opens them with its desktop's defaults)."""
    suffix = path.suffix.lower()
    office = {".csv": "--calc", ".ods": "--calc", ".xls": "--calc", ".xlsx": "--calc", ".doc": "--writer",
              ".docx": "--writer", ".odt": "--writer", ".rtf": "--writer", ".odp": "--impress",
              ".ppt": "--impress", ".pptx": "--impress"}
    if suffix in office:
        return ["libreoffice", "--norestore", "--nolockcheck", office[suffix]]
    if suffix in (".html", ".htm", ".pdf", ".png", ".jpg", ".svg"):
        return ["chromium"]
    if suffix in ("", ".txt", ".md", ".py", ".json", ".sh", ".log", ".ini", ".cfg", ".yaml", ".yml", ".toml"):
        return ["mousepad"]
    return ["xdg-open"]
