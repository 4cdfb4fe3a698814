"""Evidence of a diverged step: the recorded and the live frame side by side, differing blocks outlined.

A similarity score says *that* a screen differs; the picture says *where* (a window that did
not open, another font, a prompt showing another folder), which is what a person needs to
decide whether to fix the environment or lower the threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from agent.replay.similarity import Similarity, SimilarityConfig, small_grey, block_ssim

LABEL_HEIGHT = 28
GAP = 8
OUTLINE = (229, 72, 77)


Box = tuple[int, int, int, int]


def differing_blocks(
    live: Image.Image, recorded: Image.Image, config: SimilarityConfig = SimilarityConfig(),
) -> list[Box]:
    """Boxes (left, top, right, bottom; `live` pixels) of the blocks that differ, as `compare` counts them."""
    height = max(config.block, round(config.width * live.height / live.width))
    size = (config.width, height)
    ssim = block_ssim(small_grey(live, size), small_grey(recorded, size), config.block)
    sx, sy = live.width / config.width, live.height / height
    side = config.block
    return [
        (round(c * side * sx), round(r * side * sy), round((c + 1) * side * sx), round((r + 1) * side * sy))
        for r, c in zip(*np.nonzero(ssim < config.block_ssim))
    ]


def side_by_side(
    recorded: Image.Image, live: Image.Image, number: int, similarity: Similarity,
) -> Image.Image:
    """One image: the recorded frame (scaled to the live screen's size) left, the live screen right."""
    live = live.convert("RGB")
    recorded = recorded.convert("RGB").resize(live.size, Image.Resampling.LANCZOS)
    boxes = differing_blocks(live, recorded)
    width, height = live.width, live.height
    sheet = Image.new("RGB", (2 * width + GAP, height + LABEL_HEIGHT), "white")
    sheet.paste(recorded, (0, LABEL_HEIGHT))
    sheet.paste(live, (width + GAP, LABEL_HEIGHT))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=LABEL_HEIGHT * 2 // 3)
    draw.text((6, 4), f"recorded before step {number}", fill="black", font=font)
    label = (f"live before step {number}: similarity {similarity.score:.3f} "
             f"({similarity.changed_blocks}/{similarity.blocks} blocks differ, outlined)")
    draw.text((width + GAP + 6, 4), label, fill="black", font=font)
    for left, top, right, bottom in boxes:
        for x in (0, width + GAP):
            box = (x + left, LABEL_HEIGHT + top, x + right - 1, LABEL_HEIGHT + bottom - 1)
            draw.rectangle(box, outline=OUTLINE)
    return sheet


def save_divergence(
    folder: Path, recorded: Image.Image, live: Image.Image, number: int, similarity: Similarity,
) -> Path:
    """Write the side-by-side image of diverged step `number` into `folder`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"diverged-step-{number:03d}.png"
    side_by_side(recorded, live, number, similarity).save(path)
    return path
