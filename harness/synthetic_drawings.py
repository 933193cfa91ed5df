"""Synthetic canvas drawings for tests and benchmarks: digits at any place, size and ink style.

Two sources of handwriting, so nothing is measured only on the data the model was trained on:
- ``stroke_digit``: a small pen-stroke alphabet (polylines, drawn with a round pen like the canvas's),
  with slant and pen width as style knobs;
- ``mnist_digit``: a real MNIST test digit enlarged onto the canvas (each one a different writer).

UCI's forms pipeline, which saves a digit as an 8×8 picture of block counts, is
``training.restyled_digits.form_counts``: the shipped model's training and these benchmarks share it.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280
STYLES = ("transparent", "paper", "chalk")
"""Dark ink on a transparent canvas (RGBA), dark ink on white paper (RGB), white chalk on black (RGB)."""
PLACES = {
    "centre": (0.5, 0.5), "top-left": (0.0, 0.0), "top": (0.5, 0.0), "top-right": (1.0, 0.0),
    "left": (0.0, 0.5), "right": (1.0, 0.5), "bottom-left": (0.0, 1.0), "bottom": (0.5, 1.0),
    "bottom-right": (1.0, 1.0),
}
"""Where the digit's box sits: fractions of the free space, so 0 and 1 press it against an edge."""
SIZES = {"small": 0.25, "medium": 0.55, "large": 0.92}
"""Digit height as a fraction of the canvas."""

# Pen strokes in a unit box (x right, y down), one list of polylines per digit.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0.5, 0.0), (0.2, 0.1), (0.05, 0.5), (0.2, 0.9), (0.5, 1.0), (0.8, 0.9), (0.95, 0.5), (0.8, 0.1), (0.5, 0.0)]],
    1: [[(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [[(0.1, 0.25), (0.3, 0.03), (0.65, 0.0), (0.88, 0.2), (0.8, 0.45), (0.1, 1.0), (0.95, 1.0)]],
    3: [[(0.1, 0.1), (0.45, 0.0), (0.8, 0.12), (0.82, 0.35), (0.45, 0.48), (0.85, 0.62), (0.85, 0.88),
         (0.5, 1.0), (0.1, 0.9)]],
    4: [[(0.65, 1.0), (0.65, 0.0), (0.05, 0.7), (0.95, 0.7)]],
    5: [[(0.85, 0.0), (0.2, 0.0), (0.15, 0.45), (0.55, 0.4), (0.85, 0.6), (0.8, 0.9), (0.45, 1.0), (0.1, 0.9)]],
    6: [[(0.75, 0.0), (0.35, 0.2), (0.12, 0.6), (0.2, 0.92), (0.5, 1.0), (0.82, 0.85), (0.8, 0.58),
         (0.5, 0.48), (0.18, 0.62)]],
    7: [[(0.05, 0.0), (0.95, 0.0), (0.4, 1.0)]],
    8: [[(0.5, 0.48), (0.18, 0.32), (0.22, 0.07), (0.5, 0.0), (0.78, 0.07), (0.82, 0.32), (0.5, 0.48),
         (0.15, 0.7), (0.2, 0.93), (0.5, 1.0), (0.8, 0.93), (0.85, 0.7), (0.5, 0.48)]],
    9: [[(0.85, 0.3), (0.6, 0.48), (0.25, 0.45), (0.12, 0.22), (0.35, 0.02), (0.7, 0.02), (0.85, 0.3),
         (0.8, 1.0)]],
}


def _box(size: float, aspect: float, place: str, canvas: int, margin: int = 2) -> tuple[float, float, float, float]:
    """(left, top, width, height) of a digit box of height ``size``×canvas placed at ``place``."""
    height = SIZES[size] * canvas if isinstance(size, str) else size * canvas
    width = height * aspect
    fx, fy = PLACES[place]
    left = margin + fx * (canvas - 2 * margin - width)
    top = margin + fy * (canvas - 2 * margin - height)
    return left, top, width, height


def in_style(ink: np.ndarray, style: str) -> np.ndarray:
    """Ink coverage (H, W) in [0, 1] → the canvas picture in the given style."""
    if style == "transparent":
        rgba = np.zeros(ink.shape + (4,), np.uint8)
        rgba[..., :3] = 20
        rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
        return rgba
    paper, pen = (250.0, 25.0) if style == "paper" else (12.0, 238.0)
    grey = paper + (pen - paper) * ink
    return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)


def stroke_digit(digit: int, place: str = "centre", size: str | float = "medium", style: str = "transparent",
                 pen: float | None = None, slant: float = 0.0, canvas: int = CANVAS) -> np.ndarray:
    """A pen drawing of ``digit``; ``pen`` defaults to the canvas's 18 px at 280, ``slant`` shears right."""
    pen = pen if pen is not None else 18 * canvas / 280
    scale = 4  # draw big, then shrink: anti-aliased edges like the browser's canvas
    left, top, width, height = _box(size, 0.6, place, canvas, margin=int(pen / 2) + 2)
    img = Image.new("L", (canvas * scale, canvas * scale), 0)
    draw = ImageDraw.Draw(img)
    for line in STROKES[digit]:
        pts = [((left + (x + slant * (0.5 - y)) * width) * scale, (top + y * height) * scale) for x, y in line]
        draw.line(pts, fill=255, width=int(pen * scale), joint="curve")
        r = pen * scale / 2
        for x, y in (pts[0], pts[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    ink = np.asarray(img.resize((canvas, canvas), Image.Resampling.BOX), np.float32) / 255.0
    return in_style(ink, style)


def mnist_digit(image: np.ndarray, place: str = "centre", size: str | float = "medium",
                style: str = "transparent", canvas: int = CANVAS) -> np.ndarray:
    """A 28×28 MNIST digit (uint8, white on black) cropped to its ink and enlarged onto a canvas."""
    rows, cols = np.flatnonzero(image.max(axis=1) > 30), np.flatnonzero(image.max(axis=0) > 30)
    crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    left, top, width, height = _box(size, crop.shape[1] / crop.shape[0], place, canvas)
    w, h = max(1, round(width)), max(1, round(height))
    big = np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.BICUBIC), np.float32) / 255.0
    ink = np.zeros((canvas, canvas), np.float32)
    x0, y0 = int(round(left)), int(round(top))
    ink[y0:y0 + h, x0:x0 + w] = np.clip(big, 0, 1)[: canvas - y0, : canvas - x0]
    return in_style(ink, style)


def as_png(picture: np.ndarray) -> bytes:
    """A drawing as the PNG file the browser's canvas sends (what the API and the Draw page decode)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()
