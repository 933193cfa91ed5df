"""Picture helpers for the pages: pixel-crisp enlargement, colour maps, tile grids and overlays.

Pure numpy/PIL (no matplotlib figures), so reruns allocate nothing that must be closed.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw

RED = (230, 57, 70)
CYAN = (0, 200, 255)


def enlarge(image: np.ndarray, size: int = 168) -> np.ndarray:
    """Nearest-neighbour upscale to about ``size`` px so pixels stay square; [0, 1] grey → uint8."""
    factor = max(1, size // max(image.shape[:2]))
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def png_data_url(image: np.ndarray) -> str:
    """A small picture as an inline ``data:`` URL for ``st.image``.

    For pictures that change on every stroke: a plain array goes through Streamlit's media file store
    and costs the server an extra HTTP request per stroke for the browser to fetch it.
    """
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail(image: np.ndarray, size: int = 168, fill: int | None = 0) -> np.ndarray:
    """Any image padded to a square with ``fill`` (None: its own edge colour) and scaled to ``size`` px,
    crisp if small, smooth if big.

    Square thumbnails keep a row of stages aligned however tall or wide each crop is.
    """
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    h, w = image.shape[:2]
    side = max(h, w)
    padding = [((side - h) // 2, side - h - (side - h) // 2), ((side - w) // 2, side - w - (side - w) // 2)]
    padding += [(0, 0)] * (image.ndim - 2)
    image = np.pad(image, padding, mode="edge") if fill is None else np.pad(image, padding, constant_values=fill)
    if side <= size // 2:
        return enlarge(image, size)
    h, w = image.shape[:2]
    scale = size / max(h, w)
    return np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale)))))


def colourise(values: np.ndarray, cmap: str = "magma", low: float | None = None,
              high: float | None = None) -> np.ndarray:
    """Map values to RGB uint8 with a fixed scale [low, high] (defaults: the values' own range)."""
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=np.float32)
    return (colormaps[cmap](np.clip(scaled, 0, 1))[..., :3] * 255).astype(np.uint8)


