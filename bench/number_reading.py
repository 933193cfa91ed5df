"""Whole numbers read right: our reader (``model.number.read_number``, cuts checked by the model) against
cutting by geometry alone (connected components, overlap and width rules), on the same synthetic numbers.

Numbers of 2–5 digits written in two hands the model never trained on — real MNIST *test* digits and a
pen-stroke alphabet (random pen width and slant) — each digit a little bigger or smaller and higher or
lower, with uneven gaps; a second set lets neighbouring digits touch or overlap a little. A number counts
as read only if every digit is right and none is missing or extra.
Run: ``python -m bench.number_reading [--numbers 200] [--model PATH] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness.synthetic_drawings import compose_number, stroke_digit
from model.inference import Predictor
from model.number import read_number, split_digits
from model.store import SHIPPED_MODEL
from training.data import load_mnist

GAPS = {"apart": (0.05, 0.5), "touching": (-0.06, 0.2)}


def numbers(hand: str, gaps: tuple[float, float], count: int, data, rng: np.random.Generator):
    """Yield (the number as a string, its picture)."""
    for _ in range(count):
        labels = rng.integers(0, 10, rng.integers(2, 6))
        if hand == "mnist":
            inks = [data.x_test[rng.choice(np.flatnonzero(data.y_test == label))] / 255.0 for label in labels]
        else:
            inks = [stroke_digit(int(label), size="large", pen=rng.uniform(8, 26), slant=rng.uniform(-0.3, 0.3))
                    [..., 3] / 255.0 for label in labels]
        picture, _ = compose_number(inks, rng, gap=gaps, style=str(rng.choice(["paper", "chalk"])))
        yield "".join(map(str, labels)), picture


def geometry_only(predictor: Predictor, picture: np.ndarray) -> str:
    readings = [predictor.predict(piece.picture()).digit for piece in split_digits(picture)]
    return "".join(str(d) for d in readings if d is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=200, help="numbers per hand and spacing")
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--data", help="MNIST folder (default: the usual search, else the bundled sample)")
    args = parser.parse_args()
    predictor, data = Predictor.load(args.model), load_mnist(args.data)
    print(f"{args.numbers} numbers of 2–5 digits per row; MNIST test digits from {data.source}")
    print(f"{'hand':<8} {'spacing':<9} {'ours':>9} {'geometry only':>14} {'ours ms/number':>15}")
    for hand in ("mnist", "strokes"):
        for spacing, gaps in GAPS.items():
            rng = np.random.default_rng(0)
            ours = alone = 0
            seconds = 0.0
            for truth, picture in numbers(hand, gaps, args.numbers, data, rng):
                start = time.perf_counter()
                ours += read_number(predictor, picture).number == truth
                seconds += time.perf_counter() - start
                alone += geometry_only(predictor, picture) == truth
            print(f"{hand:<8} {spacing:<9} {ours:>5}/{args.numbers} {alone:>10}/{args.numbers} "
                  f"{1000 * seconds / args.numbers:>15.1f}")


if __name__ == "__main__":
    main()
