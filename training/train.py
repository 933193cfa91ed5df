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

from training.data import MnistError, load_mnist
from training.hyperparams import HyperparamError, add_arguments, from_arguments


def _print_progress(p) -> None:
    line = (f"epoch {p.epoch}/{p.epochs} step {p.step}/{p.steps_per_epoch}  loss {p.loss:.4f}  "
            f"acc {p.accuracy:.4f}  {p.images_per_second:,.0f} img/s  eta {p.eta_s / 60:.1f} min")
    if p.val_accuracy is not None:
        line += f"  val_loss {p.val_loss:.4f}  val_acc {p.val_accuracy:.4f}"
    if p.epoch_end or p.step % max(1, p.steps_per_epoch // 4) < max(1, p.steps_per_epoch // 20):
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", metavar="DIR", help="folder with the four MNIST IDX .gz files "
                        "(default: $DIGITS_MNIST_DIR, the Keras cache, else the bundled sample)")
    parser.add_argument("--output", metavar="PATH", type=Path,
                        help="write the model here (.keras) with a .json beside it, instead of a new run in the store")
    parser.add_argument("--name", default="cli", help="name of the saved run")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        hp = from_arguments(args)
        data = load_mnist(args.data)
    except (HyperparamError, MnistError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output is not None and args.output.suffix != ".keras":
        print("error: --output must end in .keras", file=sys.stderr)
        return 2
    print(data.notice, flush=True)
    print("settings: " + " ".join(f"{k}={v}" for k, v in hp.to_dict().items()), flush=True)

    from model.store import ModelStore, save_model_atomic  # deferred: imports TensorFlow
    from training.evaluation import format_report
    from training.trainer import describe_run, train

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: (print("stopping after this batch…", flush=True), stop.set()))
    result = train(hp, data, on_progress=_print_progress, stop=stop)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    print(format_report(result.test), flush=True)
    print(f"trained in {result.seconds:.0f} s at {result.images_per_second:,.0f} images/s"
          + (" (stopped early)" if result.stopped else ""), flush=True)
    meta = describe_run(result, data, command="python -m training.train " + shlex.join(sys.argv[1:] if argv is None else argv))
    if args.output is not None:
        save_model_atomic(result.model, args.output, meta)
        print(f"saved {args.output} and {args.output.with_suffix('.json')}")
    else:
        info = ModelStore().save_run(result.model, meta, name=args.name)
        print(f"saved run {info.id} in {info.path.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
