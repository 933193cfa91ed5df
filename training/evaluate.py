"""``python -m training.evaluate [--model PATH] [--data DIR]``: test accuracy, per-class accuracy, confusion matrix.

With ``--sweep {shift,scale,rotate,stroke} [--models ID|PATH ...] [--count N]`` it prints instead how the test
accuracy of each model changes as the test digits are shifted, scaled, rotated or re-stroked
(``training/sweeps.py``): one row per step, one column per model (``--json``: the same as one JSON object).
Models are named by their store id (``default`` is the shipped model) or by a path to a ``.keras`` file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.store import SHIPPED_MODEL, ModelFileError, ModelStore
from training.data import MnistError, add_data_arguments, load_mnist
from training.sweeps import Sweep


def model_file(name: str, store: ModelStore) -> Path:
    """A model named by its store id (``default``: the shipped one) or by a path; ModelFileError if neither."""
    if store.exists(name):
        return store.model_path(name)
    if Path(name).is_file():
        return Path(name)
    raise ModelFileError(f"{name}: neither a saved run's id (see the Train page) nor a model file")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="a .keras model (default: the shipped model)")
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object instead")
    parser.add_argument("--sweep", type=Sweep, choices=list(Sweep),
                        help="accuracy as the test digits are shifted, scaled, rotated or re-stroked, step by step")
    parser.add_argument("--models", nargs="+", metavar="ID", help="with --sweep: the models to compare, by store id "
                        "('default' is the shipped model) or path (default: --model)")
    parser.add_argument("--count", type=int, help="with --sweep: the first N test digits (default: all)")
    args = parser.parse_args(argv)
    try:
        data = load_mnist(args.data, args.download)
    except MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(data.notice, file=sys.stderr if args.json else sys.stdout, flush=True)

    from model.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()  # deferred: --help and bad arguments answer without TensorFlow
    from model.inference import Predictor
    from model.preprocess import images_to_input
    from training.metrics import evaluate_on_test, format_report
    from training.sweeps import sweep_models

    if args.sweep is not None:
        store = ModelStore()
        try:
            predictors = {name: Predictor.load(model_file(name, store)) for name in args.models or [args.model]}
        except ModelFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        shown = slice(0, args.count)
        print(f"sweeping {args.sweep} over {len(data.x_test[shown]):,} test images, {len(predictors)} model(s)…",
              file=sys.stderr, flush=True)
        table = sweep_models(predictors, images_to_input(data.x_test[shown]), data.y_test[shown], args.sweep)
        print(json.dumps({"data": data.source, **table.to_dict()}) if args.json else table.format())
        return 0
    try:
        predictor = Predictor.load(args.model)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"evaluating {args.model} on {len(data.x_test):,} test images…", file=sys.stderr, flush=True)
    evaluation = evaluate_on_test(predictor, data)
    print(json.dumps({"model": args.model, "data": data.source, **evaluation.to_dict()}) if args.json
          else format_report(evaluation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
