"""Quick training: the one-pass Quick preset against the earlier 4-epoch Quick, same data, same process.

Both through ``training.loop.train`` (what the CLI and the worker run), on the official MNIST split: test
accuracy, training seconds, images/s, and seconds to 99 % (the run's training time when it ends at ≥ 99 %).
Needs the full MNIST (``--data`` or ``$DIGITS_MNIST_DIR``; ``../shared/data/mnist`` when present).
Run: ``python -m bench.train_speed [--data DIR] [--seeds 0,1,2]``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from harness import ROOT
from training.data import load_mnist
from training.hyperparams import PRESETS, Hyperparams
from training.loop import train

SETTINGS = {"Quick (one pass, one-cycle)": PRESETS["Quick"],
            "earlier Quick (4 epochs, cosine)": Hyperparams()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = ROOT.parent / "shared" / "data" / "mnist"
    parser.add_argument("--data", default=str(shared) if shared.is_dir() else None)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; each setting runs once per seed")
    args = parser.parse_args()
    data = load_mnist(args.data)
    print(data.notice)
    seconds: dict[str, list[float]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        for name, hp in SETTINGS.items():
            result = train(replace(hp, seed=seed), data)
            seen = result.batches * hp.batch_size
            reached = f"{result.seconds:.1f} s" if result.test.accuracy >= 0.99 else "not reached"
            print(f"seed {seed}  {name:<34} {result.test.accuracy:.2%}  {result.seconds:6.1f} s  "
                  f"{result.images_per_second:6,.0f} images/s  ~{seen:,} images seen  to 99 %: {reached}")
            seconds.setdefault(name, []).append(result.seconds)
    new, old = (sum(s) / len(s) for s in seconds.values())
    print(f"Quick trains in {new:.1f} s, the earlier Quick in {old:.1f} s: {old / new:.1f}× faster")


if __name__ == "__main__":
    main()
