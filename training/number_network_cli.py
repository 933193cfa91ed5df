"""What the two number networks' trainers share (the part checker's, ``training.part_check``, and the sequence
reader's, ``training.number_sequence``): their command line, and how they write a weights file and its card.

Both compose numbers in worker processes, train a small network for some epochs and write its weights, by
default over the shipped file, with a JSON card beside it saying what it was trained on and by which command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import keras

from model.store import write_json_atomic
from training.data import add_data_arguments


def number_network_parser(module: str, description: str, shipped: Path, numbers: int, epochs: int
                          ) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    add_data_arguments(parser)
    parser.add_argument("--numbers", type=int, default=numbers, help=f"composed numbers (default {numbers:,})")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes composing numbers")
    parser.add_argument("--output", type=Path, default=shipped, help="the weights file to write "
                        f"(default: the shipped {shipped.name}), and its card beside it (.json)")
    return parser


def parse_checked(parser: argparse.ArgumentParser, argv: list[str] | None, min_numbers: int) -> argparse.Namespace:
    """The arguments, or exit 2 with the reason before any work: a weights file's name, at least ``min_numbers``
    numbers, one epoch and one worker."""
    args = parser.parse_args(argv)
    if not args.output.name.endswith(".weights.h5"):
        parser.error(f"--output {args.output}: a weights file's name ends in .weights.h5")
    if args.numbers < min_numbers or args.epochs < 1 or args.workers < 1:
        parser.error(f"--numbers must be at least {min_numbers}, --epochs and --workers at least 1")
    return args


def card_path(weights: Path) -> Path:
    """The JSON card beside a weights file: ``part_check.weights.h5`` → ``part_check.json``."""
    return weights.with_name(weights.name.removesuffix(".weights.h5") + ".json")


def save_with_card(model: keras.Model, args: argparse.Namespace, module: str, argv: list[str] | None,
                   started: float, card: dict[str, Any]) -> None:
    """The weights, written atomically, and their card: ``card`` plus the epochs, seed, minutes since ``started``
    (``time.monotonic``), when, and the command."""
    tmp = args.output.with_name(".tmp." + args.output.name)
    model.save_weights(tmp)
    tmp.replace(args.output)
    write_json_atomic(card_path(args.output), {
        **card, "epochs": args.epochs, "seed": args.seed, "minutes": round((time.monotonic() - started) / 60, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": f"python -m {module} " + " ".join(argv if argv is not None else sys.argv[1:])})
