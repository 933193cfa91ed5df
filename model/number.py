"""Read a whole number: split the ink into digits, then read each one like a single digit.

The network reads one digit at a time (that is what MNIST taught it), so a number is cut into digits
first, by the same ink extraction as ``model.preprocess`` (stage 2):

1. **pieces** — connected components of the ink (8-connected); specks far smaller than the strokes
   around them are dropped.
2. **merge** — pieces that overlap horizontally belong to one digit: a 5's flag, a 4 or a 7 drawn in
   two strokes, the two halves of a broken 8. Digits side by side do not overlap (much) horizontally.
3. **split** — a piece wider than one digit may be digits that touch: the model scores the ways of cutting it
   and the best wins. Each cut is a path from top to bottom through the least ink near a light column, not a
   straight line: digits written close lean into each other (a 7's bar over the next digit, slanted 1s), and a
   straight cut would slice a neighbour.
4. **read** — each digit's ink alone (the other digits blanked) goes through ``to_model_input`` and the
   predictor, left to right.

No Streamlit and no TensorFlow here: the predictor is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from model.preprocess import INK_THRESHOLD, MIN_CONTRAST, ImageSource, extract_ink, load_rgba, stretch_ink

if TYPE_CHECKING:
    from model.inference import Prediction, Predictor

Box = tuple[int, int, int, int]
"""(top, left, bottom, right) in the input's pixels, bottom/right exclusive."""

RIM_PX = 2
"""Pixels of faint ink kept around each digit's mask."""
SPECK_FRACTION = 0.02
"""Pieces with less ink than this fraction of the largest piece are specks (dust, a pen's touch-down)."""
MERGE_SURE = 0.8
"""Pieces whose column ranges overlap by this fraction of the narrower one are one digit (a 4's two strokes)."""
MAYBE_SAME = 0.15
"""From this overlap on, the model decides whether two pieces are one digit or two."""
SMALL_PIECE = 0.35
"""A piece with less ink than this × the median piece (a 5's flag, a 7's bar), close to a neighbour, may be part
of it: the model decides, leaning towards joining (FRAGMENT_SLACK)."""
SHORT_PIECE = 0.6
"""… as may a piece less tall than this × the median height (the digits of one number are about as tall)."""
CLOSE_GAP = 0.15
"""… "close": fewer columns apart than this × the digits' height."""
FRAGMENT_SLACK = 0.05
"""A fragment joins its neighbour unless the two read at least this much less surely together than apart (the
model reads a 5's lifted flag alone as a confident 7)."""
MAYBE_TOUCHING = 0.7
"""Wider than this × its height, a piece may be digits that touch (a 0 is ~0.8; a 2 or a 5 can reach ~1.3)."""
TOUCHING_ASPECT = 1.3
"""Without a model, wider than this × its height is taken as digits that touch."""
MIN_DIGIT_WIDTH = 0.15
"""No part narrower than this × the height is cut off (a 1 is about 0.1–0.2, with its pen width)."""
CUT_INK = 0.6
"""Only columns with less ink than this × the piece's inkiest column are places to cut."""
CUT_PENALTY = 0.15
"""Each cut costs this much log confidence: the parts must read more surely than the whole to be cut."""
DIGIT_ASPECT = ((-0.109, 0.201), (-0.949, 0.467), (-0.074, 0.223), (-0.242, 0.215), (-0.248, 0.216),
                (-0.077, 0.265), (-0.335, 0.220), (-0.272, 0.218), (-0.289, 0.224), (-0.404, 0.207))
"""Each digit's log(width / height): mean and standard deviation over MNIST's 60,000 training digits (ink above
80/255). The network reads a squashed number as one digit with confidence 0.98 — preprocessing fits any box to
20×20 — so a reading is also weighed by how wide that digit is ever written (``aspect_penalty``)."""
TWO_STROKE_ROWS = (0.85, 0.20, 0.68, 0.55, 0.75, 0.55, 0.65, 0.50, 0.80, 0.65)
"""Each digit's share of rows whose ink is crossed twice or more (two strokes side by side), at the 99th
percentile over MNIST's training digits (ink above 80/255, 28×28): a 1 has almost none, so two 1s or a 1 and
a 7 pushed together and read as one 1 are caught by it (``shape_penalty``)."""
TWO_STROKE_COST = 10.0
"""Log confidence per unit of that share above the digit's 99th percentile."""
ASPECT_SLACK = 1.5
"""Up to this many standard deviations wider than its digit's mean, a part's shape costs nothing (measured on
``bench/number_reading.py``, MNIST hands, 100 numbers a row: 0.5 cut wide single digits in two, apart 87/100;
1.5: apart 99/100, touching 65/100; 2.5: touching 54/100)."""
PATH_REACH = 0.2
"""A cut's path wanders at most this × the digits' height either side of its column."""
PATH_BEND = 0.05
"""What wandering to the edge of its reach costs a path, in ink: between equally light ways it goes straight."""


