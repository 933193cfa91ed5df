"""``python -m training.average A.keras B.keras … --output C.keras``: one network whose weights are the average of
several networks of one architecture (a "model soup", Wortsman et al., 2022), scored on the MNIST test set.

Networks that share their start — a trained model and a second stage of training from it (``training.train
--start-from``) — lie in one basin of the loss, and the average of their weights usually reads better than either:
the shipped model is such an average. It is one network of the same architecture, so a stroke costs the same and
Inspect explains it unit by unit (an ensemble of two networks would cost two forward passes and have no single set
of units to explain). Each model is checked and loaded like any other (``model.store.load_keras_model``: no code
from a file runs); models of different architectures are refused.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.data import MnistError, add_data_arguments, load_mnist
from training.metrics import Evaluation, evaluate_on_test, format_report
from training.runs import RunRecord

if TYPE_CHECKING:
    import keras


def average_weights(models: list[keras.Model]) -> keras.Model:
    """A new network of the first model's architecture holding the mean of all the models' weights (batch
    normalisation's moving statistics included; a counter or other integer state is the first model's, as a mean
    of it means nothing). ValueError if the architectures differ."""
    import keras

    shapes = [[w.shape for w in m.weights] for m in models]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("the models have different architectures: only networks of one architecture can be averaged")
    averaged = keras.models.clone_model(models[0])
    averaged.set_weights([np.mean(ws, axis=0, dtype=ws[0].dtype) if np.issubdtype(ws[0].dtype, np.floating) else ws[0]
                          for ws in zip(*(m.get_weights() for m in models))])
    return averaged


def averaged_card(cards: list[dict[str, Any]], paths: list[Path], test: Evaluation, command: str) -> dict[str, Any]:
    """The average's card: the first model's architecture, data and versions, its own test results and command,
    and each ingredient's file, command, test accuracy, epochs, training time and the drawings it learned from
    besides MNIST, in place of one run's history.
    Its epochs and training time are the ingredients' together (what went into it), where each one's is known."""
    first = RunRecord.from_dict(cards[0])
    ingredients = [{"file": str(path), "command": card.get("command"),
                    "test_accuracy": (card.get("test") or {}).get("accuracy"),
                    "epochs_completed": card.get("epochs_completed"), "train_seconds": card.get("train_seconds"),
                    "drawings": card.get("drawings")}
                   for path, card in zip(paths, cards)]

    def together(key: str) -> float | None:
        values = [i[key] for i in ingredients]
        return None if None in values else sum(values)

    return RunRecord(hyperparams=first.hyperparams, data=first.data,
                     created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), command=command,
                     parameters=first.parameters, test=test, epochs_completed=together("epochs_completed"),
                     train_seconds=together("train_seconds"), versions=first.versions,
                     averaged_from=ingredients).to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.average", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL", help="two or more .keras models")
    parser.add_argument("--output", required=True, type=Path, metavar="PATH",
                        help="where to write the average (.keras, with its card as .json beside it)")
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    if len(args.models) < 2:
        print("error: give two or more models to average", file=sys.stderr)
        return 2
    try:
        data = load_mnist(args.data, args.download)
    except MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(data.notice, flush=True)

    from model.inference import Predictor  # deferred: imports TensorFlow
    from model.store import ModelFileError, load_keras_model, model_meta, output_problem, save_model_atomic

    problem = output_problem(args.output)
    if problem:
        print(f"error: --output {problem}", file=sys.stderr)
        return 2

    try:
        models = [load_keras_model(path) for path in args.models]
        averaged = average_weights(models)
    except (ModelFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    test = evaluate_on_test(Predictor(averaged), data)
    print(format_report(test), flush=True)
    command = "python -m training.average " + shlex.join(sys.argv[1:] if argv is None else argv)
    card = averaged_card([model_meta(path) for path in args.models], args.models, test, command)
    save_model_atomic(averaged, args.output, card)
    print(f"saved {args.output} and {args.output.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
