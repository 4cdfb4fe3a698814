"""Metrics of OSWorld's GIMP tasks: image edits judged by structure (SSIM, scikit-image) and by a
measured property (brightness, saturation, contrast, size, colour, position), and GIMP's config."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageStat, UnidentifiedImageError

from environments.tasks.metrics.app_options import SsimThresholdOptions
from environments.tasks.registry import metric

SSIM_WINDOW = 7
SAME_STRUCTURE = 0.9
"""The SSIM from which OSWorld counts two images as the same picture."""
NORMAL_BRIGHTNESS = 128
DARK_BELOW = 128
NEAR_LEFT = 0.05
CENTRE_TOLERANCE = 0.05


def structural_similarity(first: Image.Image, second: Image.Image) -> float | None:
    """SSIM of two same-size images in RGB (7-pixel window, smaller for tiny images); None when
    they cannot be compared."""
    from skimage.metrics import structural_similarity as ssim

    a, b = np.array(first.convert("RGB")), np.array(second.convert("RGB"))
    if a.shape != b.shape:
        return None
    smallest = min(a.shape[0], a.shape[1])
    window = SSIM_WINDOW if smallest >= SSIM_WINDOW else (smallest if smallest % 2 else smallest - 1)
    if window < 1:
        return None
    try:
        return float(ssim(a, b, win_size=window, channel_axis=2))
    except ValueError:
        return None


def same_structure(first: Image.Image, second: Image.Image, threshold: float = SAME_STRUCTURE) -> bool:
    """OSWorld's structure_check_by_ssim: both at least 7×7 pixels, the same size, SSIM ≥ threshold."""
    if min(first.width, first.height, second.width, second.height) < SSIM_WINDOW:
        return False
    if first.size != second.size:
        return False
    similarity = structural_similarity(first, second)
    return similarity is not None and similarity >= threshold


def _same_by_mse(first: Image.Image, second: Image.Image, threshold: float) -> bool:
    if first.size != second.size:
        first = first.resize(second.size, Image.Resampling.LANCZOS)
    a = np.array(first.convert("RGB"), dtype=np.float32) / 255
    b = np.array(second.convert("RGB"), dtype=np.float32) / 255
    return float(np.mean((a - b) ** 2)) < threshold


def _brightness(image: Image.Image) -> float:
    return ImageStat.Stat(image.convert("L")).mean[0]


def _normalized(image: Image.Image, target: float) -> Image.Image:
    factor = target / _brightness(image)
    return image.point(lambda x: min(255, max(0, int(x * factor))))


@metric("check_brightness_decrease_and_structure_sim")
def check_brightness_decrease_and_structure_sim(result: str | None, original: str | None) -> float:
    """Darker than the original, and the same picture once both are brought to one brightness (MSE < 0.03)."""
    if result is None or original is None:
        return 0.0
    mine, theirs = Image.open(result), Image.open(original)
    darker = _brightness(theirs) > _brightness(mine)
    same = _same_by_mse(_normalized(mine, NORMAL_BRIGHTNESS), _normalized(theirs, NORMAL_BRIGHTNESS), 0.03)
    return float(darker and same)


@metric("check_saturation_increase_and_structure_sim")
def check_saturation_increase_and_structure_sim(result: str | None, original: str | None) -> float:
    """More saturated than the original, with the same hue and value structure."""
    if result is None or original is None:
        return 0.0
    mine, theirs = Image.open(result).convert("HSV"), Image.open(original).convert("HSV")
    more = float(np.mean(np.array(theirs.split()[1]))) < float(np.mean(np.array(mine.split()[1])))
    (h1, _, v1), (h2, _, v2) = mine.split(), theirs.split()
    return float(more and same_structure(h1, h2) and same_structure(v1, v2))


@metric("check_contrast_increase_and_structure_sim")
def check_contrast_increase_and_structure_sim(result: str | None, original: str | None) -> float:
    """Higher contrast (pixel standard deviation) than the original, SSIM ≥ 0.65."""
    if result is None or original is None:
        return 0.0
    mine, theirs = Image.open(result), Image.open(original)
    def contrast(image: Image.Image) -> float:
        return float(np.std(np.asarray(image, dtype=np.float32)))

    higher = contrast(theirs) < contrast(mine)
    return float(higher and same_structure(mine, theirs, 0.65))


