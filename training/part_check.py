"""``python -m training.part_check``: train the number reader's part checker (``model/part_check.py``).

Its data are parts cut from numbers nobody wrote: 2–5 MNIST *training* digits, or styled pen-stroke digits
(``training/styled_digits.py``, one random pen per number), composed as a hand writes a number
(``training/composed_numbers.py``) — apart, close, touching, pushed into each other, of mixed sizes, up- or
downhill. Each number goes through the reader's own steps (``model.number.NumberReader``: its pieces, the cut
paths at their light columns and on a grid) and every part between two cuts is labelled by the composed digits' own ink:
one whole digit when it holds at least WHOLE of one digit's ink and at least PURE of its ink is that digit's;
not one when it holds less than PART of any digit, or more than IMPURE of others'; parts in between are left
out. The MNIST test digits, which ``bench/number_reading.py`` scores the reader on, are never used.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import keras
import numpy as np
import tensorflow as tf

from model.inference import Predictor
from model.number import WINDOW, NumberReader, line_height, number_ink
from model.part_check import SHIPPED_PART_CHECK, build_part_checker
from model.store import SHIPPED_MODEL
from training.composed_numbers import NumberLayout, layout_number
from training.data import load_mnist
from training.number_network_cli import number_network_parser, parse_checked, save_with_card
from training.styled_digits import GLYPHS, as_canvas, draw, random_pen

WHOLE, PURE = 0.85, 0.85
"""A part is one whole digit when it holds this share of a digit's ink, and this share of its ink is that digit's."""
PART, IMPURE = 0.7, 0.25
"""It is not when it holds less than PART of its main digit, or more than IMPURE of its ink is others'."""
NEGATIVES_PER_WHOLE = 2
"""Parts that are not one digit kept per whole one, at most (a touching number has many more)."""
CHUNK = 250
"""Numbers per worker task."""


def random_number(rng: np.random.Generator, x_train: np.ndarray, y_train: np.ndarray,
                  lengths: tuple[int, int] = (2, 5)) -> tuple[NumberLayout, np.ndarray]:
    """A number as some hand might write it, and its digits: ``lengths`` digits (sometimes only 1s and 7s),
    MNIST's or a stroke pen's, apart, close, touching, a little or much into each other, sized and sloped at
    random."""
    digits = rng.choice((1, 7) if rng.random() < 0.15 else 10, rng.integers(lengths[0], lengths[1] + 1))
    if rng.random() < 0.6:
        inks = [x_train[rng.choice(np.flatnonzero(y_train == d))] / 255.0 for d in digits]
    else:
        pen = random_pen(rng)
        inks = [draw(int(d), str(rng.choice(list(GLYPHS[d]))), pen, rng) for d in digits]
    gap, from_ink = [((0.05, 0.5), False), ((-0.06, 0.2), False), ((-0.02, 0.02), True), ((-0.05, 0.0), True),
                     ((-0.14, -0.02), True)][rng.choice(5, p=[0.1, 0.15, 0.3, 0.2, 0.25])]
    layout = layout_number(inks, rng, height=float(rng.uniform(60, 140)), gap=gap, from_ink=from_ink,
                           sizes=(0.6, 1.4) if rng.random() < 0.25 else (0.85, 1.15),
                           slope=float(rng.uniform(-0.25, 0.25)) if rng.random() < 0.25 else 0.0)
    return layout, digits


def labelled_parts(layout: NumberLayout, predictor: Predictor,
                   rng: np.random.Generator) -> tuple[list[np.ndarray], list[int], bool]:
    """The reader's candidate parts of one number as (windows, labels), and whether the right cut was among them
    (every digit has a whole part: the most the checker can do)."""
    ink = number_ink(as_canvas(layout.ink))
    reader = NumberReader(ink, predictor)
    owners = layout.owners()
    sizes = np.bincount(owners[owners >= 0], minlength=len(layout.layers))
    pieces = reader.pieces()
    height = line_height(pieces)
    windows, labels, found = [], [], set()
    for piece in pieces:
        for part in reader.candidate_parts(piece, height).values():
            held = np.bincount(owners[part & (owners >= 0)], minlength=len(sizes))
            if held.sum() == 0:
                continue
            main = int(held.argmax())
            whole, pure = held[main] / max(1, sizes[main]), held[main] / held.sum()
            if whole >= WHOLE and pure >= PURE:
                label = 1
                found.add(main)
            elif whole < PART or pure < 1 - IMPURE:
                label = 0
            else:
                continue
            windows.append(reader.window(part, height))
            labels.append(label)
    keep = [k for k, label in enumerate(labels) if label == 1]
    negatives = [k for k, label in enumerate(labels) if label == 0]
    keep += list(rng.permutation(negatives)[:NEGATIVES_PER_WHOLE * max(1, len(keep))])
    return [windows[k] for k in keep], [labels[k] for k in keep], len(found) == len(sizes)


