"""Helpers of the grounding tests: the CLI app, points inside/outside a box, dataset writers."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import typer

from agent.cli.ground import ground_command, grounding_eval
from environments.encode import model_input_size
from environments.virtual_desktop import VirtualDesktop
from tests.agent.grounding.replay_model import Scripted, agent_reply, click

Box = tuple[int, int, int, int]
"""x, y, width, height in pixels."""


@dataclass(frozen=True)
class Scene:
    """Real screenshots and the boxes of the things on them."""

    images: dict[str, Path]
    """Screenshot files by name."""
    boxes: dict[str, Box]
    """Target boxes by name, in pixels of the screenshot they appear in."""
    desktop: VirtualDesktop | None = None


SERVED = "kimi-grounding-replay"
"""Model name the tests ask for; unknown names use Thinking-2506's image limit."""
INSTRUCT = "moonshotai/Kimi-VL-A3B-Instruct"
"""Smaller image limit: WEB_VIEWPORT screenshots are scaled down before they are sent."""
WEB_VIEWPORT = (1600, 1000)


def app() -> typer.Typer:
    """The two commands as the lead registers them: `ground` and `eval --grounding` (here `grounding`)."""
    cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    cli.command("ground")(ground_command)
    cli.command("grounding")(grounding_eval)
    return cli


def centre(box: Box, size: tuple[int, int]) -> tuple[float, float]:
    """The box's centre as fractions of the image."""
    x, y, w, h = box
    return (x + w / 2) / size[0], (y + h / 2) / size[1]


def outside(box: Box, size: tuple[int, int]) -> tuple[float, float]:
    """A point well outside the box (the opposite corner region of the image)."""
    x, y, w, h = box
    rx = 0.98 if x + w / 2 < size[0] / 2 else 0.02
    ry = 0.98 if y + h / 2 < size[1] / 2 else 0.02
    px, py = rx * size[0], ry * size[1]
    assert not (x <= px <= x + w and y <= py <= y + h)
    return rx, ry


def write_v2(folder: Path, image: Path, records: list[dict]) -> Path:
    """A ScreenSpot-V2 folder: screenspot_desktop_v2.json and screenspotv2_image/."""
    (folder / "screenspotv2_image").mkdir(parents=True)
    shutil.copy(image, folder / "screenspotv2_image" / image.name)
    for record in records:
        record["img_filename"] = image.name
    (folder / "screenspot_desktop_v2.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    return folder


def write_pro(folder: Path, images: dict[str, Path], records: dict[str, list[dict]]) -> Path:
    """A ScreenSpot-Pro folder: annotations/<app>_linux.json and images/<app>_linux/<file>."""
    for name, samples in records.items():
        subfolder = folder / "images" / f"{name}_linux"
        subfolder.mkdir(parents=True)
        shutil.copy(images[name], subfolder / images[name].name)
        for index, record in enumerate(samples):
            record.update(id=f"{name}_linux_{index}", img_filename=f"{name}_linux/{images[name].name}")
        (folder / "annotations").mkdir(exist_ok=True)
        (folder / "annotations" / f"{name}_linux.json").write_text(json.dumps(samples, indent=1), encoding="utf-8")
    return folder


DESKTOP_SIZE = (1280, 800)
DESKTOP_MODEL_SIZE = model_input_size(*DESKTOP_SIZE, 16384)
"""What the agent's resize sends for a 1280×800 screenshot (SERVED uses Thinking-2506's limit)."""
# instruction, window, data_type, data_source, expected status
DESKTOP_SAMPLES = [
    ("the Alpha terminal window", "Alpha terminal", "text", "xterm", "hit"),
    ("the Beta terminal window", "Beta terminal", "text", "xterm", "miss"),
    ("the Mousepad editor window", "Mousepad", "text", "mousepad", "hit"),
    ("the tiny blue terminal", "Tiny terminal", "icon", "xterm", "hit"),
    ("the yellow terminal", "Yellow terminal", "icon", "xterm", "unparseable"),
    ("the magenta terminal", "Magenta terminal", "text", "xterm", "unparseable"),
]


def desktop_script(scene: Scene) -> dict[str, Scripted]:
    """One reply per instruction: agent format (thinking and instruct), bare point, image pixels, prose, code."""
    box = scene.boxes
    tx, ty = centre(box["Tiny terminal"], DESKTOP_SIZE)
    # pixels of the image the model saw (1288×812), not of the screenshot
    px, py = round(tx * DESKTOP_MODEL_SIZE[0]), round(ty * DESKTOP_MODEL_SIZE[1])
    return {
        "the Alpha terminal window": Scripted(
            agent_reply("Click the Alpha terminal.", click(*centre(box["Alpha terminal"], DESKTOP_SIZE)))),
        "the Beta terminal window": Scripted(
            agent_reply("Click it.", click(*outside(box["Beta terminal"], DESKTOP_SIZE)), thinking=False)),
        "the Mousepad editor window": Scripted(
            "◁think▷The editor is in the middle.◁/think▷({:.4f}, {:.4f})".format(*centre(box["Mousepad"], DESKTOP_SIZE))),
        "the tiny blue terminal": Scripted(agent_reply("Click the small terminal.", f"pyautogui.click(x={px}, y={py})")),
        "the yellow terminal": Scripted("I could not find a yellow terminal on this screen."),
        "the magenta terminal": Scripted(agent_reply("Open a shell.", "import os\nos.system('touch PWNED')")),
    }
