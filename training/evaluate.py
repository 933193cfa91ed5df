"""``python -m training.evaluate [--model PATH] [--data DIR]``: test accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

import argparse
import json
import sys

from model.store import SHIPPED_MODEL, ModelFileError
from training.data import MnistError, add_data_arguments, load_mnist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="a .keras model (default: the shipped model)")
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object instead")
    args = parser.parse_args(argv)
    try:
        data = load_mnist(args.data, args.download)
    except MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(data.notice, file=sys.stderr if args.json else sys.stdout, flush=True)

    from model.inference import Predictor  # deferred: imports TensorFlow
    from model.preprocess import images_to_input
    from training.metrics import evaluate_probabilities, format_report

    try:
        predictor = Predictor.load(args.model)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"evaluating {args.model} on {len(data.x_test):,} test images…", file=sys.stderr, flush=True)
    evaluation = evaluate_probabilities(predictor.probabilities(images_to_input(data.x_test)), data.y_test)
    print(json.dumps({"model": args.model, "data": data.source, **evaluation.to_dict()}) if args.json
          else format_report(evaluation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