def training_parts(numbers: int, seed: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Windows (uint8, N×32×64×2), labels, and how many numbers had their right cut among the candidates."""
    data, predictor = load_mnist(data_dir), Predictor.load(SHIPPED_MODEL)
    rng = np.random.default_rng(seed)
    windows, labels, reachable = [], [], 0
    for _ in range(numbers):
        w, y, ok = labelled_parts(random_number(rng, data.x_train, data.y_train)[0], predictor, rng)
        windows += w
        labels += y
        reachable += ok
    stacked = np.round(np.clip(np.stack(windows), 0, 1) * 255).astype(np.uint8) if windows else \
        np.zeros((0, *WINDOW, 2), np.uint8)
    return stacked, np.array(labels, np.uint8), reachable


def parallel_parts(numbers: int, seed: int, data_dir: str | None, workers: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``training_parts`` in CHUNK-number chunks (chunk k seeded [seed, k], so the data do not depend on the
    number of worker processes), and the share of numbers whose right cut was among the candidates."""
    chunks = [min(CHUNK, numbers - start) for start in range(0, numbers, CHUNK)]
    seeds = [int(np.random.SeedSequence([seed, k]).generate_state(1)[0]) for k in range(len(chunks))]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(training_parts, chunks, seeds, [data_dir] * len(chunks)))
    return (np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results]),
            sum(r[2] for r in results) / max(1, numbers))


def fit_checker(x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> tuple[keras.Model, float]:
    """Train a fresh checker on windows (uint8) and labels; the last tenth (the last numbers cut) is held out.
    Returns the model and its accuracy on the held-out parts."""
    keras.utils.set_random_seed(seed)
    held = max(1, len(y) // 10)

    def batches(first: int, last: int, shuffle: bool) -> tf.data.Dataset:
        data = tf.data.Dataset.from_tensor_slices((x[first:last], y[first:last].astype(np.float32)))
        data = data.shuffle(last - first, seed=seed) if shuffle else data
        return data.batch(256).map(lambda w, label: (tf.cast(w, tf.float32) / 255.0, label))

    model = build_part_checker()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(batches(0, len(y) - held, True), validation_data=batches(len(y) - held, len(y), False),
                        epochs=epochs, shuffle=False, verbose=2)  # shuffled by the dataset
    return model, float(history.history["val_accuracy"][-1])


def main(argv: list[str] | None = None) -> int:
    parser = number_network_parser("training.part_check", __doc__.splitlines()[0], SHIPPED_PART_CHECK, 16_000, 10)
    args = parse_checked(parser, argv, min_numbers=10)
    source = load_mnist(args.data, args.download).source
    print(f"MNIST training digits from {source}")
    start = time.monotonic()
    x, y, reachable = parallel_parts(args.numbers, args.seed, args.data, args.workers)
    print(f"{len(y):,} parts ({y.mean():.0%} whole digits) from {args.numbers:,} numbers in "
          f"{time.monotonic() - start:.0f} s; the right cut was among the candidates in {reachable:.1%} of them")
    model, accuracy = fit_checker(x, y, args.epochs, args.seed)
    save_with_card(model, args, "training.part_check", argv, start, {
        "trained_on": f"parts cut from {args.numbers:,} composed numbers of MNIST training digits ({source}) "
                      "and styled pen-stroke digits", "parts": len(y), "whole_share": round(float(y.mean()), 4),
        "right_cut_among_candidates": round(reachable, 4), "held_out_accuracy": round(accuracy, 4)})
    print(f"part checker → {args.output}: {accuracy:.2%} of held-out parts right")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
