"""Getters that read the desktop itself: home and Desktop folders, screen and window sizes,
the wallpaper, a directory tree, shortcuts, the default video player.

OSWorld's VM server answers most of these on routes of its own; here they are read with commands
run on the machine, so they work the same on the local desktop and on a VM.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from environments.tasks.context import TaskContext
from environments.tasks.getters.params import DestParams, DirectoryParams, TimeDiffParams, WindowSizeParams
from environments.tasks.machine import VM_HOME
from environments.tasks.parameters import NoParams
from environments.tasks.registry import getter

VIDEO_TYPES = (
    "3gp", "3gpp", "3gpp2", "avi", "divx", "dv", "fli", "flv", "mp2t", "mp4", "mp4v-es", "mpeg",
    "mpeg-system", "msvideo", "ogg", "quicktime", "vnd.divx", "vnd.mpegurl", "vnd.rn-realvideo", "webm",
    "x-anim", "x-avi", "x-flc", "x-fli", "x-flv", "x-m4v", "x-matroska", "x-mpeg", "x-mpeg-system", "x-mpeg2",
    "x-ms-asf", "x-ms-asf-plugin", "x-ms-asx", "x-ms-wm", "x-ms-wmv", "x-ms-wmx", "x-ms-wvx", "x-msvideo",
    "x-nsv", "x-ogm", "x-ogm+ogg", "x-theora", "x-theora+ogg",
)
"""The video MIME subtypes OSWorld asks xdg-mime about."""


def home_of(context: TaskContext) -> str:
    """The home folder of the machine's user (the task's home folder on the local machine)."""
    home = context.machine.execute(["printenv", "HOME"]).output.strip()
    return home or VM_HOME


def in_cache(context: TaskContext, dest: str) -> Path:
    """`dest` inside this run's cache folder; a name that leaves it is refused."""
    target = (context.cache_dir / dest).resolve()
    if not target.is_relative_to(context.cache_dir.resolve()):
        raise ValueError(f"dest {dest!r} leaves the cache folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def command_output(context: TaskContext, command: list[str]) -> str | None:
    """A command's standard output, or None when it could not run, failed or timed out."""
    result = context.machine.execute(command)
    return result.output if result.returncode == 0 else None


@getter("vm_screen_size")
def get_vm_screen_size(context: TaskContext, _params: NoParams) -> dict[str, int]:
    width, height = context.machine.screen_size
    return {"width": width, "height": height}


@getter("vm_window_size", WindowSizeParams)
def get_vm_window_size(context: TaskContext, params: WindowSizeParams) -> dict[str, int] | None:
    """Width and height of the first window whose WM_CLASS (instance or class) is `app_class_name`,
    case-insensitively; None when there is none."""
    listing = command_output(context, ["wmctrl", "-lGx"]) or ""
    wanted = params.app_class_name.lower()
    for line in listing.splitlines():
        fields = line.split(None, 7)
        if len(fields) < 7:
            continue
        classes = [part.lower() for part in fields[6].split(".")]
        if wanted in classes:
            return {"width": int(fields[4]), "height": int(fields[5])}
    return None


@getter("vm_wallpaper", DestParams)
def get_vm_wallpaper(context: TaskContext, params: DestParams) -> str:
    """The desktop background image, copied into the cache (an empty file when there is none)."""
    target = in_cache(context, params.dest)
    uri = command_output(context, ["gsettings", "get", "org.gnome.desktop.background", "picture-uri"])
    path = (uri or "").strip().replace("file://", "").replace("'", "")
    data = context.machine.read_file(path) if path else None
    target.write_bytes(data or b"")
    return str(target)


def _tree(root: str, entries: list[tuple[str, str]]) -> dict[str, Any]:
    """OSWorld's {type, name, children} tree from (kind, relative path) pairs."""
    top: dict[str, Any] = {"type": "directory", "name": Path(root.rstrip("/")).name, "children": []}
    folders = {"": top}
    for kind, relative in sorted(entries, key=lambda item: item[1].count("/")):
        parent = folders.get(relative.rsplit("/", 1)[0] if "/" in relative else "")
        if parent is None:
            continue
        node: dict[str, Any] = {"type": "directory" if kind == "d" else "file", "name": Path(relative).name}
        if kind == "d":
            node["children"] = []
            folders[relative] = node
        parent["children"].append(node)
    return top


@getter("list_directory", DirectoryParams)
def get_list_directory(context: TaskContext, params: DirectoryParams) -> dict[str, Any] | None:
    """The folder's tree as OSWorld's /list_directory gives it; None when it is not a folder."""
    path = context.machine.localize(params.path)
    listing = command_output(context, ["find", path, "-mindepth", "1", "-printf", "%y %P\\n"])
    if listing is None:
        return None
    entries = [(line[0], line[2:]) for line in listing.splitlines() if len(line) > 2]
    return _tree(params.path, entries)


@getter("shortcuts_on_desktop")
def get_shortcuts_on_desktop(context: TaskContext, _params: NoParams) -> dict[str, str]:
    """Name → text of every `.desktop` launcher on the Desktop."""
    desktop = f"{home_of(context)}/Desktop"
    command = ["find", desktop, "-maxdepth", "1", "-name", "*.desktop", "-printf", "%f\\n"]
    listing = command_output(context, command)
    found: dict[str, str] = {}
    for name in (listing or "").splitlines():
        data = context.machine.read_file(f"{desktop}/{name}")
        if data is not None:
            found[name] = data.decode("utf-8")
    return found


@getter("default_video_player")
def get_default_video_player(context: TaskContext, _params: NoParams) -> str:
    """The desktop file most video types open with (xdg-mime), or "unknown"."""
    apps = []
    for subtype in VIDEO_TYPES:
        app = context.machine.execute(["xdg-mime", "query", "default", f"video/{subtype}"]).output
        if app:
            apps.append(app)
    return Counter(apps).most_common(1)[0][0] if apps else "unknown"


@getter("time_diff_range", TimeDiffParams)
def get_time_diff_range(_context: TaskContext, params: TimeDiffParams) -> Any:
    """The allowed time difference written in the task (None when absent)."""
    return params.diff_range_in_minutes
