"""Real handwriting from another source: UCI's handwritten digits read by the shipped model, per digit.

UCI's forms (``harness.uci_digits``: 8×8 block counts of 43 writers MNIST never had), from UCI's own files or
scikit-learn's copy of the test part — the default where scikit-learn is installed, as in the project's
development requirements. Nothing here was trained on them.

Each digit is read as the 8×8 array it is, through ``to_model_input`` (enlarged to 28 px first, then fitted and
centred as every picture is). In the same run, the alternative: the same model fed the picture resized to 28×28
as it comes (``model.legacy``, what the replaced service did with any picture).

For scale, ``--yardstick optdigits.tra`` also trains readers on that file's writers (UCI's 30 training writers:
1-nearest-neighbour, an RBF support-vector machine, a small CNN on the 8×8 counts) and reads ``--file``'s digits
with them: how well a reader that has seen these forms does on the other writers.

Run: ``python -m bench.uci_digits [--file PATH] [--model PATH] [--against PATH] [--yardstick PATH] [--card]``
(``--card``: write ``--model``'s figures into its card, the .json beside it, as the shipped model's were).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from harness.uci_digits import read_uci, readers_of_these_writers, scikit_learn_copy
from model.inference import Predictor
from model.legacy import legacy_input
from model.preprocess import to_model_input
from model.store import SHIPPED_MODEL
from training.runs import record_benchmark


def per_digit(truth: np.ndarray, predicted: np.ndarray) -> str:
    return " ".join(f"{d}:{100 * (predicted[truth == d] == d).mean():.1f}" for d in range(10))


def confusions(truth: np.ndarray, predicted: np.ndarray, top: int = 6) -> str:
    """The most frequent misreadings, e.g. "9→3 ×8"."""
    pairs, counts = np.unique(np.stack([truth, predicted])[:, truth != predicted], axis=1, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    return ", ".join(f"{pairs[0, i]}→{pairs[1, i]} ×{counts[i]}" for i in order) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="UCI optdigits file (default: scikit-learn's copy, if installed)")
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="the model to score (default: the shipped one)")
    parser.add_argument("--against", help="a second model read the same way")
    parser.add_argument("--yardstick", type=Path, metavar="TRAIN_FILE", help="also read the digits with readers "
                        "trained on this UCI file's writers (optdigits.tra), for scale")
    parser.add_argument("--card", action="store_true", help="also write --model's figures into its card (the "
                        "JSON beside it) under \"uci_digits: FILE\"")
    args = parser.parse_args()
    path = args.file or scikit_learn_copy()
    if path is None:
        print("No UCI digits here: install scikit-learn (its copy is read) or pass --file optdigits.tes "
              "(archive.ics.uci.edu, dataset 80).")
        sys.exit(0)
    counts, truth = read_uci(path)
    ours = np.stack([to_model_input(c).model_input[0] for c in counts])
    squashed = np.concatenate([legacy_input(c) for c in counts])  # (arrays of counts load on their own scale)
    rows = []
    for model_path in [args.model] + ([args.against] if args.against else []):
        model = Predictor.load(model_path)
        name = Path(model_path).name if not rows or Path(model_path).name != Path(args.model).name else model_path
        rows.append((f"{name}, read as every picture is", model.classify(ours)))
        if len(rows) == 1:
            rows.append(("the same model, the picture resized to 28×28 as it comes", model.classify(squashed)))
    print(f"{len(truth):,} digits of UCI's writers from {path}")
    for name, predicted in rows:
        right = predicted == truth
        print(f"{name:<60} {100 * right.mean():6.2f} % ({right.sum():,} of {len(truth):,})")
        print(f"    per digit {per_digit(truth, predicted)}")
        print(f"    misread most {confusions(truth, predicted)}")
    if args.yardstick is not None:
        train_counts, train_truth = read_uci(args.yardstick)
        print(f"for scale, readers trained on the {len(train_truth):,} digits of {args.yardstick}:")
        for name, reader in readers_of_these_writers(train_counts, train_truth).items():
            predicted = reader(counts)
            right = predicted == truth
            print(f"  {name:<58} {100 * right.mean():6.2f} % ({right.sum():,} of {len(truth):,})")
            print(f"      per digit {per_digit(truth, predicted)}")
    if args.card:
        card, predicted = Path(args.model).with_suffix(".json"), rows[0][1]
        record_benchmark(card, f"uci_digits: {path.name}", {
            "command": "python -m bench.uci_digits " + shlex.join(sys.argv[1:]),
            "right": int((predicted == truth).sum()), "digits": len(truth),
            "per_digit": [round(float((predicted[truth == d] == d).mean()), 4) for d in range(10)]})
        print(f"written into {card}")


if __name__ == "__main__":
    main()
