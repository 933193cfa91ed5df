"""Read a whole number without cutting it: a small network that reads the number's ink as a sequence.

The cut-based reader (``model/number.py``) must find where one digit ends and the next begins; digits pushed into
each other's ink have no such place, and a cut then takes a stroke from one digit to the other. This network
reads the whole strip at once, left to right, in 48 frames of 4 columns each, and says for every frame which
digit it sees, or none (the "blank" of Connectionist Temporal Classification, CTC). Its reading is the most
likely string of digits over every path of frames that spells it (repeats and blanks removed); each digit's
frames on the best such path give its place in the picture, so the Draw page can still box it, and their
probabilities its confidence.

It is trained by ``python -m training.number_sequence`` on numbers composed of MNIST training digits and styled
digits, apart, touching and overlapping (``training/composed_numbers.py``). The shipped weights are a plain
weights file loaded into the architecture built here: no configuration and no code is read from it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from model.inference import batch_forward, in_batches
from model.store import WEIGHTS_DIR

SHIPPED_SEQUENCE_READER = WEIGHTS_DIR / "number_sequence.weights.h5"
STRIP = (32, 192)
"""What the network sees of a number, in pixels (rows, columns): its ink scaled to DIGIT_HEIGHT rows …"""
DIGIT_HEIGHT = 24
MARGIN = 4
"""… starting this many columns from the left; a number too wide for the strip is scaled down to fit it."""
FRAME = 4
"""Strip columns per frame (two 2×2 poolings): 48 frames."""
BLANK = 0
"""The CTC blank's index among the network's 11 outputs; digit d is d + 1."""
INK_LEVEL = 0.12
"""Ink above this counts when the number's box is found."""


@dataclass(frozen=True)
class Strip:
    """A number's ink as the network sees it, and how strip columns map back to the ink's."""

    image: np.ndarray
    """(32, 192) float32 in [0, 1]."""
    left: int
    right: int
    """The ink's first and past-last column …"""
    scale: float
    """… and strip pixels per ink pixel."""
    fits: bool
    """Whether the number fits the strip at DIGIT_HEIGHT, the height the network learned digits at (numbers of up
    to about 9 digits); a longer one was scaled down further."""

    def ink_column(self, column: float) -> int:
        """The ink's column under a strip column, within the ink's own columns."""
        return int(np.clip(round(self.left + (column - MARGIN) / self.scale), self.left, self.right))


def to_strip(ink: np.ndarray) -> Strip | None:
    """The number's ink (float in [0, 1], any size) cropped to its box and scaled into the strip; None without ink."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > INK_LEVEL), np.flatnonzero(ink.max(axis=0) > INK_LEVEL)
    if len(rows) == 0:
        return None
    crop = np.asarray(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], np.float32)
    height, width = crop.shape
    fits = DIGIT_HEIGHT / height <= (STRIP[1] - 2 * MARGIN) / width
    scale = DIGIT_HEIGHT / height if fits else (STRIP[1] - 2 * MARGIN) / width
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    small = np.asarray(Image.fromarray(crop, mode="F").resize((w, h), Image.Resampling.BILINEAR), np.float32)
    image = np.zeros(STRIP, np.float32)
    top = (STRIP[0] - h) // 2
    image[top:top + h, MARGIN:MARGIN + w] = np.clip(small, 0, 1)
    return Strip(image, int(cols[0]), int(cols[-1]) + 1, scale, fits)


def build_sequence_reader() -> keras.Model:
    """Four small convolutions (the strip shrinks to 4 rows × 48 frames), a dense layer per frame, a bidirectional
    GRU so each frame sees its neighbours, and 11 logits per frame (blank, 0–9)."""
    inputs = keras.Input(shape=(*STRIP, 1), name="strip")
    x = inputs
    for filters, pool in ((16, (2, 2)), (32, (2, 2)), (64, (2, 1)), (64, None)):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        if pool:
            x = keras.layers.MaxPooling2D(pool)(x)
    x = keras.layers.Permute((2, 1, 3))(x)
    x = keras.layers.Reshape((STRIP[1] // FRAME, -1))(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(64, return_sequences=True))(x)
    outputs = keras.layers.Dense(11, name="logits")(x)
    return keras.Model(inputs, outputs, name="number_sequence")


@dataclass(frozen=True)
class SequenceDigit:
    """One digit the network read: its probabilities (ten, over its frames), and its columns [start, end) in the
    number's ink."""

    digit: int
    probabilities: np.ndarray
    columns: tuple[int, int]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])


