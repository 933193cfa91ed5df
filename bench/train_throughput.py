"""Training throughput: ``training.loop.train`` vs a bare ``model.fit`` of the same network and data.

Same network (Quick preset, no validation split), same images, same optimizer, alternating runs in one
process; ``train()``'s cost over ``fit`` is its progress/stop/NaN callback. Images/s count fit time only.
Run: ``python -m bench.train_throughput [--data DIR] [--images N] [--epochs E] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import keras
import numpy as np

from model.network import build_classifier
from model.preprocess import images_to_input
from training.data import load_mnist
from training.hyperparams import PRESETS
from training.loop import make_optimizer, train


def bare_fit(hp, x, y) -> float:
    keras.utils.set_random_seed(hp.seed)
    model = build_classifier(hp.network)
    model.compile(optimizer=make_optimizer(hp, math.ceil(len(x) / hp.batch_size) * hp.epochs),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=hp.batch_size, epochs=hp.epochs, verbose=0, shuffle=True)
    return len(x) * hp.epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--images", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = load_mnist(args.data)
    print(data.notice)
    hp = replace(PRESETS["Quick"], epochs=args.epochs, train_size=min(args.images, len(data.x_train)),
                 validation_fraction=0.0)
    order = np.random.default_rng(hp.seed).permutation(len(data.x_train))[: hp.train_size]
    x, y = images_to_input(data.x_train)[order], data.y_train[order]
    ours, bare = [], []
    for _ in range(args.rounds):
        bare.append(bare_fit(hp, x, y))
        ours.append(train(hp, data, on_progress=lambda p: None).images_per_second)
    o, b = float(np.median(ours)), float(np.median(bare))
    print(f"train() {o:,.0f} images/s, bare model.fit {b:,.0f} images/s, overhead {(b - o) / b:+.1%} "
          f"(median of {args.rounds} rounds, {hp.train_size:,} images × {hp.epochs} epochs)")


if __name__ == "__main__":
    main()
