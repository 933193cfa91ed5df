"""Read a whole number: split the ink into digits, then read each one like a single digit.

The network reads one digit at a time (that is what MNIST taught it), so a number is cut into digits
first, by the same ink extraction as ``model.preprocess`` (stage 2):

1. **pieces** — connected components of the ink (8-connected); specks far smaller than the strokes
   around them are dropped.
2. **merge** — pieces that overlap horizontally belong to one digit: a 5's flag, a 4 or a 7 drawn in
   two strokes, the two halves of a broken 8. Digits side by side do not overlap (much) horizontally.
3. **split** — a piece the part checker does not take for one whole digit (without it: one wider than a
   digit) may be digits that touch: every way of cutting it is scored and the best wins. Each cut is a path
   from top to bottom through the least ink near a light column or a column of a regular grid, not a straight
   line: digits written close lean into each other (a 7's bar over the next digit, slanted 1s), and a straight
   cut would slice a neighbour. A part scores by how surely the classifier reads it, how surely the part
   checker (``model/part_check.py``, a small network that sees the part at the number's scale with its
   neighbours' ink beside it) takes it for one whole digit, and how usual its shape is for the digit read.
4. **read** — each digit's ink alone (the other digits blanked) goes through ``to_model_input`` and the
   predictor, left to right.

Digits pushed into each other's ink have no place to cut. So a number is read whole, without cutting, by the
sequence reader (``model/number_sequence.py``) wherever it fits that reader's strip; cutting reads the rest.

No Streamlit here, and TensorFlow only behind the predictor (passed in), the part checker and the sequence
reader (``read_number`` loads the shipped ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

from model.preprocess import (
    INK_THRESHOLD,
    MIN_CONTRAST,
    ImageSource,
    extract_ink,
    load_rgba,
    stretch_ink,
    to_model_input,
)

if TYPE_CHECKING:
    from model.inference import Prediction, Predictor
    from model.number_sequence import SequenceDigit
    from model.part_check import PartChecker

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
"""Without a part checker: wider than this × its height, a piece may be digits that touch (a 0 is ~0.8; a 2 or a
5 can reach ~1.3)."""
SURE_WHOLE = 0.9
"""A piece the part checker takes for one whole digit at least this surely is not cut."""
TOUCHING_ASPECT = 1.3
"""Without a model, wider than this × its height is taken as digits that touch."""
MIN_DIGIT_WIDTH = 0.15
"""No part narrower than this × the height is cut off (a 1 is about 0.1–0.2, with its pen width)."""
CUT_GRID = 0.15
"""Besides its light columns, a piece may be cut every this × the digits' height …"""
CUT_SPACING = 0.075
"""… but no two cuts start closer than this × the height."""
MAX_PART_WIDTH = 1.8
"""No part of a cut piece is wider than this × the height (the widest digits, a big 0 or 2, reach ~1.6)."""
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
WINDOW = (32, 64)
"""What the part checker (``model/part_check.py``) sees of a part, in pixels (rows, columns) …"""
WINDOW_SPAN = (1.5, 3.0)
"""… covering this many digit heights around the part's box centre (down, across)."""


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


def line_height(pieces: list[np.ndarray]) -> float:
    """The digits' height: the median of the pieces' heights (what every length in cutting is measured in)."""
    return float(np.median([_height(p) for p in pieces]))


