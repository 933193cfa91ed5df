"""Train the sequence reader (``model/number_sequence.py``): whole numbers read without cutting them.

Its numbers are the part checker's (``training.part_check.random_number``), of 1–6 digits: MNIST's *training*
digits or the styled pen strokes of ``training.styled_digits``, apart, close, touching or pushed into each other's
ink, of even or uneven sizes, level or sloping — put on a canvas and read back through ``model.number.number_ink``
as the Draw page's numbers are. ``bench/number_reading.py`` writes its numbers of MNIST *test* digits and another
pen-stroke alphabet, which nothing here reads. The loss is CTC's: the network is told which digits a number
holds, never where. MNIST's last HELD_OUT training digits are kept out of it.

``python -m training.number_sequence --data DIR --output PATH`` writes the weights file (default: the shipped
``model/weights/number_sequence.weights.h5``) and its card beside it (.json).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import keras
import numpy as np

from model.number import number_ink
from model.number_sequence import (
    SHIPPED_SEQUENCE_READER,
    STRIP,
    SequenceReader,
    best_digits,
    build_sequence_reader,
    to_strip,
)
from training.data import load_mnist
from training.number_network_cli import card_path, number_network_parser, parse_checked, save_with_card
from training.part_check import random_number
from training.styled_digits import as_canvas

LENGTHS = (1, 6)
MAX_DIGITS = LENGTHS[1]
HELD_OUT = 5000
"""MNIST's last training digits, kept out of training: numbers of them measure the reader as it learns."""
CHUNK = 1000
BATCH = 64


def composed_numbers(count: int, seed: int, data_dir: str | None, held_out: bool = False,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` numbers as (strips (N, 32, 192) uint8, labels (N, MAX_DIGITS) int32: digit + 1, 0-padded), of
    MNIST's training digits but the last HELD_OUT (or, ``held_out``, of those only) and styled pen strokes."""
    data = load_mnist(data_dir)
    held = min(HELD_OUT, len(data.x_train) // 5)  # the bundled sample has 6,000
    images, labels = (data.x_train[-held:], data.y_train[-held:]) if held_out else \
        (data.x_train[:-held], data.y_train[:-held])
    rng = np.random.default_rng(seed)
    strips, targets = np.zeros((count, *STRIP), np.uint8), np.zeros((count, MAX_DIGITS), np.int32)
    for k in range(count):
        layout, digits = random_number(rng, images, labels, LENGTHS)
        strip = to_strip(number_ink(as_canvas(layout.ink)))
        strips[k] = np.round(strip.image * 255).astype(np.uint8)
        targets[k, :len(digits)] = np.asarray(digits) + 1
    return strips, targets


def parallel_numbers(count: int, seed: int, data_dir: str | None, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """``composed_numbers`` in CHUNK-number chunks (chunk k seeded [seed, k]: the data do not depend on the number
    of worker processes)."""
    chunks = [min(CHUNK, count - start) for start in range(0, count, CHUNK)]
    seeds = [int(np.random.SeedSequence([seed, k]).generate_state(1)[0]) for k in range(len(chunks))]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(composed_numbers, chunks, seeds, [data_dir] * len(chunks)))
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def read_whole(model: keras.Model, strips: np.ndarray, targets: np.ndarray) -> float:
    """The share of numbers read whole (decoded as the product decodes them)."""
    frames = SequenceReader(model).frame_probabilities(strips.astype(np.float32) / 255)
    right = sum(list(best_digits(f)) == [int(t) for t in target if t] for f, target in zip(frames, targets))
    return right / max(1, len(targets))


def main(argv: list[str] | None = None) -> int:
    parser = number_network_parser("training.number_sequence", __doc__.splitlines()[0], SHIPPED_SEQUENCE_READER,
                                   100_000, 8)
    args = parse_checked(parser, argv, min_numbers=BATCH)
    source = load_mnist(args.data, args.download).source
    print(f"MNIST training digits from {source}", flush=True)
    start = time.monotonic()
    strips, targets = parallel_numbers(args.numbers, args.seed, args.data, args.workers)
    held_strips, held_targets = composed_numbers(1000, args.seed + 1, args.data, held_out=True)
    print(f"{args.numbers:,} numbers composed in {time.monotonic() - start:.0f} s", flush=True)
    keras.utils.set_random_seed(args.seed)
    model = build_sequence_reader()
    steps = args.epochs * (args.numbers // BATCH)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=2e-3, warmup_steps=steps // 20)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.CTC())
    inputs = strips[..., None].astype(np.float32) / 255
    whole = 0.0
    for epoch in range(args.epochs):
        loss = model.fit(inputs, targets, batch_size=BATCH, epochs=1, verbose=0).history["loss"][-1]
        whole = read_whole(model, held_strips, held_targets)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss:.3f}, numbers of held-out digits read whole "
              f"{100 * whole:.1f} % ({time.monotonic() - start:.0f} s)", flush=True)
    save_with_card(model, args, "training.number_sequence", argv, start, {
        "trained_on": f"{args.numbers:,} composed numbers of {LENGTHS[0]}–{LENGTHS[1]} digits: MNIST training digits "
                      f"({source}) but the last {HELD_OUT:,}, and styled pen-stroke digits",
        "held_out_numbers_read_whole": round(whole, 4)})
    print(f"saved {args.output} and {card_path(args.output).name}")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
