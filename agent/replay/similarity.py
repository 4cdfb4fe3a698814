"""How alike two screenshots look: the fraction of screen blocks that match, by blockwise SSIM.

Both images are turned grey and area-averaged down to `SimilarityConfig.width` pixels wide
(the same size for both, so a recorded frame resized to the model's 28-px grid lines up with
a live capture). The small image is cut into square blocks; a block matches when its SSIM
(Wang et al. 2004, on that block) reaches `block_ssim`. The score is the fraction of
matching blocks, 0..1: 1.0 means every block looks the same, 0.97 means 3 % of the screen
differs.

Why blocks: a mouse cursor, a clock, or a few characters rendered differently change a few
blocks and cost a few thousandths of the score, however strongly they differ; a different
window, program or page changes many blocks. Area averaging removes JPEG noise and
sub-pixel text differences before anything is compared.

Measured on 1280×800 Xvfb desktops (tests/agent/replay/test_similarity_measured.py reproduces it,
`-s` prints it): a live capture against the recorded frame (28-px resize + JPEG q95) of
another desktop.

  same state                                           score   blocks differing
  a fresh desktop with the same xterm                  1.000      0 / 1000
  the same, with a mouse cursor drawn on it            0.998      2
  a terminal clock 1.2 s later (hh:mm:ss.ns changed)   0.999      1
  different state
  'ls' output in the xterm instead of a prompt         0.877    123
  no window instead of the xterm                       0.824    176
  the xterm moved 300 px                               0.772    228
  mousepad instead of the xterm                        0.511    489

`DEFAULT_THRESHOLD` = 0.97 lies between the groups with room on both sides: up to 30 of
1000 blocks (3 % of the screen, e.g. a 170×170 px region) may differ before a step counts
as diverged, ten times what a cursor or a clock costs, while the smallest window-level
change measured (a terminal full of other text) differs in 12 %. The price: a change
confined to under 3 % of the screen, such as one extra short line in a terminal (0.992
measured), is not a divergence; raise the threshold towards 0.995 to catch such changes.
The parameters are not fragile: widths 160–640 px, blocks of 4–8 px and block thresholds
0.8–0.9 all put these pairs on the same sides of 0.97.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

DEFAULT_THRESHOLD = 0.97
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


@dataclass(frozen=True)
class SimilarityConfig:
    width: int = 320
    """Width both images are area-averaged to before comparing (4× smaller than 1280)."""
    block: int = 8
    """Side of a block, in pixels of the small image (32 px of a 1280-px-wide screen)."""
    block_ssim: float = 0.8
    """A block matches when its SSIM reaches this."""


@dataclass(frozen=True)
class Similarity:
    score: float
    """Fraction of matching blocks, 0..1."""
    changed_blocks: int
    blocks: int


def compare(live: Image.Image, recorded: Image.Image, config: SimilarityConfig = SimilarityConfig()) -> Similarity:
    """How alike `live` and `recorded` look; sizes may differ (both are scaled to `live`'s aspect)."""
    height = max(config.block, round(config.width * live.height / live.width))
    a = small_grey(live, (config.width, height))
    b = small_grey(recorded, (config.width, height))
    ssim = block_ssim(a, b, config.block)
    changed = int(np.count_nonzero(ssim < config.block_ssim))
    return Similarity(score=(ssim.size - changed) / ssim.size, changed_blocks=changed, blocks=int(ssim.size))


def block_ssim(a: np.ndarray, b: np.ndarray, block: int) -> np.ndarray:
    """SSIM of each `block`×`block` tile of two equally sized grey images (edges that do not fill a tile are dropped)."""
    rows, cols = a.shape[0] // block, a.shape[1] // block
    if rows == 0 or cols == 0:
        raise ValueError(f"images of {a.shape[1]}×{a.shape[0]} px hold no {block}-px block")

    def tiles(image: np.ndarray) -> np.ndarray:
        cropped = image[: rows * block, : cols * block]
        return cropped.reshape(rows, block, cols, block).swapaxes(1, 2).reshape(rows, cols, block * block)

    x, y = tiles(a), tiles(b)
    mx, my = x.mean(axis=2), y.mean(axis=2)
    vx, vy = x.var(axis=2), y.var(axis=2)
    cov = ((x - mx[..., None]) * (y - my[..., None])).mean(axis=2)
    return ((2 * mx * my + _C1) * (2 * cov + _C2)) / ((mx**2 + my**2 + _C1) * (vx + vy + _C2))


def small_grey(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """`image` in grey, area-averaged to `size`, as floats (what blocks are compared on)."""
    return np.asarray(image.convert("L").resize(size, Image.Resampling.BOX), dtype=np.float64)
