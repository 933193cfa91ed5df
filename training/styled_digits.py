"""Digits in the ways people write them that MNIST has few of, drawn as canvas strokes.

MNIST's writers were American census staff and students. People drawing on the canvas also write 1s with
a flag and a foot, crossed 7s, open 4s, 9s with a straight stem, 2s with a loop; slanted either way, with
thin or fat pens, small in a corner, with a mouse's wobble. This module draws such digits: each digit has
several skeletons (``GLYPHS``, pen strokes in a unit box), drawn with a round pen like the canvas's, with
random jitter of every point, slant, width, wobble, pen, size and place, then put through
``model.preprocess.to_model_input`` — the same path a drawing takes — to the 28×28 input the network sees.

Two users: ``python -m training.styled_digits`` writes a training set (an .npz that ``training.train
--include-drawings`` mixes into MNIST, as it mixes users' labelled drawings: that is how the shipped model
was trained), and ``bench/styles.py`` draws its own, unseen ones from other seeds to score the styles.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from model.preprocess import to_model_input
from training.drawings import save_drawings

CANVAS = 280
"""The Draw page's canvas, in pixels."""
SUPERSAMPLE = 2
"""Draw this much bigger, then shrink: anti-aliased edges like the browser's canvas."""

ONE_WIDTH = 0.7
"""A 1's box is at most this × its height wide, however wide the hand: its flag stays a flag, not a 7's bar."""

Stroke = tuple[tuple[tuple[float, float], ...], bool]
"""One pen stroke: its points in a unit box (x right, y down) and whether it is a curve (smoothed) or a
polyline with corners (a 4, a 7's bar)."""


def _s(*points: tuple[float, float], curve: bool = True) -> Stroke:
    return tuple(points), curve


