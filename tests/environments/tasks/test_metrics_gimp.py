"""GIMP task metrics (metrics/gimp.py) on generated images and config files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from environments.tasks.metrics.gimp import (
    check_brightness_decrease_and_structure_sim, check_config_status,
    check_contrast_increase_and_structure_sim, check_file_exists_and_structure_sim, check_green_background,
    check_image_file_size, check_image_mirror, check_image_size, check_palette_and_structure_sim,
    check_saturation_increase_and_structure_sim, check_structure_sim, check_structure_sim_resized,
    check_structure_sim_with_threshold, check_textbox_on_leftside, check_triangle_position,
    compare_image_list,
)


def picture(size: tuple[int, int] = (64, 48), seed: int = 1) -> Image.Image:
    """A smooth, colourful test image (gradients plus a block), so SSIM and colour edits behave."""
    width, height = size
    x, y = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    rgb = np.stack([x * 200 + 30, y * 180 + 40, (1 - x) * 150 + 50], axis=2)
    rgb[height // 4: height // 2, width // 4: width // 2] = [200, 60, 60 + seed]
    return Image.fromarray(rgb.astype(np.uint8))


def save(image: Image.Image, path: Path) -> str:
    image.save(path)
    return str(path)


def test_structure_similarity_family(tmp_path: Path) -> None:
    original = save(picture(), tmp_path / "o.png")
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    other = save(Image.fromarray(noise), tmp_path / "n.png")
    assert check_structure_sim(original, original) == 1.0
    assert check_structure_sim(other, original) == 0.0
    assert check_structure_sim(save(picture((32, 24)), tmp_path / "s.png"), original) == 0.0
    assert check_structure_sim(None, original) == 0.0
    assert check_file_exists_and_structure_sim(original, original) == 1.0
    assert check_file_exists_and_structure_sim(str(tmp_path / "missing.png"), original) == 0.0
    bigger = save(picture((128, 96)), tmp_path / "b.png")
    assert check_structure_sim_with_threshold(bigger, original, ssim_threshold=0.85) == 1.0
    assert check_structure_sim_with_threshold(other, original, ssim_threshold=0.85) == 0.0
    assert check_structure_sim_resized(bigger, original) == 1.0


def test_brightness_saturation_contrast_edits(tmp_path: Path) -> None:
    image = picture()
    original = save(image, tmp_path / "o.png")
    darker = save(ImageEnhance.Brightness(image).enhance(0.7), tmp_path / "d.png")
    assert check_brightness_decrease_and_structure_sim(darker, original) == 1.0
    assert check_brightness_decrease_and_structure_sim(original, darker) == 0.0
    saturated = save(ImageEnhance.Color(image).enhance(1.5), tmp_path / "s.png")
    assert check_saturation_increase_and_structure_sim(saturated, original) == 1.0
    assert check_saturation_increase_and_structure_sim(original, saturated) == 0.0
    contrasted = save(ImageEnhance.Contrast(image).enhance(1.4), tmp_path / "c.png")
    assert check_contrast_increase_and_structure_sim(contrasted, original) == 1.0
    assert check_contrast_increase_and_structure_sim(original, contrasted) == 0.0


def test_palette_mirror_and_green_background(tmp_path: Path) -> None:
    image = picture((48, 48))
    original = save(image, tmp_path / "o.png")
    palette = save(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256), tmp_path / "p.png")
    assert check_palette_and_structure_sim(palette, original) == 1.0
    assert check_palette_and_structure_sim(original, original) == 0.0
    mirrored = save(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), tmp_path / "m.png")
    assert check_image_mirror(mirrored, original) == 1.0
    assert check_image_mirror(original, original) == 0.0
    mask = Image.new("RGB", (8, 8), "black")
    mask.paste((255, 255, 255), (0, 0, 4, 8))
    green = Image.new("RGB", (8, 8), (10, 200, 10))
    assert check_green_background(save(green, tmp_path / "g.png"), save(mask, tmp_path / "mask.png")) == 1.0
    red = save(Image.new("RGB", (8, 8), "red"), tmp_path / "r.png")
    assert check_green_background(red, str(tmp_path / "mask.png")) == 0.0


def test_triangle_textbox_and_sizes(tmp_path: Path) -> None:
    centred = Image.new("RGB", (100, 100), "white")
    centred.paste((255, 200, 0), (45, 45, 55, 55))
    assert check_triangle_position(save(centred, tmp_path / "t.png")) == 1.0
    corner = Image.new("RGB", (100, 100), "white")
    corner.paste((255, 200, 0), (0, 0, 60, 60))  # two colours: OSWorld measures the larger area's centroid
    assert check_triangle_position(save(corner, tmp_path / "c.png")) == 0.0
    left = Image.new("RGB", (100, 20), "white")
    left.paste((0, 0, 0), (2, 5, 30, 10))
    assert check_textbox_on_leftside(save(left, tmp_path / "l.png")) == 1.0
    right = Image.new("RGB", (100, 20), "white")
    right.paste((0, 0, 0), (50, 5, 60, 10))
    assert check_textbox_on_leftside(save(right, tmp_path / "r.png")) == 0.0
    square = save(Image.new("RGB", (128, 128)), tmp_path / "s.png")
    assert check_image_size(square, {"height": 128, "width": 128}) == 1.0
    padded = Image.new("RGBA", (100, 600), (0, 0, 0, 0))
    padded.paste((1, 2, 3, 255), (0, 44, 100, 556))
    tall = save(padded, tmp_path / "a.png")
    assert check_image_size(tall, {"height": 512, "ignore_transparent": True}) == 1.0
    assert check_image_size(str(tmp_path / "a.png"), {"height": 512}) == 0.0
    assert check_image_file_size(str(tmp_path / "a.png"), {"max_size": 600000}) == 1.0
    assert check_image_file_size(str(tmp_path / "a.png"), {"max_size": 10}) == 0.0


def test_image_list_and_config_status(tmp_path: Path) -> None:
    first = save(picture(), tmp_path / "1.png")
    second = save(picture(seed=9), tmp_path / "2.png")
    assert compare_image_list([first, second], [first, second]) == 1.0
    assert compare_image_list([second, first], [first, second]) == 0.0
    assert compare_image_list([first, None], [first, second]) == 0.0
    gimprc = tmp_path / "gimprc"
    gimprc.write_text('# GIMP gimprc\n\n(undo-levels 100)\n(theme "Light")\n'
                      '(default-view (show-menubar yes))\n')
    assert check_config_status(str(gimprc), {"key": "undo-levels", "value": "100"}) == 1.0
    assert check_config_status(str(gimprc), {"key": "theme", "value": '"Light"'}) == 1.0
    assert check_config_status(str(gimprc), {"key": "theme", "value": '"Dark"'}) == 0.0
    assert check_config_status(None, {"key": "theme", "value": '"Dark"'}) == 0.0