def rgba_on_white(rgba: np.ndarray) -> np.ndarray:
    """Show a (possibly transparent) canvas as people saw it: composited over white."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    return (rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def mask_with_box(mask: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """The ink mask in white with its bounding box drawn in red."""
    picture = Image.fromarray((mask * 255).astype(np.uint8)).convert("RGB")
    top, left, bottom, right = bbox
    width = max(1, max(mask.shape) // 100)
    ImageDraw.Draw(picture).rectangle((left, top, right - 1, bottom - 1), outline=RED, width=width)
    return np.asarray(picture)


def mark_points(image: np.ndarray, points: list[tuple[float, float, tuple[int, int, int]]],
                size: int = 168) -> np.ndarray:
    """Enlarge a small grey image and draw a cross at each (row, col, colour) point (pixel-centre coordinates)."""
    big = enlarge(image, size)
    factor = big.shape[0] / image.shape[0]
    picture = Image.fromarray(big).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for row, col, colour in points:
        y, x, r = (row + 0.5) * factor, (col + 0.5) * factor, factor * 1.2
        draw.line((x - r, y, x + r, y), fill=colour, width=2)
        draw.line((x, y - r, x, y + r), fill=colour, width=2)
    return np.asarray(picture)


def boxes_on(rgba: np.ndarray, boxes: list[tuple[int, int, int, int]], labels: list[str]) -> np.ndarray:
    """The input on white with a box and a label above each (top, left, bottom, right) box: how a number was read.
    Labels that would overlap their left neighbour's (narrow digits side by side, a 1 next to a 7) go a line
    higher, and the picture grows at the top where they need the room."""
    picture = Image.fromarray(rgba_on_white(rgba)).convert("RGB")
    size = max(12, picture.height // 12)
    widths = [ImageDraw.Draw(picture).textlength(label, font_size=size) for label in labels]
    places = label_places(boxes, widths, size + 4)
    band = max([0] + [-y for _, y in places])
    if band:
        padded = Image.new("RGB", (picture.width, picture.height + band), "white")
        padded.paste(picture, (0, band))
        picture = padded
    draw = ImageDraw.Draw(picture)
    for (top, left, bottom, right), label, (x, y) in zip(boxes, labels, places):
        draw.rectangle((left - 2, top - 2 + band, right + 1, bottom + 1 + band), outline=CYAN, width=2)
        draw.text((x, y + band), label, fill=RED, font_size=size)
    return np.asarray(picture)


def label_places(boxes: list[tuple[int, int, int, int]], widths: list[float], line: int) -> list[tuple[int, int]]:
    """Where each box's label goes (x, y of its top left; y < 0 is above the picture): on the nearest line above its
    box that is free that far left — the line right above it, unless an earlier label on it reaches past its left."""
    ends: list[float] = []  # how far right each line's labels reach, nearest line first
    places = []
    for (top, left, _, _), width in zip(boxes, widths):
        level = next((k for k, end in enumerate(ends) if end < left), len(ends))
        if level == len(ends):
            ends.append(0.0)
        ends[level] = left + width + line // 4
        places.append((left, top - line * (level + 1)))
    return places


def tile_grid(tiles: np.ndarray, labels: list[str], columns: int = 8, tile_px: int = 84, gap: int = 4) -> np.ndarray:
    """RGB tiles (n, h, w, 3) laid out in a grid, each enlarged to ``tile_px`` with its label in the corner."""
    n = len(tiles)
    rows = -(-n // columns)
    big = [enlarge(t, tile_px) for t in tiles]
    th, tw = big[0].shape[:2]
    sheet = np.full((rows * (th + gap) - gap, min(n, columns) * (tw + gap) - gap, 3), 255, np.uint8)
    for i, tile in enumerate(big):
        r, c = divmod(i, columns)
        sheet[r * (th + gap): r * (th + gap) + th, c * (tw + gap): c * (tw + gap) + tw] = tile
    picture = Image.fromarray(sheet)
    draw = ImageDraw.Draw(picture)
    for i, label in enumerate(labels):
        r, c = divmod(i, columns)
        x, y = c * (tw + gap) + 2, r * (th + gap) + 1
        draw.rectangle((x - 1, y, x + 6 * len(label) + 1, y + 11), fill=(0, 0, 0))
        draw.text((x, y), label, fill=(255, 255, 255))
    return np.asarray(picture)


def overlay(grey: np.ndarray, heat: np.ndarray, size: int = 168, cmap: str = "jet") -> np.ndarray:
    """A heat map in [0, 1] blended over a grey [0, 1] image, enlarged crisply."""
    base = np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=2) * 255
    colour = colourise(heat, cmap, 0.0, 1.0).astype(np.float32)
    alpha = 0.6 * np.clip(heat, 0, 1)[..., None]
    return enlarge((base * (1 - alpha) + colour * alpha).astype(np.uint8), size)


PIXELATED = "<style>.st-key-{key} img {{image-rendering: pixelated;}}</style>"
"""CSS for ``st.html``: pictures in the container with key ``key`` enlarged by the browser keep square pixels."""


def weight_sheet(weights: np.ndarray, columns: int = 4) -> np.ndarray:
    """Signed weight images (n, h, w) in a grid, one pixel per weight, red positive and blue negative on one scale
    (the largest |w|), as Inspect colours learned filters. Left small (a few hundred bytes as PNG): the browser
    enlarges it (see ``PIXELATED``)."""
    bound = float(np.abs(weights.astype(np.float32)).max()) or 1.0
    tiles = colourise(weights.astype(np.float32), "RdBu_r", -bound, bound)  # one colour-map call: (n, h, w, 3)
    return tile_grid(tiles, [], columns=columns, tile_px=weights.shape[1], gap=1)


def activation_sheet(maps: np.ndarray, columns: int = 4) -> np.ndarray:
    """Feature maps (n, h, w) in a grid, one pixel per activation, on one magma scale from zero (or a tanh's
    negative least) to the largest activation; left small like ``weight_sheet``."""
    maps = maps.astype(np.float32)
    tiles = colourise(maps, "magma", min(0.0, float(maps.min())), float(maps.max()))
    return tile_grid(tiles, [], columns=columns, tile_px=maps.shape[1], gap=1)