@metric("check_file_exists_and_structure_sim")
def check_file_exists_and_structure_sim(result: str | None, expected: str | None) -> float:
    if not isinstance(result, str) or expected is None or not os.path.isfile(result):
        return 0.0
    return float(same_structure(Image.open(result), Image.open(expected)))


@metric("check_structure_sim")
def check_structure_sim(result: str | None, expected: str | None) -> float:
    """The same size and the same picture (SSIM ≥ 0.9); unreadable images score 0."""
    if result is None or expected is None:
        return 0.0
    try:
        mine, theirs = Image.open(result), Image.open(expected)
        if mine.size != theirs.size:
            return 0.0
        return float(same_structure(mine, theirs))
    except (OSError, UnidentifiedImageError, ValueError, TypeError, AttributeError):
        return 0.0  # OSWorld scores any failure here 0


def _content(image: Image.Image) -> Image.Image | None:
    """The image cropped to its non-transparent pixels (None when all are transparent)."""
    image = image.convert("RGBA")
    box = image.split()[-1].getbbox()
    return image.crop(box) if box else None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or "transparency" in image.info


@metric("check_structure_sim_resized")
def check_structure_sim_resized(result: str | None, expected: str | None) -> float:
    """The result, cropped to its opaque content and resized to the expected size, is the same picture."""
    if result is None or expected is None:
        return 0.0
    mine, theirs = Image.open(result), Image.open(expected)
    if _has_alpha(mine):
        content = _content(mine)
        if content is None:
            return 0.0
        mine = content.convert("RGB")
    return float(same_structure(mine.resize(theirs.size), theirs.convert("RGB")))


@metric("check_structure_sim_with_threshold", SsimThresholdOptions)
def check_structure_sim_with_threshold(result: str | None, expected: str | None, *,
                                       options: SsimThresholdOptions) -> float:
    """SSIM ≥ `ssim_threshold` after resizing the result to the expected size (Lanczos)."""
    if result is None or expected is None:
        return 0.0
    try:
        mine, theirs = Image.open(result), Image.open(expected)
        if mine.size != theirs.size:
            mine = mine.resize(theirs.size, Image.Resampling.LANCZOS)
        similarity = structural_similarity(mine, theirs)
    except (OSError, UnidentifiedImageError, ValueError):
        return 0.0
    return float(similarity is not None and similarity >= options.ssim_threshold)


def _opened(path: str, attempts: int = 3, pause: float = 0.5) -> Image.Image | None:
    """The image, loaded; retried briefly while the file is empty or truncated (still being written)."""
    if not isinstance(path, str) or not os.path.exists(path):
        return None
    for attempt in range(attempts):
        try:
            if os.path.getsize(path) == 0:
                raise OSError("cannot identify an empty file")
            image = Image.open(path)
            image.load()
            return image
        except (OSError, UnidentifiedImageError) as err:
            retry = "truncated" in str(err).lower() or "cannot identify" in str(err).lower()
            if not retry or attempt == attempts - 1:
                return None
            time.sleep(pause)
    return None


@metric("check_palette_and_structure_sim")
def check_palette_and_structure_sim(result: str | None, original: str | None) -> float:
    """A palette ("P" mode) image showing the same picture as the original."""
    if result is None or original is None:
        return 0.0
    mine = _opened(result)
    theirs = _opened(original) if mine is not None else None
    if mine is None or theirs is None:
        return 0.0
    return float(mine.mode == "P" and same_structure(mine.convert("RGB"), theirs))


@metric("check_image_mirror")
def check_image_mirror(result: str | None, original: str | None) -> float:
    """The original flipped left-right is the result (SSIM ≥ 0.99)."""
    if result is None or original is None:
        return 0.0
    flipped = Image.open(result).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return float(same_structure(flipped, Image.open(original), 0.99))


