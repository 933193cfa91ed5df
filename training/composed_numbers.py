"""Digits written side by side as one number, the way a hand does it, for the number reader's training
data (``training.number_parts``) and for the tests and benchmarks that score it (``harness``).

Each digit is a little bigger or smaller and higher or lower than the others, a number may run up- or
downhill, and the space between digits is measured either between their boxes or between their inks (0:
digits just touching; negative: each pushed into its neighbour's ink). The layout keeps every digit's own
ink, so a part cut from the number can be checked against the digits it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]
"""(top, left, bottom, right), bottom/right exclusive."""

INK = 0.3
"""Coverage from which a pixel counts as a digit's ink, for touching and for who owns a pixel."""


@dataclass(frozen=True)
class NumberLayout:
    """A composed number: its ink, and each digit's box and own ink (same shape as ``ink``)."""

    ink: np.ndarray
    boxes: list[Box]
    layers: list[np.ndarray]

    def owners(self) -> np.ndarray:
        """Each pixel's digit (its index, left to right) where some digit has ink there, else -1; where digits
        overlap, the one with more ink owns the pixel."""
        stack = np.stack(self.layers)
        return np.where(stack.max(axis=0) > INK, stack.argmax(axis=0), -1)


def _ink_crop(ink: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.12), np.flatnonzero(ink.max(axis=0) > 0.12)
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def layout_number(digit_inks: list[np.ndarray], rng: np.random.Generator, height: float = 110,
                  gap: tuple[float, float] = (0.05, 0.5), jitter: float = 0.12,
                  sizes: tuple[float, float] = (0.85, 1.15), slope: float = 0.0,
                  from_ink: bool = False) -> NumberLayout:
    """Digits (ink maps, float in [0, 1], any size) written side by side as one number: each ``sizes`` ×
    height tall and ``jitter`` × height higher or lower, each a further ``slope`` × height lower than the one
    before (uphill: negative), with uneven gaps (``gap``, a fraction of the height) between the digits' boxes,
    or with ``from_ink`` between their inks."""
    margin = int(height * 0.4)
    rise = abs(slope) * height * max(0, len(digit_inks) - 1)
    placed, boxes, x, space = [], [], margin, 0
    base = margin + (rise if slope < 0 else 0)
    for k, ink in enumerate(digit_inks):
        crop = _ink_crop(ink)
        h = max(8, round(height * rng.uniform(*sizes)))
        w = max(3, round(h * crop.shape[1] / crop.shape[0]))
        big = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC),
                         np.float32) / 255.0
        top = round(base + slope * k * height) + round(rng.uniform(-jitter, jitter) * height) + round((height - h) / 2)
        if from_ink and placed:
            x = _touching_left(placed, top, big) + space
        placed.append((top, x, big))
        boxes.append((top, x, top + h, x + w))
        space = round(rng.uniform(*gap) * height)
        x += w + space
    width = max(box[3] for box in boxes) + margin
    lowest = max(box[2] for box in boxes)
    shift = max(0, margin - min(box[1] for box in boxes))
    shape = (int(max(lowest + margin, height + 2 * margin + jitter * 2 * height + 0.3 * height)), width + shift)
    layers = []
    for top, left, big in placed:
        layer = np.zeros(shape, np.float32)
        region = layer[top:top + big.shape[0], left + shift:left + shift + big.shape[1]]
        region[...] = np.clip(big, 0, 1)[:region.shape[0], :region.shape[1]]
        layers.append(layer)
    boxes = [(t, left + shift, b, r + shift) for t, left, b, r in boxes]
    return NumberLayout(np.max(layers, axis=0), boxes, layers)


def _touching_left(placed: list[tuple[int, int, np.ndarray]], top: int, big: np.ndarray) -> int:
    """The left edge at which ``big`` (placed at row ``top``) just touches the ink already placed: the smallest
    x at which no row of it overlaps the others' ink; where no row is shared, right after the last box."""
    right_edge: dict[int, int] = {}
    for t, left, other in placed:
        for r in range(other.shape[0]):
            cols = np.flatnonzero(other[r] > INK)
            if len(cols):
                right_edge[t + r] = max(right_edge.get(t + r, -10**9), left + int(cols[-1]) + 1)
    x = -10**9
    for r in range(big.shape[0]):
        cols = np.flatnonzero(big[r] > INK)
        if len(cols) and top + r in right_edge:
            x = max(x, right_edge[top + r] - int(cols[0]))
    if x == -10**9:
        _, last_left, last = placed[-1]
        x = last_left + last.shape[1]
    return x
