"""Whole numbers read right: our reader (``model.number.read_number``: the sequence reader, which reads a number
whole without cutting it, where the number fits its strip) against cutting the number into digits (cuts weighed
by the classifier, the part checker and each digit's usual shape: the reader before the sequence reader, and
its fallback), the same cutting without the part checker, and cutting by geometry alone (connected components,
overlap and width rules), on the same synthetic numbers.

Numbers of 2–5 digits written in two hands the model never trained on — real MNIST *test* digits and a
pen-stroke alphabet (random pen width and slant) — each digit a little bigger or smaller and higher or
lower, spaced as the rows say: clear gaps; close (boxes up to 6 % of the height into each other, or apart);
touching (every digit's ink meets its neighbour's); overlapping (each pushed 3–12 % of the height into its
neighbour's ink); touching with sizes from 0.6 to 1.4 × each other; touching numbers of 1s and 7s only;
touching and written up- or downhill. A number counts as read only if every digit is right and none is
missing or extra.
Run: ``python -m bench.number_reading [--numbers 200] [--model PATH] [--data DIR] [--rows NAME,…]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from harness.synthetic_drawings import in_style, stroke_digit
from model.inference import Predictor
from model.number import number_ink, read_by_cutting, read_number, split_digits
from model.store import SHIPPED_MODEL
from training.composed_numbers import layout_number
from training.data import load_mnist


@dataclass(frozen=True)
class Spacing:
    """How a row's numbers are written (``layout_number``'s knobs)."""

    gap: tuple[float, float]
    from_ink: bool = False
    sizes: tuple[float, float] = (0.85, 1.15)
    slope: tuple[float, float] = (0.0, 0.0)
    digits: tuple[int, ...] = tuple(range(10))


ROWS = {
    "apart": Spacing((0.05, 0.5)),
    "close": Spacing((-0.06, 0.2)),
    "touching": Spacing((0.0, 0.0), from_ink=True),
    "overlapping": Spacing((-0.12, -0.03), from_ink=True),
    "sizes": Spacing((-0.03, 0.0), from_ink=True, sizes=(0.6, 1.4)),
    "1s and 7s": Spacing((-0.03, 0.0), from_ink=True, digits=(1, 7)),
    "slanting": Spacing((-0.03, 0.0), from_ink=True, slope=(-0.25, 0.25)),
}


def numbers(hand: str, spacing: Spacing, count: int, data, rng: np.random.Generator):
    """Yield (the number as a string, its picture)."""
    for _ in range(count):
        labels = rng.choice(spacing.digits, rng.integers(2, 6))
        if hand == "mnist":
            inks = [data.x_test[rng.choice(np.flatnonzero(data.y_test == label))] / 255.0 for label in labels]
        else:
            inks = [stroke_digit(int(label), size="large", pen=rng.uniform(8, 26), slant=rng.uniform(-0.3, 0.3))
                    [..., 3] / 255.0 for label in labels]
        style = str(rng.choice(["paper", "chalk"]))
        number = layout_number(inks, rng, gap=spacing.gap, sizes=spacing.sizes,
                               slope=float(rng.uniform(*spacing.slope)), from_ink=spacing.from_ink)
        yield "".join(map(str, labels)), in_style(number.ink, style)


def read_pieces(predictor: Predictor, pieces: list) -> str:
    readings = [predictor.predict(piece.picture()).digit for piece in pieces]
    return "".join(str(d) for d in readings if d is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=200, help="numbers per hand and spacing")
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--data", help="MNIST folder (default: the usual search, else the bundled sample)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"which rows (default all: {', '.join(ROWS)})")
    args = parser.parse_args()
    predictor, data = Predictor.load(args.model), load_mnist(args.data)
    print(f"{args.numbers} numbers of 2–5 digits per row; MNIST test digits from {data.source}")
    columns = ("ours", "cutting", "no checker", "geometry only", "ours ms/number", "cutting ms")
    print(f"{'hand':<8} {'spacing':<12}" + "".join(f"{c:>15}" for c in columns))
    for hand in ("mnist", "strokes"):
        for name in args.rows.split(","):
            rng = np.random.default_rng(0)
            right, seconds = np.zeros(4, int), np.zeros(2)
            for truth, picture in numbers(hand, ROWS[name], args.numbers, data, rng):
                readings = []
                for k, read in enumerate((read_number, lambda p, picture: read_by_cutting(p, number_ink(picture)))):
                    start = time.perf_counter()
                    readings.append(read(predictor, picture).number)
                    seconds[k] += time.perf_counter() - start
                readings += [read_pieces(predictor, split_digits(picture, predictor)),
                             read_pieces(predictor, split_digits(picture))]
                right += [reading == truth for reading in readings]
            print(f"{hand:<8} {name:<12}" + "".join(f"{f'{r}/{args.numbers}':>15}" for r in right)
                  + "".join(f"{1000 * s / args.numbers:>15.1f}" for s in seconds), flush=True)

if __name__ == "__main__":
    main()
