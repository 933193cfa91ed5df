"""Small picture helpers for the pages: pixel-crisp enlargement of model-sized images."""

from __future__ import annotations

import numpy as np


def enlarge(image: np.ndarray, size: int = 168) -> np.ndarray:
    """Nearest-neighbour upscale of a [0, 1] grey image to about ``size`` px, as uint8, so pixels stay square."""
    factor = max(1, size // max(image.shape[:2]))
    big = np.kron(np.clip(image, 0, 1), np.ones((factor, factor)))
    return (big * 255 + 0.5).astype(np.uint8)
