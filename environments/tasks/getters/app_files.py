"""Getters that read applications' files on the machine: GIMP's and VLC's configuration, VS Code's
command output, media inside a presentation, a row of a spreadsheet, VLC's status page."""

from __future__ import annotations

import posixpath
import time
import zipfile
from pathlib import Path

from lxml import etree

from environments.tasks.context import TaskContext
from environments.tasks.getters.desktop import home_of, in_cache
from environments.tasks.getters.params import (
    DestParams, NamedConfigParams, SlideMediaParams, VmFileContentParams, VscodeConfigParams,
)
from environments.tasks.registry import getter

VLC_STATUS_PORT = 8080
VLC_PASSWORD = "password"
"""VLC's web interface as OSWorld's VM configures it (vlcrc: http-password=password, port 8080)."""
RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
BACKGROUND = "{http://schemas.openxmlformats.org/presentationml/2006/main}bgPr"
BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"


def copy_off(context: TaskContext, path: str, dest: str) -> str | None:
    """Copy a file off the machine into the cache; its local path, or None when it is missing."""
    data = context.machine.read_file(path)
    if data is None:
        return None
    target = in_cache(context, dest)
    target.write_bytes(data)
    return str(target)


@getter("gimp_config_file", NamedConfigParams)
def get_gimp_config_file(context: TaskContext, params: NamedConfigParams) -> str | None:
    """A file of GIMP 2.10's configuration folder (gimprc, sessionrc, …)."""
    return copy_off(context, f"{home_of(context)}/.config/GIMP/2.10/{params.file_name}", params.dest)


@getter("vlc_config", DestParams)
def get_vlc_config(context: TaskContext, params: DestParams) -> str:
    """VLC's vlcrc; like OSWorld, a missing file is an error rather than None."""
    path = copy_off(context, f"{home_of(context)}/.config/vlc/vlcrc", params.dest)
    if path is None:
        raise FileNotFoundError("~/.config/vlc/vlcrc does not exist on the machine")
    return path


@getter("vlc_playing_info", DestParams)
def get_vlc_playing_info(context: TaskContext, params: DestParams) -> str | None:
    """VLC's status.xml from its web interface, fetched on the machine; None when VLC does not answer."""
    script = (
        "import base64, sys, urllib.request\n"
        f"request = urllib.request.Request('http://localhost:{VLC_STATUS_PORT}/requests/status.xml')\n"
        f"request.add_header('Authorization', 'Basic ' + base64.b64encode(b':{VLC_PASSWORD}').decode())\n"
        "sys.stdout.write(urllib.request.urlopen(request, timeout=10).read().decode('utf-8'))\n"
    )
    result = context.machine.execute(["python3", "-c", script])
    if result.returncode != 0 or not result.output:
        return None
    target = in_cache(context, params.dest)
    target.write_text(result.output, encoding="utf-8")
    return str(target)


def _run_palette_command(context: TaskContext, name: str) -> None:
    """Type a VS Code palette command on the machine: with xdotool where it is installed, else with
    pyautogui (what OSWorld's VM image has, and what OSWorld replays the keys with)."""
    steps = (["key", "ctrl+shift+p"], ["type", "--delay", "50", name], ["key", "Return"])
    if context.machine.execute(["xdotool", *steps[0]]).returncode == 0:
        for step in steps[1:]:
            context.machine.execute(["xdotool", *step])
        return
    script = ("import pyautogui, sys, time\npyautogui.hotkey('ctrl', 'shift', 'p')\ntime.sleep(0.5)\n"
              "pyautogui.typewrite(sys.argv[1])\npyautogui.press('enter')\n")
    context.machine.execute(["python3", "-c", script, name])


