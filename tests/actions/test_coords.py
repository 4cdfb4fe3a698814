"""The coordinate chain: model space → image pixels → screenshot pixels → logical points → screen."""

from __future__ import annotations

import math

import pytest

from actions import Click, CoordinateError, Drag, Frame, Point, Scroll, TypeText, locate, to_screen
from actions.coords import image_pixel


def rel(x: float, y: float) -> Point:
    return Point(x=x, y=y, space="relative")


def test_relative_on_a_plain_screen() -> None:
    chain = locate(rel(0.5, 0.25), Frame.of_size(1920, 1080))
    assert chain.image == (960.0, 270.0)
    assert chain.physical == chain.logical == chain.screen == (960, 270)


def test_image_pixels_of_a_resized_image() -> None:
    # the model saw 1176x672 of a 1920x1080 screenshot (Instruct's limit)
    frame = Frame(image_width=1176, image_height=672, physical_width=1920, physical_height=1080)
    chain = locate(Point(x=588, y=336, space="image"), frame)
    assert chain.physical == (960, 540)
    assert locate(rel(0.5, 0.5), frame).physical == (960, 540)


def test_grid_aligned_image_maps_back_onto_the_screenshot() -> None:
    frame = Frame(image_width=1932, image_height=1092, physical_width=1920, physical_height=1080)
    assert locate(rel(1.0, 1.0), frame).screen == (1919, 1079)
    assert locate(Point(x=966, y=546, space="image"), frame).screen == (960, 540)


def test_hidpi_scale_divides_into_logical_points() -> None:
    frame = Frame(image_width=3840, image_height=2160, physical_width=3840, physical_height=2160, scale=2.0)
    chain = locate(rel(0.5, 0.5), frame)
    assert chain.physical == (1920, 1080)
    assert chain.logical == chain.screen == (960, 540)


def test_monitor_offsets_are_added() -> None:
    right = Frame(image_width=1280, image_height=1024, physical_width=1280, physical_height=1024, offset_x=1920)
    assert locate(rel(0.0, 0.0), right).screen == (1920, 0)
    left = Frame(image_width=1280, image_height=1024, physical_width=1280, physical_height=1024, offset_x=-1280, offset_y=-200)
    assert locate(rel(0.5, 0.5), left).screen == (-640, 312)


def test_screen_points_go_back_down_the_chain() -> None:
    frame = Frame(image_width=960, image_height=540, physical_width=3840, physical_height=2160, scale=2.0, offset_x=1920)
    chain = locate(Point(x=1920 + 960, y=540, space="screen"), frame)
    assert chain.image == (480.0, 270.0)
    assert chain.screen == (2880, 540)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(value: float) -> None:
    with pytest.raises(ValueError):
        Point(x=value, y=0.5, space="relative")


@pytest.mark.parametrize(
    "point",
    [rel(-0.2, 0.5), rel(0.5, 1.5), Point(x=-30, y=10, space="image"), Point(x=5000, y=10, space="image")],
)
def test_far_off_screen_is_rejected(point: Point) -> None:
    with pytest.raises(CoordinateError, match="off the screen"):
        locate(point, Frame.of_size(1920, 1080))


def test_just_past_the_edge_is_clamped() -> None:
    frame = Frame.of_size(1920, 1080)
    assert locate(rel(1.005, 1.009), frame).screen == (1919, 1079)
    assert locate(rel(-0.005, -0.001), frame).screen == (0, 0)
    assert locate(Point(x=1921, y=-1, space="image"), frame).screen == (1919, 0)


def test_image_pixel_rounds_half_up() -> None:
    frame = Frame.of_size(1000, 800)
    assert image_pixel(rel(0.0005, 0.5), frame) == (1, 400)
    assert image_pixel(rel(0.1234, 0.9999), frame) == (123, 799)


def test_to_screen_rewrites_the_point_and_keeps_the_rest() -> None:
    frame = Frame.of_size(1000, 1000)
    action, chain = to_screen(Drag(to=rel(0.25, 0.75), button="right"), frame)
    assert action == Drag(to=Point(x=250, y=750, space="screen"), button="right")
    assert chain.model == rel(0.25, 0.75)
    assert to_screen(Click(), frame) == (Click(), None)
    assert to_screen(TypeText(text="a"), frame) == (TypeText(text="a"), None)
    scrolled, _ = to_screen(Scroll(dy=-3, at=rel(0.5, 0.5)), frame)
    assert scrolled.at == Point(x=500, y=500, space="screen") and scrolled.dy == -3


def test_frames_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Frame(image_width=0, image_height=10, physical_width=10, physical_height=10)
    with pytest.raises(ValueError):
        Frame(image_width=10, image_height=10, physical_width=10, physical_height=10, scale=math.nan)
