"""``python -m training.train``: train the CNN from the command line, printing progress as it goes.

Saves the model as a new run in the model store (what the Train page lists), or to ``--output`` with a
JSON of its provenance beside it — that is how ``model/weights/default.keras`` was made.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path

from training.data import MnistError, add_data_arguments, load_mnist
from training.drawings import REPEAT, LabelledDrawings, load_drawings
from training.hyperparams import HyperparamError, add_arguments, from_arguments
from training.runs import MAX_MNIST_DROP_TEXT, hyperparams_of, record_run


def _print_progress(p) -> None:
    line = (f"epoch {p.epoch}/{p.epochs} step {p.step}/{p.steps_per_epoch}  loss {p.loss:.4f}  "
            f"acc {p.accuracy:.4f}  {p.images_per_second:,.0f} img/s  eta {p.eta_s / 60:.1f} min")
    if p.val_accuracy is not None:
        line += f"  val_loss {p.val_loss:.4f}  val_acc {p.val_accuracy:.4f}"
    if p.epoch_end or p.step % max(1, p.steps_per_epoch // 4) < max(1, p.steps_per_epoch // 20):
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--output", metavar="PATH", type=Path,
                        help="write the model here (.keras) with a .json beside it, instead of a new run in the store")
    parser.add_argument("--name", default="cli", help="name of the saved run")
    parser.add_argument("--include-drawings", metavar="PATH", type=Path, action="append",
                        help="also learn from users' labelled drawings: the dashboard's drawings.sqlite3 (in the "
                             "data directory) or an .npz exported from My drawings (or made by training."
                             "styled_digits or training.restyled_digits); give it again for more files")
    parser.add_argument("--drawings-weight", type=int, default=REPEAT, metavar="N",
                        help=f"how many times each drawing is repeated per epoch (default {REPEAT})")
    parser.add_argument("--fine-tune", metavar="MODEL", type=Path,
                        help="with --include-drawings: fine-tune this .keras model on the drawings mixed with "
                             "MNIST (a few epochs, before/after report) instead of training from scratch")
    parser.add_argument("--start-from", metavar="MODEL", type=Path,
                        help="train with the settings given here, starting from this .keras model's weights instead "
                             "of a fresh network (the settings must describe its architecture): a second stage of "
                             "training, e.g. a trained model under stronger augmentation or on more data")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        if args.fine_tune and args.start_from:
            raise HyperparamError("--fine-tune and --start-from are two ways to begin from a model: give one")
        hp = from_arguments(args)
        data = load_mnist(args.data, args.download)
        drawings = (LabelledDrawings(*load_drawings(*args.include_drawings), weight=args.drawings_weight)
                    if args.include_drawings else None)
        drawings_source = " + ".join(map(str, args.include_drawings or []))
        if args.fine_tune and drawings is None:
            raise HyperparamError("--fine-tune needs --include-drawings: the drawings to learn from")
        if args.drawings_weight < 1:
            raise HyperparamError("--drawings-weight must be at least 1")
    except (HyperparamError, MnistError, OSError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(data.notice, flush=True)
    if drawings is not None:
        print(f"with {len(drawings.images)} labelled drawings from {drawings_source}, "
              f"each repeated {args.drawings_weight}×", flush=True)

    # Only now TensorFlow (training.loop, training.finetune): the checks above answer without it.
    from model.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()
    from model.store import (
        ModelFileError,
        ModelStore,
        load_keras_model,
        model_meta,
        output_problem,
        save_model_atomic,
    )
    from training.finetune import fine_tune
    from training.loop import train
    from training.metrics import format_report

    problem = output_problem(args.output) if args.output is not None else None
    if problem:
        print(f"error: --output {problem}", file=sys.stderr)
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: (print("stopping after this batch…", flush=True), stop.set()))
    report = None
    try:
        start = next((load_keras_model(path) for path in (args.fine_tune, args.start_from) if path), None)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.fine_tune:
        print("fine-tuning " + str(args.fine_tune), flush=True)
        base = hyperparams_of(model_meta(args.fine_tune))
        result, report = fine_tune(start, base, data, drawings.images, drawings.labels, weight=drawings.weight,
                                   on_progress=_print_progress, stop=stop)
    else:
        print("settings: " + " ".join(f"{k}={v}" for k, v in hp.to_dict().items())
              + (f" starting from {args.start_from}" if start is not None else ""), flush=True)
        try:
            result = train(hp, data, on_progress=_print_progress, stop=stop, drawings=drawings, start_from=start)
        except HyperparamError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    print(format_report(result.test), flush=True)
    print(f"trained in {result.seconds:.0f} s at {result.images_per_second:,.0f} images/s"
          + (" (stopped early)" if result.stopped else ""), flush=True)
    command = "python -m training.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = record_run(result, data, command, drawings, drawings_source, report).to_dict()
    if report is not None:
        drawings_line = ("" if report.drawings_before is None else
                         f"held-out drawings {report.drawings_before:.1%} → {report.drawings_after:.1%} "
                         f"({report.held_out} images); ")
        print(f"{drawings_line}MNIST test {report.mnist_before:.2%} → {report.mnist_after:.2%}"
              + (f"  FLAGGED: MNIST accuracy fell by more than {MAX_MNIST_DROP_TEXT}" if report.flagged else ""),
              flush=True)
    if args.output is not None:
        save_model_atomic(result.model, args.output, meta)
        print(f"saved {args.output} and {args.output.with_suffix('.json')}")
    else:
        info = ModelStore().save_run(result.model, meta, name=args.name)
        print(f"saved run {info.id} in {info.path.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