@getter("vscode_config", VscodeConfigParams)
def get_vscode_config(context: TaskContext, params: VscodeConfigParams) -> str:
    """Run a command from VS Code's palette (ctrl+shift+p, its name, enter), then copy the file it
    writes; when that file is missing, OSWorld's fallback: the workspace.json files VS Code keeps."""
    context.machine.window_command("activate", "Visual Studio Code", False, False)
    time.sleep(0.5)
    _run_palette_command(context, params.vscode_extension_command)
    time.sleep(1.0)
    found = copy_off(context, params.path, params.dest)
    if found is not None:
        return found
    storage = f"{home_of(context)}/.config/Code/User/workspaceStorage"
    command = ["find", storage, "-name", "workspace.json", "-exec", "cat", "{}", ";"]
    dump = context.machine.execute(command).output
    if not dump:
        return ""
    target = in_cache(context, params.dest)
    target.write_text(dump, encoding="utf-8")
    return str(target)


@getter("content_from_vm_file", VmFileContentParams)
def get_content_from_vm_file(context: TaskContext, params: VmFileContentParams) -> list[str] | None:
    """The last row of a spreadsheet as strings (pandas' reading, as OSWorld's)."""
    if (params.file_type, params.file_content) != ("xlsx", "last_row"):
        raise ValueError(f"content_from_vm_file: {params.file_type}/{params.file_content} is not supported")
    import pandas as pd

    local = copy_off(context, params.path, posixpath.basename(params.path))
    if local is None:
        return None
    return pd.read_excel(local).iloc[-1].astype(str).tolist()


def _relationships(archive: zipfile.ZipFile, slide: int) -> list[etree._Element]:
    name = f"ppt/slides/_rels/slide{slide + 1}.xml.rels"
    if name not in archive.namelist():
        return []
    return list(etree.fromstring(archive.read(name)).iter(RELATIONSHIPS))


def _medium(context: TaskContext, params: SlideMediaParams, archive: zipfile.ZipFile, local: str,
            target: str) -> str | None:
    """A relationship target: extracted from the package when inside it, else copied off the machine."""
    if target.startswith(".."):
        inner = posixpath.normpath(posixpath.join("ppt/slides", target))
        folder = Path(local).parent
        archive.extract(inner, folder)
        return str(folder / inner)
    if not target.startswith("file://"):
        raise ValueError(f"unexpected media link {target!r}")
    return copy_off(context, target[len("file://"):], params.dest)


@getter("audio_in_slide", SlideMediaParams)
def get_audio_in_slide(context: TaskContext, params: SlideMediaParams) -> str | None:
    """The first audio file a slide links to (inside the package or beside it)."""
    local = copy_off(context, params.ppt_file_path, posixpath.basename(params.ppt_file_path))
    if local is None:
        raise FileNotFoundError(f"{params.ppt_file_path} does not exist on the machine")
    with zipfile.ZipFile(local) as archive:
        for relation in _relationships(archive, params.slide_index):
            if "audio" in relation.get("Type", ""):
                return _medium(context, params, archive, local, relation.get("Target", ""))
    return None


@getter("background_image_in_slide", SlideMediaParams)
def get_background_image_in_slide(context: TaskContext, params: SlideMediaParams) -> str | None:
    """The picture a slide's background is filled with, or None when it has none."""
    local = copy_off(context, params.ppt_file_path, posixpath.basename(params.ppt_file_path))
    if local is None:
        raise FileNotFoundError(f"{params.ppt_file_path} does not exist on the machine")
    with zipfile.ZipFile(local) as archive:
        name = f"ppt/slides/slide{params.slide_index + 1}.xml"
        if name not in archive.namelist():
            return None
        image_id = next((blip.get(EMBED) for bg in etree.fromstring(archive.read(name)).iter(BACKGROUND)
                         for blip in bg.iter(BLIP) if blip.get(EMBED)), None)
        if image_id is None:
            return None
        for relation in _relationships(archive, params.slide_index):
            if "image" in relation.get("Type", "") and relation.get("Id") == image_id:
                return _medium(context, params, archive, local, relation.get("Target", ""))
    return None