@metric("check_green_background")
def check_green_background(result: str | None, mask: str | None) -> float:
    """Where the reference is not black, the result is green (G above R and B).

    OSWorld indexes the pixel arrays as [x, y] over width × height, so it only works on square
    images (and raises on others); that indexing is kept."""
    if result is None or mask is None:
        return 0.0
    source, target_image = Image.open(result), Image.open(mask)
    pixels, reference = np.array(source), np.array(target_image)
    for x in range(target_image.width):
        for y in range(target_image.height):
            if tuple(reference[x, y][:3]) != (0, 0, 0):
                r, g, b = (int(v) for v in pixels[x, y][:3])
                if not (g > r and g > b):
                    return 0.0
    return 1.0


@metric("check_triangle_position")
def check_triangle_position(result: str | None) -> float:
    """The pixels of the colour at index 1 by ascending count have their centroid within 5 % of the centre.

    OSWorld means the triangle's colour, but with its ascending sort that index is the second
    *rarest* colour, which for a two-colour image is the background; its choice is kept."""
    if result is None:
        return 0.0
    pixels = np.array(Image.open(result))
    colours, counts = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0, return_counts=True)
    triangle = colours[np.argsort(counts)][1]
    centroid = np.argwhere(np.all(pixels == triangle, axis=2)).mean(axis=0)
    shape = np.array(pixels.shape[:2])
    return float(np.all(np.abs(centroid - shape / 2) < CENTRE_TOLERANCE * shape))


@metric("check_textbox_on_leftside")
def check_textbox_on_leftside(result: str | None) -> float:
    """The leftmost dark pixel of any row lies in the left 5 % of the image."""
    if result is None:
        return 0.0
    grey = np.array(Image.open(result).convert("L"))
    dark_columns = np.nonzero((grey < DARK_BELOW).any(axis=0))[0]
    leftmost = int(dark_columns[0]) if dark_columns.size else grey.shape[1]
    return float(leftmost < grey.shape[1] * NEAR_LEFT)


@metric("check_image_size")
def check_image_size(result: str | None, rule: dict[str, Any]) -> float:
    """Width and height (those given) equal the rule's; with `ignore_transparent`, of the opaque content.

    As in OSWorld, an image with a `transparency` entry is always measured by its content."""
    if result is None:
        return 0.0
    image = Image.open(result)
    by_content = rule.get("ignore_transparent", False) and image.mode in ("RGBA", "LA")
    if by_content or "transparency" in image.info:
        box = image.convert("RGBA").split()[-1].getbbox()
        width, height = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    else:
        width, height = image.size
    return float((rule.get("height") is None or height == rule["height"])
                 and (rule.get("width") is None or width == rule["width"]))


@metric("check_image_file_size")
def check_image_file_size(result: str | None, rule: dict[str, Any]) -> float:
    """The file is smaller than `max_size` bytes."""
    if result is None:
        return 0.0
    return float(Path(result).stat().st_size < rule["max_size"])


@metric("compare_image_list")
def compare_image_list(result: str | list[str | None] | None, expected: str | list[str] | None) -> float:
    """Every result image is pixel-identical to its reference (resized and converted to it first)."""
    pairs = zip(result, expected) if isinstance(result, list) else [(result, expected)]
    for mine, gold in pairs:
        if not mine or not gold:
            return 0.0
        first, second = Image.open(mine), Image.open(gold)
        if first.size != second.size:
            first = first.resize(second.size, Image.Resampling.LANCZOS)
        if first.mode != second.mode:
            first = first.convert(second.mode)
        if ImageChops.difference(first, second).getbbox():
            return 0.0
    return 1.0


@metric("check_config_status")
def check_config_status(result: str | None, rule: dict[str, Any]) -> float:
    """A line `(key … value)` of GIMP's config file has the rule's key (one word, or two) and value."""
    if result is None:
        return 0.0
    key = rule["key"]
    with open(result) as source:
        for line in source:
            if line.startswith("#") or line == "\n":
                continue
            items = line.strip().lstrip("(").rstrip(")\n").split()
            if isinstance(key, str) and items[0] == key and items[-1] == rule["value"]:
                return 1.0
            if isinstance(key, list) and len(key) == 2 and items[:2] == key and items[-1] == rule["value"]:
                return 1.0
    return 0.0
