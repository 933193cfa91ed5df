"""Accuracy on canvas drawings by placement, size and ink style: ours vs the project we replace.

Drawings never seen in training: a pen-stroke alphabet (10 digits × 3 slants × 2 pens) and real MNIST
*test* digits enlarged onto a 280×280 canvas, each at 9 places (centre, edges, corners pressed against
the border) × 3 sizes × 3 ink styles. Ours goes through ``Predictor.predict`` — the same path as
``python -m model.predict``. Run: ``python -m bench.placement [--mnist N] [--model PATH]``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from harness.synthetic_drawings import PLACES, SIZES, STYLES, mnist_digit, stroke_digit
from model.inference import Predictor
from model.store import SHIPPED_MODEL
from training.data import load_mnist


def drawings(mnist_count: int, data):
    """Yield (label, place, size, style, canvas)."""
    for place in PLACES:
        for size in SIZES:
            for style in STYLES:
                for digit in range(10):
                    for slant in (-0.15, 0.0, 0.25):
                        for pen in (12, 22):
                            drawing = stroke_digit(digit, place, size, style, pen=pen, slant=slant)
                            yield digit, place, size, style, drawing
                for i in range(mnist_count):
                    yield int(data.y_test[i]), place, size, style, mnist_digit(data.x_test[i], place, size, style)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=int, default=60, help="MNIST test digits per placement")
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--data", help="MNIST folder (default: the usual search, else the bundled sample)")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    try:
        from bench.legacy_baseline import load_legacy_model
        from model.legacy import legacy_input
        seed = Predictor(load_legacy_model(), name="seed")
    except (OSError, ImportError):
        seed = None
    data = load_mnist(args.data)
    hits = defaultdict(lambda: [0, 0, 0])  # key -> [ours right, seed right, total]
    for label, place, size, style, canvas in drawings(args.mnist, data):
        ours = predictor.predict(canvas).digit == label
        theirs = seed is not None and int(np.argmax(seed.probabilities(legacy_input(canvas))[0])) == label
        for key in ("all", f"place {place}", f"size {size}", f"style {style}"):
            h = hits[key]
            h[0] += ours
            h[1] += theirs
            h[2] += 1
    print(f"{'drawings':<20} {'n':>6} {'ours':>8} {'seed':>8}")
    for key, (ours, theirs, n) in hits.items():
        print(f"{key:<20} {n:>6} {ours / n:>8.2%} {theirs / n if seed else float('nan'):>8.2%}")
    centre = hits["place centre"][0] / hits["place centre"][2]
    worst = min((h[0] / h[2], k) for k, h in hits.items() if k.startswith("place"))
    print(f"overall {hits['all'][0] / hits['all'][2]:.2%} (seed {hits['all'][1] / hits['all'][2]:.2%}); "
          f"centre {centre:.2%}, worst placement {worst[1][6:]} {worst[0]:.2%}")


if __name__ == "__main__":
    main()