BEAM = 10
"""Prefixes kept at each frame by the decoder's beam search (``best_digits``)."""
UNLIKELY = 1e-4
"""A symbol less likely than this at a frame does not extend a prefix there (it could not win)."""


def best_digits(frame_probabilities: np.ndarray) -> tuple[int, ...]:
    """The most likely digits (symbols 1–10) of one strip's (48, 11) softmax, by CTC's prefix beam search: a
    reading's probability is the sum over every path of frames that spells it, not just its best path's. Greedy
    decoding — each frame's most likely symbol — misses a reading whose mass is split over paths: two 1s whose
    frames lean partly to a blank read as one. On bench.number_reading it read 1s and 7s 186 and 160 of 200 whole
    where greedy read 183 and 158, sloping 183 and 175 against 181 and 173, and no row fewer."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}  # prefix → (ends in blank, in its last)
    for frame in frame_probabilities:
        grown: dict[tuple[int, ...], list[float]] = {}
        likely = [int(s) for s in np.flatnonzero(frame >= UNLIKELY) if s != BLANK]
        for prefix, (blank, last) in beams.items():
            grown.setdefault(prefix, [0.0, 0.0])[0] += (blank + last) * frame[BLANK]
            for symbol in likely:
                if prefix and symbol == prefix[-1]:
                    grown[prefix][1] += last * frame[symbol]  # the same symbol held: still one
                    grown.setdefault(prefix + (symbol,), [0.0, 0.0])[1] += blank * frame[symbol]  # after a blank
                else:
                    grown.setdefault(prefix + (symbol,), [0.0, 0.0])[1] += (blank + last) * frame[symbol]
        kept = sorted(grown.items(), key=lambda item: -sum(item[1]))[:BEAM]
        beams = {prefix: (b, n) for prefix, (b, n) in kept}
    return max(beams, key=lambda prefix: sum(beams[prefix]))


def aligned_runs(frame_probabilities: np.ndarray, symbols: tuple[int, ...]) -> list[tuple[int, int]]:
    """The frames [start, end) of each of ``symbols`` on the most likely path of frames that spells them (CTC's
    forced alignment, by Viterbi over the symbols with blanks between and around them)."""
    if not symbols:
        return []
    states = [BLANK]
    for symbol in symbols:
        states += [symbol, BLANK]
    log = np.log(np.maximum(frame_probabilities[:, states], 1e-30))
    frames, count = log.shape
    score = np.full(count, -np.inf)
    score[:2] = log[0, :2]
    came = np.zeros((frames, count), int)
    # A symbol may follow the one before it without a blank between, unless the two are the same.
    may_skip = np.array([k % 2 == 1 and k > 1 and states[k] != states[k - 2] for k in range(count)])
    for t in range(1, frames):
        skip = np.where(may_skip, np.r_[-np.inf, -np.inf, score[:-2]], -np.inf)
        options = np.stack([score, np.r_[-np.inf, score[:-1]], skip])
        best = options.argmax(axis=0)
        came[t] = np.arange(count) - best
        score = options.max(axis=0) + log[t]
    state = count - 1 if score[-1] >= score[-2] else count - 2
    path = [state]
    for t in range(frames - 1, 0, -1):
        state = came[t, state]
        path.append(state)
    path = np.array(path[::-1])
    return [(int(np.flatnonzero(path == k)[0]), int(np.flatnonzero(path == k)[-1]) + 1)
            for k in range(1, count, 2)]


MIN_WIDTH = 0.3
"""No digit's columns are narrower than this × DIGIT_HEIGHT (a 1 with its pen is about 0.2–0.3)."""
DRIFT_COST = 0.5
"""What a boundary costs per (DIGIT_HEIGHT)² of distance from the middle between its two digits' spikes, against
1 for a column as inked as the number's most inked one."""


