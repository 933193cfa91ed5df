"""Every training knob in one flat, documented dataclass.

Each field carries its bounds, choices and help text as metadata, so the command-line flags
(``add_arguments``) and the Train page's widgets are generated from this one place and can never
disagree about what is allowed.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from model.network import ARCHITECTURES, KNOBS, NetworkConfig


def _knob(default: Any, help: str, *, low: float | None = None, high: float | None = None,
          choices: tuple[Any, ...] | None = None, log: bool = False) -> Any:
    return field(default=default, metadata={"help": help, "low": low, "high": high, "choices": choices, "log": log})


class HyperparamError(ValueError):
    """Settings that cannot train; the message lists every problem at once."""


@dataclass(frozen=True)
class Hyperparams:
    """Settings of one training run. The defaults are a plain small CNN (the Quick preset of earlier versions,
    and what a run saved without a newer field had); ``PRESETS`` hold the tuned settings people start from."""

    # optimisation
    epochs: int = _knob(4, "Passes over the training set.", low=1, high=100)
    batch_size: int = _knob(128, "Images per gradient step.", low=8, high=2048)
    learning_rate: float = _knob(3e-3, "Peak learning rate.", low=1e-5, high=1.0, log=True)
    optimizer: str = _knob("adam", "Optimiser.", choices=("adam", "sgd", "rmsprop"))
    schedule: str = _knob("cosine", "Learning-rate schedule over the run: cosine decays to zero; warmup_cosine "
                          "ramps up for the first 10% then decays; one_cycle starts at 1/25 of the peak, ramps up for "
                          "the first 25% and anneals to 1/1000 of it (fast one-pass training).",
                          choices=("constant", "cosine", "warmup_cosine", "one_cycle"))
    label_smoothing: float = _knob(0.0, "Share of each target spread over the other digits (0: hard labels); "
                                   "keeps a short run from growing over-confident.", low=0.0, high=0.5)
    # network
    architecture: str = _knob("cnn", "Network family: mlp (dense layers only), lenet5 (LeCun 1998's classic "
                              "convolutional network, fixed shape) or cnn (conv blocks shaped by the knobs below).",
                              choices=ARCHITECTURES)
    conv_blocks: int = _knob(2, "Convolution blocks; each halves the image with max-pooling.", low=1, high=3)
    filters: int = _knob(16, "Filters in the first block; doubled in each following block.", low=4, high=128)
    convs_per_block: int = _knob(1, "Convolutions in each block before pooling.", low=1, high=3)
    kernel_size: int = _knob(5, "Side of the square convolution kernels.", choices=(3, 5, 7))
    dense_units: int = _knob(128, "Units of the hidden dense layer.", low=8, high=1024)
    dropout: float = _knob(0.25, "Dropout rate before the output layer.", low=0.0, high=0.9)
    batch_norm: bool = _knob(True, "Batch normalisation after each convolution.")
    # augmentation (training only)
    augment: bool = _knob(False, "Random shift, rotation, scale, slant, elastic distortion and stroke "
                                 "width while training.")
    augment_strength: float = _knob(1.0, "Scales every augmentation range (1 = rotate ±12°, shift ±8%, "
                                    "zoom ±12%, slant ±30%, elastic α 34 σ 4, stroke width ±1 px).", low=0.0, high=3.0)
    # data
    train_size: int = _knob(60000, "Training images used (capped at what the dataset has).", low=100, high=60000)
    validation_fraction: float = _knob(0.05, "Share of the training images held out for validation curves.",
                                       low=0.0, high=0.5)
    seed: int = _knob(0, "Random seed: the same seed and settings give the same run.", low=0, high=2**31 - 1)

    def validate(self) -> Hyperparams:
        """Return self if every setting is allowed, else raise HyperparamError listing all problems."""
        problems = []
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta["choices"] is not None and value not in meta["choices"]:
                problems.append(f"{f.name}={value!r} is not one of {', '.join(map(str, meta['choices']))}")
            if meta["low"] is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                    problems.append(f"{f.name}={value!r} is not a finite number")
                elif not meta["low"] <= value <= meta["high"]:
                    problems.append(f"{f.name}={value} is outside [{meta['low']}, {meta['high']}]")
        if self.validation_fraction * self.train_size < 1 and self.validation_fraction > 0:
            problems.append("validation_fraction leaves no validation image; raise it or train_size, or set it to 0")
        if problems:
            raise HyperparamError("Impossible settings: " + "; ".join(problems) + ".")
        return self

    @property
    def network(self) -> NetworkConfig:
        """The network these settings train."""
        return NetworkConfig(**{f.name: getattr(self, f.name) for f in fields(NetworkConfig)})

    def applies(self, knob: str) -> bool:
        """Whether ``knob`` shapes this run: every knob but the network's, and those its architecture uses."""
        network_knobs = {name for knobs in KNOBS.values() for name in knobs}
        return knob not in network_knobs or knob in KNOBS[self.architecture]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hyperparams:
        """Build from saved settings, ignoring keys this version no longer knows."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known}).validate()


PRESETS: dict[str, Hyperparams] = {
    # One pass over the 60,000 training images (no validation split), the one-cycle schedule at a high peak
    # rate, label smoothing, and no batch norm (in one epoch it costs a fifth of the time and gains nothing):
    # bench/train_speed.py measures it against the earlier 4-epoch Quick.
    "Quick": Hyperparams(epochs=1, batch_size=128, learning_rate=2e-2, optimizer="adam", schedule="one_cycle",
                         label_smoothing=0.1, conv_blocks=2, filters=16, convs_per_block=1, kernel_size=5,
                         dense_units=128, dropout=0.0, batch_norm=False, augment=False, validation_fraction=0.0),
    # The shipped model (model/weights/default.keras) was trained with exactly these settings.
    "Best": Hyperparams(epochs=20, batch_size=128, learning_rate=3e-3, optimizer="adam", schedule="warmup_cosine",
                        conv_blocks=2, filters=32, convs_per_block=2, kernel_size=3, dense_units=256,
                        dropout=0.5, batch_norm=True, augment=True, augment_strength=0.8,
                        validation_fraction=0.0, seed=7),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per field, with its bounds and default in the help."""
    parser.add_argument("--preset", choices=sorted(PRESETS), default="Quick",
                        help="Start from these settings; flags below override single values.")
    for f in fields(Hyperparams):
        meta, flag = f.metadata, "--" + f.name.replace("_", "-")
        text = meta["help"].replace("%", "%%")  # argparse treats help as a %-format string
        if isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
            continue
        bounds = f" [{meta['low']}..{meta['high']}]" if meta["low"] is not None else ""
        parser.add_argument(flag, type=type(f.default), choices=meta["choices"], default=None,
                            help=f"{text}{bounds}")


def from_arguments(args: argparse.Namespace) -> Hyperparams:
    """The preset named on the command line with every given flag applied, validated."""
    overrides = {f.name: getattr(args, f.name) for f in fields(Hyperparams) if getattr(args, f.name) is not None}
    return replace(PRESETS[args.preset], **overrides).validate()
