"""Snapshots of a network while it learns: the Train page's "Watch it learn".

Every few hundred training images the worker records what the first layer looks like (its filters — for an
MLP, its first dense units as 28×28 weight images) and what the network makes of one fixed probe digit (its
ten probabilities and, for a convolutional network, the first layer's feature maps). Snapshots go into the
job's records (``training.jobs``), so every web server can show them live and replay them afterwards without
ever running the model itself.

A run keeps at most ``MAX_SNAPSHOTS``: when it is full, every other one is dropped and the interval doubles,
so the ones kept always lie evenly over the run, from the untrained network to the last batch.

Only the recorder runs the network (in the worker); reading a snapshot is numpy alone.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from model.explain import conv_kernels, feature_layers, first_dense_templates
from model.preprocess import images_to_input
from training.data import MnistData

EVERY_IMAGES = 256
"""Training images between two snapshots at the start of a run (the interval doubles each time the run is thinned)."""
MAX_SNAPSHOTS = 100
"""Snapshots kept per run; even, so that thinning keeps both the first and the newest."""
SHOWN = 16
"""Filters (or dense units) and feature maps kept per snapshot: the first ones, the same in every snapshot."""
RUNS_WITH_SNAPSHOTS = 100
"""Runs whose snapshots are kept (the newest): a run's are a megabyte or two, so the job records stay bounded."""
PROBE_INDEX = 0
"""The MNIST test digit probed when the run was started without a drawing."""


@dataclass(frozen=True)
class Snapshot:
    """The first layer and the probe's reading after ``images_seen`` training images."""

    images_seen: int
    weights: np.ndarray
    """(n, h, w) float16: the first n conv kernels (k×k, on the one input channel), or an MLP's first dense units
    as 28×28 images of the weights they put on each pixel."""
    units: int
    """How many filters (or units) the first layer has in all; ``weights`` holds the first ``SHOWN``."""
    probabilities: np.ndarray
    """(10,) float32: the network's reading of the probe."""
    feature_maps: np.ndarray | None
    """(n, h, w) float16: the first conv layer's outputs (after its activation) on the probe, one per kernel in
    ``weights``; None for a network without convolutions."""
    probe: np.ndarray
    """(28, 28) uint8: the digit probed, as the model saw it."""

    def to_bytes(self) -> bytes:
        """A compact payload (compressed float16/uint8 arrays, no pickle); ``images_seen`` is stored beside it."""
        arrays = {"weights": self.weights, "units": np.int32(self.units), "probabilities": self.probabilities,
                  "probe": self.probe}
        if self.feature_maps is not None:
            arrays["feature_maps"] = self.feature_maps
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, images_seen: int, payload: bytes) -> Snapshot:
        with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
            return cls(images_seen, arrays["weights"], int(arrays["units"]), arrays["probabilities"],
                       arrays["feature_maps"] if "feature_maps" in arrays.files else None, arrays["probe"])


def _pixels(image: np.ndarray) -> np.ndarray:
    """A model input in [0, 1] as (28, 28) uint8 pixels."""
    return (np.clip(image.reshape(28, 28), 0, 1) * 255 + 0.5).astype(np.uint8)


def encode_probe(image: np.ndarray) -> str:
    """A 28×28 model input in [0, 1] as text for the job's spec (base64 of its uint8 pixels: ~1 KB)."""
    return base64.b64encode(_pixels(image).tobytes()).decode()


def decode_probe(text: str) -> np.ndarray:
    """The (28, 28) float32 model input ``encode_probe`` wrote."""
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(28, 28).astype(np.float32) / 255


def default_probe(data: MnistData) -> np.ndarray:
    """The fixed MNIST test digit probed when nobody's drawing was given, as a (28, 28) model input."""
    return images_to_input(data.x_test[PROBE_INDEX: PROBE_INDEX + 1])[0, :, :, 0]


OnSnapshot = Callable[[int, Snapshot, list[int]], None]
"""Called with (seq, snapshot, seqs of earlier snapshots to drop): the job store's ``add_snapshot``."""


class SnapshotRecorder:
    """Takes the snapshots of one run; ``training.loop.train`` calls ``start``, ``seen`` after every batch and
    ``finish``.

    Snapshots are numbered 0, 1, 2… in the order taken. Each is handed to ``on_snapshot`` with the numbers of
    the earlier ones that thinning drops at that moment, so a store keeps exactly what the recorder keeps.
    """

    def __init__(self, probe: np.ndarray, on_snapshot: OnSnapshot, every: int = EVERY_IMAGES,
                 limit: int = MAX_SNAPSHOTS):
        self.probe, self.pixels = probe.reshape(1, 28, 28, 1).astype(np.float32), _pixels(probe)
        self.on_snapshot, self.every, self.limit = on_snapshot, every, limit
        self.kept: list[int] = []
        self.taken = 0
        self.last_seen = -1
        self.next_at = 0

    def start(self, classifier: keras.Model) -> None:
        """Find the first layer of the network about to train, and take the untrained network's snapshot."""
        self.classifier = classifier
        maps = feature_layers(classifier)
        outputs = [classifier.output] + ([classifier.get_layer(maps[0].name).output] if maps else [])
        reading = keras.Model(classifier.inputs, outputs)
        spec = [tf.TensorSpec(self.probe.shape, tf.float32)]  # one trace per run; no AutoGraph (plain tensor code)
        self._read = tf.function(lambda x: tf.nest.flatten(reading(x, training=False)), input_signature=spec,
                                 autograph=False)  # (flattened: a one-output model returns a bare tensor)
        self.seen(0)

    def seen(self, images: int) -> None:
        """``images`` training images so far: take a snapshot if one is due."""
        if images >= self.next_at:
            self._take(images)

    def finish(self, images: int) -> None:
        """The run ended after ``images``: take the final state unless the last snapshot already shows it."""
        if images > self.last_seen:
            self._take(images)

    def _take(self, images: int) -> None:
        outputs = [t.numpy()[0] for t in self._read(self.probe)]
        kernels = conv_kernels(self.classifier)
        if kernels:
            weights = np.moveaxis(kernels[0][1][:, :, 0, :], -1, 0)  # (k, k, 1, filters) → (filters, k, k)
            maps = np.moveaxis(outputs[1], -1, 0)[:SHOWN].astype(np.float16)  # (h, w, filters) → (filters, h, w)
        else:  # an MLP: its first dense units, (units, 28, 28)
            weights, maps = first_dense_templates(self.classifier), None
        snapshot = Snapshot(images, weights[:SHOWN].astype(np.float16), len(weights), outputs[0].astype(np.float32),
                            maps, self.pixels)
        seq, self.taken, self.last_seen = self.taken, self.taken + 1, images
        self.kept.append(seq)
        dropped: list[int] = []
        if len(self.kept) > self.limit:  # full: keep every other one (the first and this one among them)
            dropped, self.kept = self.kept[1::2], self.kept[::2]
            self.every *= 2
        self.next_at = images + self.every
        self.on_snapshot(seq, snapshot, dropped)
