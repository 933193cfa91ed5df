"""Is this part of a number exactly one whole digit? A small network that says how likely, for the number
reader's cuts (``model/number.py``).

The digit classifier cannot say it: preprocessing fits any part into the same 20×20 box, so it reads half
a 0, or two digits squashed together, as one digit with confidence 0.98. This network sees what the
classifier never does — the part at the number's own scale, with its neighbours' ink beside it (the window
from ``model.number.NumberReader.window``: channel 0 the part's ink, channel 1 the rest of the number's) — and so
whether a cut sliced through a stroke, left half a digit behind, or took in a neighbour. It is trained by
``python -m training.part_check`` on parts cut from numbers composed of MNIST training digits and styled
digits (``training/composed_numbers.py``), labelled by which digits' ink each part holds.

The shipped weights are a plain weights file loaded into the architecture built here: no configuration and
no code is read from it.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import keras
import numpy as np

from model.inference import batch_forward, in_batches
from model.number import WINDOW
from model.store import WEIGHTS_DIR

SHIPPED_PART_CHECK = WEIGHTS_DIR / "part_check.weights.h5"


def build_part_checker() -> keras.Model:
    """Three convolutions with pooling over the two-channel window, then one sigmoid: p(the part is one whole
    digit). Small: it runs on every candidate part of every number, as the user draws."""
    inputs = keras.Input(shape=(*WINDOW, 2), name="window")
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="whole")(x)
    return keras.Model(inputs, outputs, name="part_check")


class PartChecker:
    """The network plus its forward pass as one graph function (batches of any size); safe to share across threads."""

    def __init__(self, model: keras.Model):
        self.model = model
        self._forward = batch_forward(model, (*WINDOW, 2))

    @classmethod
    def load(cls, path: str | Path) -> PartChecker:
        model = build_part_checker()
        model.load_weights(str(path))
        return cls(model)

    def log_whole(self, windows: np.ndarray) -> np.ndarray:
        """log p(one whole digit) for each of the windows (N, 32, 64, 2)."""
        p = in_batches(self._forward, windows, outputs=1)[:, 0]
        return np.log(np.clip(p, 1e-6, 1.0))


@functools.cache
def shipped_part_checker() -> PartChecker | None:
    """The shipped checker, loaded once per process; None when its file is missing or damaged (the reader then
    weighs parts by the classifier and their shape alone)."""
    try:
        return PartChecker.load(SHIPPED_PART_CHECK)
    except Exception as exc:  # noqa: BLE001 - h5py and Keras raise many types for a missing or damaged file
        logging.getLogger(__name__).warning("no part checker (%s: %s): numbers are cut by classifier and shape alone",
                                            SHIPPED_PART_CHECK, exc)
        return None
