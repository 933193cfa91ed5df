"""The replaced service's input, for comparison: the whole canvas squashed to 28×28, no crop, fit or centring.

It is what the project this dashboard replaced served its model (and what made it miss digits drawn small or
near an edge). The ink is extracted as ours is — polarity decided, contrast stretched — so a comparison
measures the missing crop, fit and centring, not how ink is told from paper. Used by the Experiment page
(side by side with ``model.preprocess.to_model_input``) and by ``bench/legacy_baseline.py``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from model.preprocess import SIDE, ImageSource, extract_ink, load_rgba, stretch_ink


def legacy_input(image: ImageSource) -> np.ndarray:
    """Whole canvas → the model input (1, 28, 28, 1) float32 in [0, 1], as the seed served it (with our
    polarity handling, to be fair)."""
    ink, _, peak = extract_ink(load_rgba(image))
    ink = stretch_ink(ink, max(peak, 1e-6))
    small = Image.fromarray(ink, mode="F").resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    return np.asarray(small, np.float32)[None, :, :, None]