@dataclass(frozen=True)
class DigitPiece:
    """One digit cut from a number: where it is, and its ink alone (float32 in [0, 1], the others blanked)."""

    box: Box
    ink: np.ndarray

    def picture(self, margin: int = 4) -> np.ndarray:
        """The digit as a canvas drawing: black ink whose alpha is the ink, on transparent paper (uint8 RGBA).

        What Inspect and ``to_model_input`` get. Transparent, so preprocessing reads the ink from the alpha
        channel: a crop this tight would fool its background estimate (the median colour), a 1 or a thick
        0 covering most of it.
        """
        top, left, bottom, right = self.box
        crop = self.ink[max(0, top - margin):bottom + margin, max(0, left - margin):right + margin]
        rgba = np.zeros((*crop.shape, 4), np.uint8)
        rgba[..., 3] = (crop * 255 + 0.5).astype(np.uint8)
        return rgba


def _columns(mask: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(cols[-1]) + 1


def _rows(mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[0]), int(rows[-1]) + 1


def _box(mask: np.ndarray) -> Box:
    (top, bottom), (left, right) = _rows(mask), _columns(mask)
    return top, left, bottom, right


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """How much two pieces' column ranges overlap, as a fraction of the narrower one's width."""
    (a0, a1), (b0, b1) = _columns(a), _columns(b)
    return (min(a1, b1) - max(a0, b0)) / max(1, min(a1 - a0, b1 - b0))


def _height(mask: np.ndarray) -> int:
    top, bottom = _rows(mask)
    return bottom - top


def aspect_penalty(digit: int, width: float, height: float) -> float:
    """What a part of this shape, read as ``digit``, costs in log confidence: how much less likely so wide a part
    is for that digit (a Gaussian in log width / height, ``DIGIT_ASPECT``), beyond ASPECT_SLACK standard
    deviations wider than usual. Only width counts: a narrow 0 or 2 is a hand, a wide one may be two digits."""
    mean, std = DIGIT_ASPECT[digit]
    z = (np.log(max(width, 1.0) / max(height, 1.0)) - mean) / std
    return 0.5 * max(0.0, z - ASPECT_SLACK) ** 2


def two_stroke_rows(image: np.ndarray) -> float:
    """The share of a 28×28 model input's inked rows that cross two or more strokes."""
    ink = image > 80 / 255
    runs = (ink[:, 1:] & ~ink[:, :-1]).sum(axis=1) + ink[:, 0]
    inked = ink.any(axis=1)
    return float(((runs >= 2) & inked).sum() / max(1, inked.sum()))


def shape_penalty(digit: int, image: np.ndarray, width: float, height: float) -> float:
    """What a part costs for its shape, read as ``digit``: too wide for that digit (``aspect_penalty``), or too
    many rows crossing two strokes (its model input ``image`` against ``TWO_STROKE_ROWS``)."""
    crossed = max(0.0, two_stroke_rows(image) - TWO_STROKE_ROWS[digit])
    return aspect_penalty(digit, width, height) + TWO_STROKE_COST * crossed


def _gap(a: np.ndarray, b: np.ndarray) -> int:
    """Columns between two pieces (negative where they overlap)."""
    (a0, a1), (b0, b1) = _columns(a), _columns(b)
    return max(a0, b0) - min(a1, b1)


class _Reader:
    """Cuts one number's ink into digits, asking the predictor where geometry alone cannot decide."""

    def __init__(self, ink: np.ndarray, predictor: Predictor | None):
        self.ink = ink
        self.predictor = predictor

    def piece(self, mask: np.ndarray) -> DigitPiece:
        """The digit's ink: inside its mask, and the faint anti-aliased rim just outside it (the mask is cut at
        INK_THRESHOLD; without the rim strokes come out thinner and harder-edged than MNIST's)."""
        rim = ndimage.binary_dilation(mask, iterations=RIM_PX)
        return DigitPiece(_box(mask), np.where(rim, self.ink, 0).astype(np.float32))

    def confidence(self, mask: np.ndarray) -> float:
        prediction = self.predictor.predict(self.piece(mask).picture())
        return prediction.confidence if prediction.digit is not None else 0.0

    def plausibility(self, mask: np.ndarray) -> float:
        """Log confidence of the part read alone, less what its shape costs for the digit read (a whole number
        squashed into one "digit" reads surely, but no digit is written five times as wide as tall, and no 1
        crosses two strokes on most rows)."""
        prediction = self.predictor.predict(self.piece(mask).picture())
        if prediction.digit is None:
            return np.log(1e-6)
        (top, bottom), (left, right) = _rows(mask), _columns(mask)
        return float(np.log(max(prediction.confidence, 1e-6))
                     - shape_penalty(prediction.digit, prediction.preprocessed.image, right - left, bottom - top))

    def pieces(self) -> list[np.ndarray]:
        """Connected components without specks, pieces that clearly share columns joined."""
        mask = self.ink > INK_THRESHOLD
        labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
        if count == 0:
            return []
        sizes = ndimage.sum_labels(mask, labels, index=range(1, count + 1))
        pieces = [labels == i + 1 for i in range(count) if sizes[i] >= SPECK_FRACTION * sizes.max()]
        return self.merge(pieces, sure_only=self.predictor is None)

    def merge(self, pieces: list[np.ndarray], sure_only: bool) -> list[np.ndarray]:
        """Join neighbours that share columns: surely above MERGE_SURE; between MAYBE_SAME and it, or for a
        small piece close to a neighbour (a 5's flag), when the model reads the two together more surely."""
        pieces = sorted(pieces, key=lambda m: _columns(m)[0])
        height = float(np.median([np.subtract(*_rows(p)[::-1]) for p in pieces]))
        area = float(np.median([p.sum() for p in pieces]))
        i = 0
        while i < len(pieces) - 1:
            a, b = pieces[i], pieces[i + 1]
            overlap = _overlap(a, b)
            fragment = _gap(a, b) < CLOSE_GAP * height and (
                min(a.sum(), b.sum()) < SMALL_PIECE * area or min(_height(a), _height(b)) < SHORT_PIECE * height)
            slack = FRAGMENT_SLACK if fragment else 0.0
            if overlap >= MERGE_SURE or (not sure_only and (overlap >= MAYBE_SAME or fragment) and
                                         self.confidence(a | b) > min(self.confidence(a), self.confidence(b)) - slack):
                pieces[i:i + 2] = [a | b]
                i = max(0, i - 1)
            else:
                i += 1
        return pieces

    @staticmethod
    def between(piece: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """The piece's ink between two cut paths (one column per row; left inclusive, right exclusive)."""
        cols = np.arange(piece.shape[1])[None, :]
        return piece & (cols >= left[:, None]) & (cols < right[:, None])

    def cut_path(self, piece: np.ndarray, column: int, height: float) -> np.ndarray:
        """The cut near ``column``: for each row, the column of the path from the piece's top to its bottom that
        crosses the least ink, moving at most one column per row and PATH_REACH × height from ``column``."""
        top, bottom = _rows(piece)
        reach = max(1, int(PATH_REACH * height))
        lo, hi = max(0, column - reach), min(piece.shape[1], column + reach + 1)
        cost = (self.ink * piece)[top:bottom, lo:hi] + PATH_BEND * np.abs(np.arange(lo, hi) - column) / reach
        total, came_from = cost[0].copy(), np.zeros(cost.shape, np.int64)
        for r in range(1, len(cost)):
            options = np.stack([np.r_[np.inf, total[:-1]], total, np.r_[total[1:], np.inf]])  # from c-1, c, c+1
            step = options.argmin(axis=0)
            came_from[r] = step - 1
            total = cost[r] + options[step, np.arange(len(total))]
        path = np.full(piece.shape[0], column)
        c = int(total.argmin())
        for r in range(len(cost) - 1, -1, -1):
            path[top + r] = lo + c
            c += int(came_from[r, c])
        return path

    def cut_candidates(self, piece: np.ndarray, height: float) -> list[int]:
        """Columns where touching digits could be cut: the light columns (local minima of the ink's vertical
        projection), not too close to the piece's ends or to each other."""
        left, right = _columns(piece)
        profile = np.convolve((self.ink * piece).sum(axis=0)[left:right], np.ones(3) / 3, mode="same")
        edge, spacing = int(MIN_DIGIT_WIDTH * height), max(2, int(0.5 * MIN_DIGIT_WIDTH * height))
        light = CUT_INK * profile.max()
        minima = [c for c in range(edge, len(profile) - edge)
                  if profile[c] <= profile[c - 1] and profile[c] <= profile[c + 1] and profile[c] < light]
        chosen: list[int] = []
        for c in sorted(minima, key=lambda c: profile[c]):
            if all(abs(c - k) >= spacing for k in chosen):
                chosen.append(c)
        return sorted(left + c for c in chosen)

    def split(self, piece: np.ndarray, height: float) -> list[np.ndarray]:
        """A piece wider than one digit may be digits that touch. Cut it where the model reads the parts more
        surely than the whole: the best of all ways to cut at the light columns (dynamic programming over the
        cuts, each part's log confidence, a penalty per cut). Without a model: equal parts by width."""
        top, bottom = _rows(piece)
        left, right = _columns(piece)
        aspect = (right - left) / max(bottom - top, 0.6 * height)
        if aspect <= MAYBE_TOUCHING:
            return [piece]
        if self.predictor is None:
            if aspect <= TOUCHING_ASPECT:
                return [piece]
            parts = round(aspect / 0.7)
            bounds = [left + round((right - left) * k / parts) for k in range(parts + 1)]
            straight = [np.full(piece.shape[0], b) for b in bounds]
            return [self.between(piece, a, b) for a, b in zip(straight[:-1], straight[1:])]
        full = piece.shape[0]
        bounds = [np.full(full, left), *(self.cut_path(piece, c, height) for c in self.cut_candidates(piece, height)),
                  np.full(full, right)]
        best: list[tuple[float, list[int]]] = [(0.0, [])] + [(-np.inf, [])] * (len(bounds) - 1)
        for j in range(1, len(bounds)):
            for i in range(j):
                part = self.between(piece, bounds[i], bounds[j])
                if not part.any():
                    continue
                score = best[i][0] + self.plausibility(part) - (CUT_PENALTY if i else 0.0)
                if score > best[j][0]:
                    best[j] = (score, [*best[i][1], i])
        starts = best[-1][1] + [len(bounds) - 1]
        parts = [self.between(piece, bounds[a], bounds[b]) for a, b in zip(starts[:-1], starts[1:])]
        return [p for p in parts if p.any()]

    def digits(self) -> list[DigitPiece]:
        pieces = self.pieces()
        if not pieces:
            return []
        height = float(np.median([np.subtract(*_rows(p)[::-1]) for p in pieces]))
        masks = [part for piece in pieces for part in self.split(piece, height)]
        return [self.piece(m) for m in sorted(masks, key=lambda m: _columns(m)[0])]


def _number_ink(source: ImageSource) -> np.ndarray | None:
    raw_ink, _, peak = extract_ink(load_rgba(source))
    return None if peak < MIN_CONTRAST else stretch_ink(raw_ink, peak)


def split_digits(source: ImageSource, predictor: Predictor | None = None) -> list[DigitPiece]:
    """The digits of a number, left to right; empty when there is no ink. With a predictor, doubtful joins
    and cuts are decided by how surely it reads the alternatives. Raises ImageError like ``to_model_input``
    for inputs that are not usable images."""
    ink = _number_ink(source)
    return [] if ink is None else _Reader(ink, predictor).digits()


@dataclass(frozen=True)
class DigitReading:
    piece: DigitPiece
    prediction: Prediction

    def to_dict(self) -> dict:
        return {"digit": self.prediction.digit, "confidence": round(self.prediction.confidence, 6),
                "box": list(self.piece.box)}


@dataclass(frozen=True)
class NumberReading:
    """The digits read from a number, left to right (pieces that hold no digit, such as a dot, are left out)."""

    digits: list[DigitReading]

    @property
    def number(self) -> str | None:
        """The digits as one string ("2026"); None when there is no ink."""
        return "".join(str(d.prediction.digit) for d in self.digits) or None

    def to_dict(self) -> dict:
        return {"number": self.number, "digits": [d.to_dict() for d in self.digits]}


def read_number(predictor: Predictor, source: ImageSource) -> NumberReading:
    """Split ``source`` into digits and read each through the one-digit preprocessing and ``predictor``."""
    readings = [DigitReading(piece, predictor.predict(piece.picture())) for piece in split_digits(source, predictor)]
    return NumberReading([r for r in readings if r.prediction.digit is not None])