def _boundaries(strip: Strip, centres: list[float]) -> list[int]:
    """Where neighbouring digits meet, in strip columns: through the least ink, near the middle between their spikes
    (CTC's spike lies anywhere in the middle half of a digit, sometimes near its edge), no digit narrower than
    MIN_WIDTH (or, where the ink is too narrow for that, its fair share) — the best such set of boundaries, by
    dynamic programming over the columns."""
    profile = strip.image.sum(axis=0)
    first, last = MARGIN, MARGIN + round((strip.right - strip.left) * strip.scale)
    columns = np.arange(STRIP[1], dtype=float)
    # Digits narrower than MIN_WIDTH all together (a row of 1s pushed into each other) share the ink evenly.
    width = max(1, min(round(MIN_WIDTH * DIGIT_HEIGHT), (last - first) // max(1, len(centres))))
    lightness = profile / max(float(profile.max()), 1e-6)
    best = np.where(columns >= first, 0.0, np.inf)  # the previous boundary (the ink's left edge to start)
    choices = []
    for c, d in zip(centres, centres[1:]):
        reachable = np.concatenate([np.full(width, np.inf), np.minimum.accumulate(best)[:-width]])
        came_from = np.concatenate([np.zeros(width, int), _running_argmin(best)[:-width]])
        best = reachable + lightness + DRIFT_COST * ((columns - (c + d) / 2) / DIGIT_HEIGHT) ** 2
        best[columns > last - width] = np.inf
        choices.append(came_from)
    boundary, bounds = int(np.argmin(best)), []
    for came_from in reversed(choices):
        bounds.append(boundary)
        boundary = int(came_from[boundary])
    return bounds[::-1]


def _running_argmin(values: np.ndarray) -> np.ndarray:
    """For each position, where the minimum of values[:position + 1] is."""
    index = np.zeros(len(values), int)
    for k in range(1, len(values)):
        index[k] = k if values[k] < values[index[k - 1]] else index[k - 1]
    return index


def decode(frame_probabilities: np.ndarray, strip: Strip) -> list[SequenceDigit]:
    """One strip's (48, 11) softmax decoded into digits (``best_digits``), each with the frames the most likely path
    spelling them gives it (``aligned_runs``): its probabilities are those frames' mean over the ten digits,
    renormalised. CTC marks a digit with a spike of a frame or two, not its width, so where two neighbours meet is
    found in the ink (``_boundaries``); the first digit starts at the ink's left edge, the last one ends at its
    right."""
    symbols = best_digits(frame_probabilities)
    runs = aligned_runs(frame_probabilities, symbols)
    centres = [FRAME * (a + b) / 2 for a, b in runs]
    bounds = [strip.left, *(strip.ink_column(b) for b in _boundaries(strip, centres)), strip.right]
    digits = []
    for k, ((a, b), symbol) in enumerate(zip(runs, symbols)):
        run = frame_probabilities[a:b, 1:].mean(axis=0)
        digits.append(SequenceDigit(symbol - 1, run / run.sum(), (bounds[k], bounds[k + 1])))
    return digits


class SequenceReader:
    """The network plus its forward pass as one graph function (batches of any size); safe to share across
    threads."""

    def __init__(self, model: keras.Model):
        self.model = model
        self._forward = batch_forward(model, (*STRIP, 1))

    @classmethod
    def load(cls, path: str | Path) -> SequenceReader:
        model = build_sequence_reader()
        model.load_weights(str(path))
        return cls(model)

    def frame_probabilities(self, strips: np.ndarray) -> np.ndarray:
        """Softmax over the 11 symbols for every frame of each strip (N, 32, 192) → (N, 48, 11)."""
        frames = STRIP[1] // FRAME
        logits = in_batches(self._forward, strips[..., None], outputs=frames * 11)
        logits = logits.reshape(-1, frames, 11)
        exp = np.exp(logits - logits.max(axis=2, keepdims=True))
        return exp / exp.sum(axis=2, keepdims=True)

    def read(self, ink: np.ndarray) -> list[SequenceDigit]:
        """The digits of one number's ink, left to right; empty without ink."""
        strip = to_strip(ink)
        return [] if strip is None else self.read_strip(strip)

    def read_strip(self, strip: Strip) -> list[SequenceDigit]:
        return decode(self.frame_probabilities(strip.image[None])[0], strip)


@functools.cache
def shipped_sequence_reader() -> SequenceReader | None:
    """The shipped reader, loaded once per process; None when its file is missing or damaged (numbers are then
    read by cutting alone)."""
    try:
        return SequenceReader.load(SHIPPED_SEQUENCE_READER)
    except Exception as exc:  # noqa: BLE001 - h5py and Keras raise many types for a missing or damaged file
        logging.getLogger(__name__).warning("no sequence reader (%s: %s): numbers are read by cutting alone",
                                            SHIPPED_SEQUENCE_READER, exc)
        return None
