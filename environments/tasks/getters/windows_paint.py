"""WindowsAgentArena's Paint getters (its getters/microsoftpaint.py): a red circle in a saved picture,
and a picture's size."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from environments.tasks.context import TaskContext
from environments.tasks.getters.windows_controller import WaaGetterError, controller
from environments.tasks.getters.windows_params import ImagePathParams, ImageSizeParams
from environments.tasks.registry import getter

RED_LOW, RED_HIGH = np.array([150, 0, 0]), np.array([255, 100, 100])
"""The RGB box WAA counts as the circle's red outline."""
WHITE_LOW, WHITE_HIGH = np.array([200, 200, 200]), np.array([255, 255, 255])
WHITE_SHARE = 0.8
"""More than this share of the circle's bounding square must be white."""


def red_circle_found(data: bytes | None) -> bool | int:
    """WAA's test: the red pixels' centroid and mean distance to it give a circle; its bounding square
    must be mostly white. 0 (not False) when there is no picture, as WAA returns.

    The square is sliced as numpy slices it, negative corners included (they count from the far edge)."""
    if not data:
        return 0
    pixels = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    red = ((pixels >= RED_LOW) & (pixels <= RED_HIGH)).all(axis=-1)
    white = ((pixels >= WHITE_LOW) & (pixels <= WHITE_HIGH)).all(axis=-1)
    rows, columns = np.where(red)
    if rows.size == 0:
        return False
    centre_x, centre_y = np.mean(columns), np.mean(rows)
    radius = int(np.mean(np.sqrt((columns - centre_x) ** 2 + (rows - centre_y) ** 2)))
    left, top = int(centre_x - radius), int(centre_y - radius)
    right, bottom = int(centre_x + radius), int(centre_y + radius)
    inside = white[top:bottom, left:right]
    if inside.size == 0:
        return False
    return bool(np.sum(inside) / inside.size > WHITE_SHARE)


@getter("is_red_circle_present_on_canvas", ImagePathParams)
def get_is_red_circle_present_on_canvas(context: TaskContext, params: ImagePathParams) -> bool | int:
    """Whether the picture at `filepath` shows a red circle on white; 0 when it cannot be read."""
    vm = controller(context, "is_red_circle_present_on_canvas")
    if not params.filepath:
        return False
    return red_circle_found(vm.file(str(params.filepath)))


@getter("image_dimension_matches_input", ImageSizeParams)
def get_image_dimension_matches_input(context: TaskContext, params: ImageSizeParams) -> bool:
    """Whether the picture at `filepath` is `width` × `height` pixels; raises when it cannot be read."""
    vm = controller(context, "image_dimension_matches_input")
    if not params.filepath or not params.width or not params.height:
        return False
    width, height = float(params.width), float(params.height)  # type: ignore[arg-type]
    data = vm.file(str(params.filepath))
    if data is None:
        raise WaaGetterError(f"image_dimension_matches_input: {params.filepath} is not on the VM")
    with Image.open(io.BytesIO(data)) as image:
        return image.width == width and image.height == height