GLYPHS: dict[int, dict[str, tuple[Stroke, ...]]] = {
    0: {"oval": (_s((0.5, 0), (0.15, 0.13), (0.04, 0.5), (0.17, 0.88), (0.5, 1), (0.83, 0.88), (0.96, 0.5),
                    (0.85, 0.13), (0.5, 0), (0.35, 0.05)),),
        "slashed": (_s((0.5, 0), (0.15, 0.13), (0.04, 0.5), (0.17, 0.88), (0.5, 1), (0.83, 0.88), (0.96, 0.5),
                       (0.85, 0.13), (0.5, 0), (0.35, 0.05)), _s((0.9, 0.05), (0.1, 0.95), curve=False)),
        "open top": (_s((0.6, 0.03), (0.3, 0.03), (0.06, 0.45), (0.2, 0.9), (0.55, 1), (0.88, 0.8), (0.92, 0.35),
                        (0.75, 0.08)),)},
    1: {"stick": (_s((0.5, 0), (0.5, 1), curve=False),),
        "flag": (_s((0.15, 0.28), (0.6, 0), (0.6, 1), curve=False),),
        "flag and foot": (_s((0.2, 0.25), (0.55, 0), (0.55, 1), curve=False), _s((0.2, 1), (0.9, 1), curve=False)),
        "long flag": (_s((0.05, 0.45), (0.65, 0), (0.62, 1), curve=False),)},
    2: {"plain": (_s((0.1, 0.25), (0.3, 0.03), (0.65, 0), (0.88, 0.2), (0.8, 0.45), (0.1, 1.0), curve=True),
                  _s((0.1, 1.0), (0.95, 1.0), curve=False)),
        "loop": (_s((0.1, 0.25), (0.35, 0.02), (0.7, 0.02), (0.85, 0.22), (0.72, 0.5), (0.3, 0.82), (0.12, 0.97),
                    (0.32, 0.98), (0.38, 0.84), (0.55, 0.95), (0.95, 1.0)),)},
    3: {"round": (_s((0.1, 0.1), (0.45, 0), (0.8, 0.12), (0.82, 0.35), (0.45, 0.48), (0.85, 0.62), (0.85, 0.88),
                     (0.5, 1), (0.1, 0.9)),),
        "flat top": (_s((0.1, 0), (0.85, 0), (0.4, 0.42), curve=False),
                     _s((0.4, 0.42), (0.8, 0.52), (0.9, 0.78), (0.6, 1), (0.1, 0.9)))},
    4: {"closed": (_s((0.65, 1), (0.65, 0), (0.05, 0.7), (0.95, 0.7), curve=False),),
        "open": (_s((0.15, 0), (0.05, 0.6), (0.95, 0.6), curve=False), _s((0.7, 0.12), (0.7, 1), curve=False))},
    5: {"lifted bar": (_s((0.22, 0), (0.16, 0.45), curve=False),
                       _s((0.16, 0.45), (0.55, 0.38), (0.85, 0.6), (0.8, 0.9), (0.45, 1), (0.1, 0.88)),
                       _s((0.22, 0.01), (0.88, 0), curve=False)),
        "one stroke": (_s((0.88, 0), (0.22, 0), (0.16, 0.45), curve=False),
                       _s((0.16, 0.45), (0.55, 0.38), (0.85, 0.6), (0.8, 0.9), (0.45, 1), (0.1, 0.88)))},
    6: {"curved": (_s((0.75, 0), (0.35, 0.2), (0.12, 0.6), (0.2, 0.92), (0.5, 1), (0.82, 0.85), (0.8, 0.58),
                      (0.5, 0.48), (0.18, 0.62)),),
        "straight back": (_s((0.65, 0), (0.2, 0.6), curve=False),
                          _s((0.2, 0.6), (0.22, 0.9), (0.5, 1), (0.82, 0.85), (0.78, 0.6), (0.45, 0.52), (0.2, 0.62)))},
    7: {"plain": (_s((0.05, 0), (0.95, 0), (0.4, 1), curve=False),),
        "crossed": (_s((0.05, 0), (0.95, 0), (0.42, 1), curve=False), _s((0.3, 0.52), (0.88, 0.48), curve=False)),
        "serif": (_s((0.05, 0.18), (0.05, 0), (0.95, 0), (0.45, 1), curve=False),),
        "curved stem": (_s((0.05, 0.02), (0.95, 0), curve=False), _s((0.95, 0), (0.62, 0.42), (0.45, 1)))},
    8: {"figure": (_s((0.5, 0.48), (0.18, 0.32), (0.22, 0.07), (0.5, 0), (0.78, 0.07), (0.82, 0.32), (0.5, 0.48),
                      (0.15, 0.7), (0.2, 0.93), (0.5, 1), (0.8, 0.93), (0.85, 0.7), (0.5, 0.48)),),
        "two loops": (_s((0.5, 0), (0.25, 0.1), (0.25, 0.35), (0.5, 0.45), (0.75, 0.35), (0.75, 0.1), (0.5, 0)),
                      _s((0.5, 0.45), (0.15, 0.6), (0.15, 0.9), (0.5, 1), (0.85, 0.9), (0.85, 0.6), (0.5, 0.45)))},
    9: {"curved stem": (_s((0.85, 0.3), (0.6, 0.48), (0.25, 0.45), (0.12, 0.22), (0.35, 0.02), (0.7, 0.02),
                           (0.85, 0.3), (0.82, 0.65), (0.7, 1)),),
        "straight stem": (_s((0.85, 0.25), (0.5, 0.45), (0.15, 0.3), (0.3, 0.02), (0.7, 0.02), (0.85, 0.2)),
                          _s((0.85, 0.05), (0.85, 1), curve=False)),
        "hooked stem": (_s((0.85, 0.3), (0.6, 0.48), (0.25, 0.45), (0.12, 0.22), (0.35, 0.02), (0.7, 0.02),
                           (0.85, 0.3), (0.85, 0.85), (0.65, 1), (0.4, 0.95)),)},
}
"""Each digit's skeletons, by name: the first is MNIST's common form, the others the variants people write."""

EUROPEAN = {1: "flag and foot", 4: "open", 7: "crossed", 9: "straight stem"}
"""A continental hand: what a European school teaches (the other digits in their first form)."""


@dataclass(frozen=True)
class Pen:
    """How one drawing is written: every knob a writer (and the canvas) varies."""

    slant: float = 0.0
    """Shear: x moves by ``slant`` × (how far above the middle); positive leans right."""
    width: float = 0.6
    """Width of the digit's box / its height (a 1 is drawn narrower by its skeleton, not by this)."""
    pen: float = 0.12
    """Pen diameter / the digit's height."""
    wobble: float = 0.0
    """A mouse's tremor: smooth sideways noise of this amplitude / the height."""
    jitter: float = 0.03
    """Every skeleton point moved by up to this / the box."""
    drift: float = 0.0
    """Each stroke of a digit in several strokes moved by up to this / the box, as a pen lifted never lands quite
    where it left (a 4's strokes crossing higher, a 5's flag apart from its body, a 7's bar off its stem)."""
    height: float = 0.55
    """The digit's height / the canvas."""
    x: float = 0.5
    """Where the box sits in the free room across (0 left edge, 1 right edge) …"""
    y: float = 0.5
    """… and down."""
    rotation: float = 0.0
    """Degrees, counter-clockwise."""