class NumberReader:
    """Cuts one number's ink into digits, asking the predictor where geometry alone cannot decide."""

    def __init__(self, ink: np.ndarray, predictor: Predictor | None, checker: PartChecker | None = None):
        self.ink = ink
        self.predictor = predictor
        self.checker = checker

    def piece(self, mask: np.ndarray) -> DigitPiece:
        """The digit's ink: inside its mask, and the faint anti-aliased rim just outside it (the mask is cut at
        INK_THRESHOLD; without the rim strokes come out thinner and harder-edged than MNIST's)."""
        box = top, left, bottom, right = _box(mask)
        near = slice(max(0, top - RIM_PX), bottom + RIM_PX), slice(max(0, left - RIM_PX), right + RIM_PX)
        ink = np.zeros(self.ink.shape, np.float32)
        ink[near] = np.where(ndimage.binary_dilation(mask[near], iterations=RIM_PX), self.ink[near], 0)
        return DigitPiece(box, ink)

    def confidence(self, mask: np.ndarray) -> float:
        prediction = self.predictor.predict(self.piece(mask).picture())
        return prediction.confidence if prediction.digit is not None else 0.0

    def window(self, mask: np.ndarray, height: float) -> np.ndarray:
        """What the part checker sees of a part: WINDOW_SPAN digit heights around its box's centre, shrunk to
        WINDOW pixels (area average), channel 0 the part's ink (with its rim, as ``piece``), channel 1 the
        rest of the number's ink. Float32 (rows, columns, 2)."""
        top, left, bottom, right = _box(mask)
        span_y, span_x = WINDOW_SPAN[0] * height, WINDOW_SPAN[1] * height
        y0, x0 = int(round((top + bottom - span_y) / 2)), int(round((left + right - span_x) / 2))
        y1, x1 = y0 + max(1, int(round(span_y))), x0 + max(1, int(round(span_x)))
        sy0, sx0 = max(0, y0), max(0, x0)
        sy1, sx1 = min(self.ink.shape[0], y1), min(self.ink.shape[1], x1)
        ink = self.ink[sy0:sy1, sx0:sx1]
        own = np.where(ndimage.binary_dilation(mask[sy0:sy1, sx0:sx1], iterations=RIM_PX), ink, 0)
        window = np.zeros((2, y1 - y0, x1 - x0), np.float32)
        window[0, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = own
        window[1, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = ink - own
        return np.stack([np.asarray(Image.fromarray(channel, "F").resize(WINDOW[::-1], Image.Resampling.BOX))
                         for channel in window], axis=-1)

    def plausibilities(self, parts: list[np.ndarray], height: float) -> np.ndarray:
        """For each part: the log confidence of the part read alone, less what its shape costs for the digit read
        (a whole number squashed into one "digit" reads surely, but no digit is written five times as wide as
        tall, and no 1 crosses two strokes on most rows), plus the part checker's log probability that it is
        one whole digit. Batched: one forward pass of each network for all of them."""
        pres = [to_model_input(self.piece(mask).picture()) for mask in parts]
        scores = np.full(len(parts), np.log(1e-6))
        found = [k for k, pre in enumerate(pres) if not pre.is_empty]
        if not found:
            return scores
        probabilities = self.predictor.probabilities(np.concatenate([pres[k].model_input for k in found]))
        whole = (self.checker.log_whole(np.stack([self.window(parts[k], height) for k in found]))
                 if self.checker is not None else np.zeros(len(found)))
        for k, p, w in zip(found, probabilities, whole):
            digit = int(p.argmax())
            (top, bottom), (left, right) = _rows(parts[k]), _columns(parts[k])
            scores[k] = (np.log(max(float(p[digit]), 1e-6)) + w
                         - shape_penalty(digit, pres[k].image, right - left, bottom - top))
        return scores

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
        height = line_height(pieces)
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
        came_from = np.zeros(cost.shape, np.int64)
        options = np.full((3, cost.shape[1]), np.inf)  # reaching each column from c-1, c, c+1
        total, columns = cost[0].copy(), np.arange(cost.shape[1])
        for r in range(1, len(cost)):
            options[0, 1:], options[1], options[2, :-1] = total[:-1], total, total[1:]
            step = options.argmin(axis=0)
            came_from[r] = step - 1
            total = cost[r] + options[step, columns]
        path = np.full(piece.shape[0], column)
        c = int(total.argmin())
        for r in range(len(cost) - 1, -1, -1):
            path[top + r] = lo + c
            c += int(came_from[r, c])
        return path

    def cut_candidates(self, piece: np.ndarray, height: float) -> list[int]:
        """Columns where touching digits could be cut: the light columns (local minima of the ink's vertical
        projection), lightest first, then every CUT_GRID × height between them — where a 7's bar or a slanted
        stroke hides the gap from the projection, a path from a nearby column still finds it — none closer than
        CUT_SPACING × height to another or MIN_DIGIT_WIDTH × height to the piece's ends."""
        left, right = _columns(piece)
        profile = np.convolve((self.ink * piece).sum(axis=0)[left:right], np.ones(3) / 3, mode="same")
        edge, spacing = int(MIN_DIGIT_WIDTH * height), max(2, int(CUT_SPACING * height))
        minima = [c for c in range(edge, len(profile) - edge)
                  if profile[c] <= profile[c - 1] and profile[c] <= profile[c + 1]]
        grid = range(edge, len(profile) - edge, max(2, int(CUT_GRID * height)))
        chosen: list[int] = []
        for c in [*sorted(minima, key=lambda c: profile[c]), *grid]:
            if all(abs(c - k) >= spacing for k in chosen):
                chosen.append(c)
        return sorted(left + c for c in chosen)

    @staticmethod
    def aspect(piece: np.ndarray, height: float) -> float:
        """The piece's width / its height (at least 0.6 × the digits' height: a dash is no wide digit)."""
        (top, bottom), (left, right) = _rows(piece), _columns(piece)
        return (right - left) / max(bottom - top, 0.6 * height)

    def may_touch(self, pieces: list[np.ndarray], height: float) -> list[bool]:
        """Which pieces may be digits that touch, and so are worth cutting: with the part checker, those it does
        not take for one whole digit (SURE_WHOLE) — two slanted 8s or a 1 touching a 9 can be narrower than
        one wide 0; without it, those wider than MAYBE_TOUCHING × their height."""
        if self.checker is None or self.predictor is None:
            return [self.aspect(piece, height) > MAYBE_TOUCHING for piece in pieces]
        whole = np.exp(self.checker.log_whole(np.stack([self.window(piece, height) for piece in pieces])))
        return list(whole < SURE_WHOLE)

    def split(self, piece: np.ndarray, height: float) -> list[np.ndarray]:
        """Cut a piece that may be digits that touch (``may_touch``) where its parts score better than the whole:
        the best of all ways to cut it into ``candidate_parts`` (dynamic programming over the cuts: each part's
        ``plausibilities``, a penalty per cut). Without a model: into equal parts by width, when wider than
        TOUCHING_ASPECT × its height."""
        aspect = self.aspect(piece, height)
        if self.predictor is None:
            if aspect <= TOUCHING_ASPECT:
                return [piece]
            left, right = _columns(piece)
            parts = round(aspect / 0.7)
            bounds = [left + round((right - left) * k / parts) for k in range(parts + 1)]
            straight = [np.full(piece.shape[0], b) for b in bounds]
            return [self.between(piece, a, b) for a, b in zip(straight[:-1], straight[1:])]
        parts = self.candidate_parts(piece, height)
        spans = list(parts)
        ends = 1 + max(j for _, j in spans)
        scores = dict(zip(spans, self.plausibilities([parts[span] for span in spans], height)))
        best: list[tuple[float, list[int]]] = [(0.0, [])] + [(-np.inf, [])] * (ends - 1)
        for i, j in spans:  # in order of j: every best[i] is final before it is used
            score = best[i][0] + scores[i, j] - (CUT_PENALTY if i else 0.0)
            if score > best[j][0]:
                best[j] = (score, [*best[i][1], i])
        starts = best[-1][1] + [ends - 1]
        return [parts[a, b] for a, b in zip(starts[:-1], starts[1:])]

    def candidate_parts(self, piece: np.ndarray, height: float) -> dict[tuple[int, int], np.ndarray]:
        """Every part the piece may be cut into: its ink between bounds i < j — the piece's left edge, the cut
        paths at ``cut_candidates``, its right edge — no wider than MAX_PART_WIDTH × height (but always the
        whole piece), holding some ink; by (i, j), in order of j."""
        full = piece.shape[0]
        left, right = _columns(piece)
        bounds = [np.full(full, left), *(self.cut_path(piece, c, height) for c in self.cut_candidates(piece, height)),
                  np.full(full, right)]
        starts, last = [int(b.min()) for b in bounds], len(bounds) - 1
        parts = {}
        for j in range(1, len(bounds)):
            for i in range(j):
                if (i, j) == (0, last) or starts[j] - starts[i] <= MAX_PART_WIDTH * height:
                    part = self.between(piece, bounds[i], bounds[j])
                    if part.any():
                        parts[i, j] = part
        return parts

    def digits(self) -> list[DigitPiece]:
        pieces = self.pieces()
        if not pieces:
            return []
        height = line_height(pieces)
        cut = self.may_touch(pieces, height)
        masks = [part for piece, touching in zip(pieces, cut) for part in (self.split(piece, height) if touching
                                                                            else [piece])]
        return [self.piece(m) for m in sorted(masks, key=lambda m: _columns(m)[0])]


def number_ink(source: ImageSource) -> np.ndarray | None:
    raw_ink, _, peak = extract_ink(load_rgba(source))
    return None if peak < MIN_CONTRAST else stretch_ink(raw_ink, peak)


def split_digits(source: ImageSource, predictor: Predictor | None = None,
                 checker: PartChecker | None = None) -> list[DigitPiece]:
    """The digits of a number, left to right; empty when there is no ink. With a predictor, doubtful joins
    and cuts are decided by how surely it reads the alternatives (and, with a part checker, how surely each
    part is one whole digit). Raises ImageError like ``to_model_input`` for inputs that are not usable images."""
    ink = number_ink(source)
    return [] if ink is None else NumberReader(ink, predictor, checker).digits()


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
    """Read ``source`` as a number: whole, by the shipped sequence reader (``model/number_sequence.py``), where the
    number fits its strip at the height it learned digits at (up to about 9 digits); otherwise, or when the
    reader's file is missing or damaged, cut into digits (``read_by_cutting``). Raises ImageError like
    ``to_model_input`` for inputs that are not usable images."""
    from model.number_sequence import shipped_sequence_reader, to_strip  # TensorFlow: the predictor loaded it

    ink = number_ink(source)
    if ink is None:
        return NumberReading([])
    reader, strip = shipped_sequence_reader(), to_strip(ink)
    whole = None if reader is None or strip is None or not strip.fits else \
        sequence_reading(ink, reader.read_strip(strip))
    return whole or read_by_cutting(predictor, ink)


def read_by_cutting(predictor: Predictor, ink: np.ndarray) -> NumberReading:
    """A number's ink (``number_ink``) cut into digits (cuts weighed by ``predictor`` and the shipped part
    checker), each read through the one-digit preprocessing and ``predictor``."""
    from model.part_check import shipped_part_checker  # TensorFlow: the predictor has loaded it already

    pieces = NumberReader(ink, predictor, shipped_part_checker()).digits()
    readings = [DigitReading(piece, predictor.predict(piece.picture())) for piece in pieces]
    return NumberReading([r for r in readings if r.prediction.digit is not None])


def sequence_reading(ink: np.ndarray, digits: list[SequenceDigit]) -> NumberReading | None:
    """The sequence reader's digits as a NumberReading: each digit's piece is the ink in its columns (boxed to the
    rows inked there), its prediction the reader's probabilities, with the piece preprocessed for display. None
    when a digit's columns hold no ink to show (the reader saw a digit where there is none)."""
    from model.inference import Prediction  # TensorFlow: the reader has loaded it already

    readings = []
    for digit in digits:
        start, end = digit.columns
        piece = np.zeros_like(ink)
        piece[:, start:end] = ink[:, start:end]
        inked = piece > INK_THRESHOLD
        if not inked.any():
            return None
        shown = DigitPiece(_box(inked), piece)
        preprocessed = to_model_input(shown.picture())
        if preprocessed.is_empty:
            return None
        readings.append(DigitReading(shown, Prediction(digit.digit, digit.confidence,
                                                       digit.probabilities.astype(np.float32), preprocessed)))
    return NumberReading(readings) if readings else None
