"""Drawing a step's marks into its frame with Pillow (for GIF and MP4 export)."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from agent.view.overlay import (
    COLOURS, TAG_STEP, Corner, Mark, arrow_shape, badge_offset, caption_corner, marker_radius,
)

HALO = (255, 255, 255, 235)
PANEL = (17, 20, 24, 200)
TEXT = (255, 255, 255, 255)


def burn_marks(frame: Image.Image, marks: list[Mark], title: str = "") -> Image.Image:
    """A copy of `frame` (RGB) with every mark drawn on it and `title` in a band at the top."""
    width, height = frame.size
    layer = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(max(12, round(min(width, height) * 0.022)))
    radius = marker_radius(width, height)
    for mark in marks:
        if mark.is_arrow:
            _arrow(draw, mark, radius)
    for mark in marks:
        if mark.at is not None:
            _marker(draw, mark, radius)
    small = _font(max(11, round(radius * 1.1)))
    for mark in marks:
        if mark.tag:
            _tag(draw, mark, radius, small, width)
    corner = caption_corner(marks, width, height)
    _captions(draw, [m for m in marks if m.is_caption], font, (width, height), corner)
    if title:
        _band(draw, title, font, width)
    return Image.alpha_composite(frame.convert("RGBA"), layer).convert("RGB")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _rgba(hex_colour: str) -> tuple[int, int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16 & 255, value >> 8 & 255, value & 255, 255)


def _marker(draw: ImageDraw.ImageDraw, mark: Mark, radius: float) -> None:
    assert mark.at is not None
    x, y = mark.at
    colour = _rgba(COLOURS[mark.kind])
    ring = max(3, round(radius / 5))
    draw.ellipse((x - radius - 2, y - radius - 2, x + radius + 2, y + radius + 2), outline=HALO, width=ring + 4)
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=ring)
    dot = max(3.0, radius / 4)
    draw.ellipse((x - dot - 1, y - dot - 1, x + dot + 1, y + dot + 1), fill=HALO)
    draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=colour)
    dx, dy = badge_offset(mark)
    _badge(draw, (x + dx * radius * 1.2, y + dy * radius * 1.2), mark, radius * 0.62)


def _tag(draw: ImageDraw.ImageDraw, mark: Mark, radius: float, font: ImageFont.ImageFont, frame_width: int) -> None:
    """The mark's label in a small dark pill beside the marker (or the arrow's head)."""
    x, y = mark.to or mark.at or (0.0, 0.0)
    y += mark.slot * TAG_STEP * radius
    width = draw.textlength(mark.label, font=font) + 12
    if mark.tag_side == "below":
        left, y = x - width / 2, y + radius * 2.2
    else:
        left = x - radius * 2 - width if mark.tag_side == "left" else x + radius * 2
    left = min(max(left, 0), frame_width - width)
    half = radius * 0.8
    draw.rounded_rectangle((left, y - half, left + width, y + half), half, fill=PANEL)
    draw.text((left + 6, y), mark.label, fill=TEXT, font=font, anchor="lm")


def _badge(draw: ImageDraw.ImageDraw, centre: tuple[float, float], mark: Mark, size: float) -> None:
    """The action's number in a disc of its colour."""
    x, y = centre
    draw.ellipse((x - size, y - size, x + size, y + size), fill=_rgba(COLOURS[mark.kind]), outline=HALO, width=2)
    draw.text((x, y), str(mark.number), fill=TEXT, font=_font(max(10, round(size * 1.25))), anchor="mm")


def _arrow(draw: ImageDraw.ImageDraw, mark: Mark, radius: float) -> None:
    shape = arrow_shape(mark, radius)
    colour = _rgba(COLOURS[mark.kind])
    width = max(3, round(radius / 3))
    draw.line((*shape.start, *shape.neck), fill=HALO, width=width + 4)
    draw.line((*shape.start, *shape.neck), fill=colour, width=width)
    draw.polygon(list(shape.head), fill=colour, outline=HALO)


def _captions(
    draw: ImageDraw.ImageDraw, marks: list[Mark], font: ImageFont.ImageFont, size: tuple[int, int], corner: Corner
) -> None:
    """Keyboard and end-of-task marks as labelled pills stacked in `corner`."""
    width, height = size
    pad = 8
    line = font.size if isinstance(font, ImageFont.FreeTypeFont) else 12
    box = line + 2 * pad
    top = corner.startswith("top")
    # from the top, start below the title band (as tall as one pill); from the bottom, stack upwards
    step = box + pad // 2
    first = box + pad if top else height - pad - len(marks) * step + pad // 2
    for i, mark in enumerate(marks):
        y = first + i * step
        text = _fit(draw, mark.label, font, width - 4 * pad - box)
        pill = box + draw.textlength(text, font=font) + pad
        left = pad if corner.endswith("left") else width - pad - pill
        draw.rounded_rectangle((left, y, left + pill, y + box), 8, fill=PANEL)
        _badge(draw, (left + box / 2, y + box / 2), mark, line * 0.62)
        draw.text((left + box, y + box / 2), text, fill=TEXT, font=font, anchor="lm")


def _band(draw: ImageDraw.ImageDraw, title: str, font: ImageFont.ImageFont, width: int) -> None:
    title = _fit(draw, title, font, width - 20)
    height = (font.size if isinstance(font, ImageFont.FreeTypeFont) else 12) + 16
    draw.rectangle((0, 0, width, height), fill=PANEL)
    draw.text((10, height / 2), title, fill=TEXT, font=font, anchor="lm")


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, max_width: float) -> str:
    """`text` on one line, cut with an ellipsis to at most `max_width` pixels."""
    text = " ".join(text.split())
    if draw.textlength(text, font=font) <= max_width:
        return text
    while text and draw.textlength(text + "…", font=font) > max_width:
        text = text[: max(0, len(text) - max(1, len(text) // 8))]
    return text + "…"