def _chaikin(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Corner cutting: a smooth curve through (near) the points, ends kept."""
    for _ in range(rounds):
        a, b = points[:-1], points[1:]
        inner = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], axis=1).reshape(-1, 2)
        points = np.concatenate([points[:1], inner, points[-1:]])
    return points


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` along the polyline (corners kept), for wobble to act along the stroke."""
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        out.extend(a + (b - a) * k / n for k in range(1, n + 1))
    return np.array(out)


def _wobble(points: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random offsets along the stroke (a moving average of noise), as a hand on a mouse makes."""
    if amplitude <= 0 or len(points) < 3:
        return points
    noise = rng.normal(size=(len(points) + 8, 2))
    smooth = np.stack([np.convolve(noise[:, k], np.ones(9) / 3, mode="valid") for k in range(2)], axis=1)
    return points + amplitude * smooth[:len(points)]


def draw(digit: int, glyph: str, pen: Pen, rng: np.random.Generator, canvas: int = CANVAS) -> np.ndarray:
    """``digit`` written in skeleton ``glyph`` with ``pen``: the canvas's ink (H, W), float32 in [0, 1].

    The strokes are shaped first (jitter, smoothing, wobble, slant, rotation), then shrunk if they would not
    fit and placed at ``pen.x``, ``pen.y`` in the room left: a tall slanted digit never runs off the canvas.
    """
    height = pen.height * canvas
    width = min(pen.width, ONE_WIDTH if digit == 1 else np.inf) * height
    angle = np.deg2rad(pen.rotation)
    rot = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    strokes = []
    several = len(GLYPHS[digit][glyph]) > 1
    for points, curve in GLYPHS[digit][glyph]:
        unit = np.array(points, float) + rng.uniform(-pen.jitter, pen.jitter, (len(points), 2))
        if several:
            unit += rng.uniform(-pen.drift, pen.drift, 2)
        if curve:
            unit = _chaikin(unit)
        unit = _wobble(_densify(unit, 0.03), pen.wobble, rng)
        xy = np.stack([(unit[:, 0] - 0.5 + pen.slant * (0.5 - unit[:, 1])) * width, (unit[:, 1] - 0.5) * height], 1)
        strokes.append(xy @ rot.T)
    radius = pen.pen * height / 2
    every = np.concatenate(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    fit = min(1.0, float(np.min((canvas - 2 * (radius + 2)) / np.maximum(high - low, 1e-6))))
    room = np.maximum(canvas - 2 * (radius + 2) - fit * (high - low), 0)
    origin = radius + 2 + np.array([pen.x, pen.y]) * room - fit * low
    scale = SUPERSAMPLE
    img = Image.new("L", (canvas * scale, canvas * scale), 0)
    paint = ImageDraw.Draw(img)
    r = radius * scale
    for xy in strokes:
        pts = [tuple(p) for p in (origin + fit * xy) * scale]
        paint.line(pts, fill=255, width=max(1, int(round(2 * r))), joint="curve")
        for x, y in (pts[0], pts[-1]):
            paint.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img.resize((canvas, canvas), Image.Resampling.BOX), np.float32) / 255.0


def as_canvas(ink: np.ndarray) -> np.ndarray:
    """Ink coverage → the canvas's RGBA picture (dark ink whose alpha is the coverage)."""
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., :3] = 20
    rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
    return rgba


def random_pen(rng: np.random.Generator) -> Pen:
    """A writer drawn at random: any slant, shape, pen, tremor, size and place the Draw page sees."""
    return Pen(slant=float(rng.choice([0.0, rng.uniform(-0.35, 0.5)], p=[0.3, 0.7])),
               width=float(rng.uniform(0.45, 0.85)),
               pen=float(np.exp(rng.uniform(np.log(0.035), np.log(0.25)))),
               wobble=float(rng.choice([0.0, rng.uniform(0.004, 0.02)], p=[0.5, 0.5])),
               jitter=float(rng.uniform(0.0, 0.05)),
               drift=float(rng.uniform(0.0, 0.06)),
               height=float(rng.uniform(0.15, 0.9)),
               x=float(rng.uniform(0, 1)), y=float(rng.uniform(0, 1)),
               rotation=float(rng.uniform(-10, 10)))


def training_set(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random styled digits as (28×28 uint8 model inputs, labels): every digit equally often, each
    of its skeletons equally often, each with a random pen."""
    rng = np.random.default_rng(seed)
    images, labels = np.zeros((count, 28, 28), np.uint8), np.zeros(count, np.uint8)
    for i in range(count):
        digit = i % 10
        glyph = str(rng.choice(list(GLYPHS[digit])))
        model_input = to_model_input(as_canvas(draw(digit, glyph, random_pen(rng), rng))).image
        images[i], labels[i] = np.round(model_input * 255).astype(np.uint8), digit
    return images, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.styled_digits", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30_000, help="digits to draw (default 30,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True, help="the .npz to write (x_train, y_train: MNIST layout)")
    args = parser.parse_args(argv)
    save_drawings(args.output, *training_set(args.count, args.seed))
    print(f"{args.count:,} styled digits (seed {args.seed}) → {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
