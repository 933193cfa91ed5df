"""How hard each model is to fool: the smallest budget at which a targeted attack makes it read another digit.

For the first N MNIST test digits that a model reads correctly, each pushed towards the next digit
((label + 1) mod 10), ``model.attack``'s bisection finds about the smallest L∞ and L2 budget that reaches it.
Prints the median per model and norm (larger: harder to fool) and how many were not reached at all.
Run: ``python -m bench.fooling [--models ID|PATH ...] [--count N] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from model.attack import Attacker, Norm
from model.inference import Predictor
from model.preprocess import images_to_input
from model.store import SHIPPED_ID, ModelStore
from training.data import load_mnist
from training.evaluate import model_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[SHIPPED_ID], help="store ids or .keras paths")
    parser.add_argument("--count", type=int, default=100, help="test digits per model")
    parser.add_argument("--data", help="MNIST folder (default: the usual search, else the bundled sample)")
    args = parser.parse_args()
    data, store = load_mnist(args.data), ModelStore()
    inputs, labels = images_to_input(data.x_test[:args.count]), data.y_test[:args.count]
    print(f"{args.count} test digits ({data.source}), target = label + 1")
    for name in args.models:
        predictor = Predictor.load(model_file(name, store))
        right = predictor.classify(inputs) == labels
        attacker, x, targets = Attacker(predictor.model), inputs[right, :, :, 0], (labels[right] + 1) % 10
        cells = []
        for norm in Norm:
            start = time.perf_counter()
            found = attacker.smallest_budgets(x, targets, norm)
            budgets = np.array([b for b in found if b is not None])
            cells.append(f"{norm.label} median {np.median(budgets):.3f} (not within {norm.largest:g}: "
                         f"{len(found) - len(budgets)}; {time.perf_counter() - start:.0f} s)")
        print(f"{name}: {int(right.sum())} read right; " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
