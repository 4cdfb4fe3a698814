"""Grounding datasets in the ScreenSpot-V2 / ScreenSpot-Pro annotation layout, read from a local folder.

ScreenSpot-V2 (Hugging Face `OS-Copilot/ScreenSpot-v2`): `screenspot_desktop_v2.json`,
`screenspot_mobile_v2.json`, `screenspot_web_v2.json` beside the unzipped `screenspotv2_image/`.
Each file is a JSON list of `{"img_filename", "instruction", "bbox": [x, y, w, h],
"data_type": "text"|"icon", "data_source": "windows"|"macos"|"ios"|…}`; the platform
(desktop/mobile/web) is the file's split name.

ScreenSpot-Pro (Hugging Face `likaixin/ScreenSpot-Pro`): `annotations/<app>_<os>.json` and
`images/`; records `{"id", "img_filename", "img_size": [w, h], "bbox": [x1, y1, x2, y2],
"instruction", "instruction_cn", "application", "platform", "ui_type": "text"|"icon", "group"}`.

A single annotation file may be given instead of a folder. Images resolve against, in order:
`images/`, `screenspotv2_image/`, then the annotation file's own folder (and the dataset folder).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

BboxFormat = Literal["xywh", "xyxy"]
BBOX_FORMATS: tuple[BboxFormat, ...] = get_args(BboxFormat)
IMAGE_FOLDERS = ("images", "screenspotv2_image")
BREAKDOWN_FIELDS = ("ui_type", "platform", "application", "group", "data_source")
"""Breakdowns reported when present; V2's `data_type` is reported as `ui_type`."""
_PRO_FIELDS = frozenset({"ui_type", "img_size", "group", "application"})
_V2_FIELDS = frozenset({"data_type", "data_source"})
_V2_SPLIT = re.compile(r"screenspot_([a-z]+)(?:_v2)?$", re.IGNORECASE)


class DatasetError(ValueError):
    """The dataset cannot be read as ScreenSpot annotations; the message says what to fix."""


@dataclass(frozen=True)
class Box:
    """A target box in pixels of the original image; its edges count as inside."""

    left: float
    top: float
    right: float
    bottom: float

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom


@dataclass(frozen=True)
class Sample:
    id: str
    image: Path
    instruction: str
    box: Box
    breakdown: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    samples: list[Sample]
    bbox_format: BboxFormat
    layout: str
    """`screenspot-pro`, `screenspot-v2` or `screenspot` (fields of neither, format given)."""


def load_dataset(path: Path, bbox_format: BboxFormat | None = None) -> Dataset:
    """Every sample of the annotation file or folder at `path`, boxes converted to corners.

    `bbox_format` None picks the layout's own: xyxy when the records carry ScreenSpot-Pro's
    fields (ui_type, img_size, group, application), xywh for ScreenSpot-V2's (data_type,
    data_source); records with neither need it given.
    """
    if bbox_format is not None and bbox_format not in BBOX_FORMATS:
        raise DatasetError(f"unknown bbox format {bbox_format!r}; use xywh or xyxy")
    files, roots = _annotation_files(path)
    records = [(file, index, record) for file in files for index, record in enumerate(_records(file))]
    if not records:
        raise DatasetError(f"{path} holds no annotation records")
    keys = {key for _, _, record in records for key in record}
    layout = "screenspot-pro" if keys & _PRO_FIELDS else "screenspot-v2" if keys & _V2_FIELDS else "screenspot"
    chosen = bbox_format or {"screenspot-pro": "xyxy", "screenspot-v2": "xywh"}.get(layout)
    if chosen is None:
        raise DatasetError(
            f"{path}: the records carry neither ScreenSpot-V2 nor ScreenSpot-Pro fields, so the box "
            "format is unknown; pass --bbox-format xywh ([x, y, width, height]) or xyxy ([x1, y1, x2, y2])"
        )
    samples = [_sample(file, index, record, chosen, roots) for file, index, record in records]
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise DatasetError(f"two records have the id {twice!r}; ids must be unique within a file")
    missing = [s.image for s in samples if not s.image.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:3])
        raise DatasetError(
            f"{len(missing)} image(s) not found (e.g. {shown}); put them under "
            f"{' or '.join(str(r) for r in roots[:2])}, as in the dataset's release"
        )
    return Dataset(samples, chosen, layout)


def _annotation_files(path: Path) -> tuple[list[Path], list[Path]]:
    """The annotation files at `path` and the folders their image names resolve against."""
    if path.is_file():
        base = path.parent
        bases = [base, base.parent] if base.name == "annotations" else [base]
        return [path], [b / name for b in bases for name in IMAGE_FOLDERS] + bases
    if not path.is_dir():
        raise DatasetError(f"{path} does not exist; give a ScreenSpot folder or annotation JSON file")
    folder = path / "annotations" if (path / "annotations").is_dir() else path
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DatasetError(f"no *.json annotation files in {folder}")
    return files, [path / name for name in IMAGE_FOLDERS] + [path]


def _records(file: Path) -> list[dict]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{file}: not readable as JSON ({err})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DatasetError(f"{file}: expected a JSON list of records (objects)")
    return data


def _sample(file: Path, index: int, record: dict, bbox_format: BboxFormat, roots: list[Path]) -> Sample:
    where = f"{file.name} record {index}"
    name, instruction, bbox = record.get("img_filename"), record.get("instruction"), record.get("bbox")
    if not isinstance(name, str) or not name:
        raise DatasetError(f"{where}: img_filename is missing")
    if not isinstance(instruction, str) or not instruction.strip():
        raise DatasetError(f"{where}: instruction is missing or empty")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
        raise DatasetError(f"{where}: bbox must be a list of four numbers, got {bbox!r}")
    return Sample(
        id=f"{file.stem}/{record.get('id', index)}",
        image=next((root / name for root in roots if (root / name).is_file()), roots[0] / name),
        instruction=instruction,
        box=_box(bbox, bbox_format, where),
        breakdown=_breakdown(file, record),
    )


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _box(bbox: list[float], bbox_format: BboxFormat, where: str) -> Box:
    a, b, c, d = bbox
    if bbox_format == "xywh":
        if c < 0 or d < 0:
            raise DatasetError(f"{where}: bbox {bbox} has a negative width or height for --bbox-format xywh")
        return Box(a, b, a + c, b + d)
    if c < a or d < b:
        raise DatasetError(
            f"{where}: bbox {bbox} has x2 < x1 or y2 < y1, so it is not [x1, y1, x2, y2]; "
            "if it is [x, y, width, height], pass --bbox-format xywh"
        )
    return Box(a, b, c, d)


def _breakdown(file: Path, record: dict) -> dict[str, str]:
    values = {key: record.get(key) for key in BREAKDOWN_FIELDS}
    values["ui_type"] = values["ui_type"] if values["ui_type"] is not None else record.get("data_type")
    split = _V2_SPLIT.fullmatch(file.stem)
    if values["platform"] is None and split:
        values["platform"] = split.group(1).lower()
    return {key: str(value) for key, value in values.items() if value is not None}
