"""What a trained model's JSON says about it: one typed ``RunRecord``, written by one function.

The CLI, the worker and the Train page all describe and read runs through this module, so a run made
from the command line and one made on the page carry the same keys. ``ModelStore`` (in ``model/``)
only stores the JSON; this module knows what is in it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.data import MnistData
from training.drawings import LabelledDrawings
from training.hyperparams import PRESETS, Hyperparams
from training.metrics import Evaluation

if TYPE_CHECKING:
    from training.loop import TrainResult

MAX_MNIST_DROP = 0.005
"""Fine-tuning that costs more MNIST test accuracy than this is flagged, and made the default only if confirmed."""
MAX_MNIST_DROP_TEXT = f"{MAX_MNIST_DROP * 100:g} points"


@dataclass(frozen=True)
class FineTuneReport:
    """Accuracy on the held-out drawings and on the MNIST test set, before and after."""

    drawings_before: float | None
    drawings_after: float | None
    held_out: int
    mnist_before: float
    mnist_after: float

    @property
    def flagged(self) -> bool:
        """MNIST test accuracy fell by more than MAX_MNIST_DROP: ask before making it the default."""
        return self.mnist_before - self.mnist_after > MAX_MNIST_DROP

    def to_dict(self) -> dict:
        return {**asdict(self), "flagged": self.flagged}

    @classmethod
    def from_dict(cls, values: dict) -> FineTuneReport:
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class DataUsed:
    """Which MNIST the run learned from and was tested on."""

    source: str
    full_mnist: bool
    train_images: int
    test_images: int


@dataclass(frozen=True)
class DrawingsUsed:
    """Users' labelled drawings mixed into the training set."""

    count: int
    weight: int
    """How many times each was shown per epoch."""
    per_digit: list[int]
    source: str | None = None
    """The database or export they came from, when it was not the dashboard's own."""


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None


@dataclass(frozen=True)
class RunRecord:
    """Provenance and quality of one trained model, as saved beside it (``run.json`` / ``<model>.json``)."""

    hyperparams: Hyperparams
    data: DataUsed | None = None
    created: str | None = None
    command: str | None = None
    """The command line that made it (CLI runs), to reproduce it."""
    parameters: int | None = None
    test: Evaluation | None = None
    stopped_early: bool = False
    epochs_completed: int | None = None
    history: list[EpochRecord] = field(default_factory=list)
    train_seconds: float | None = None
    images_per_second: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    drawings: DrawingsUsed | None = None
    fine_tune: FineTuneReport | None = None
    owner: str | None = None
    """The browser whose run it was (Train page runs); None for the command line's."""
    visitor: bool = False
    """Made by a visitor of a public server: counts against the visitors' limits and may be pruned."""
    uploaded: str | None = None
    """The file name of a model trained elsewhere and uploaded (``training/uploads.py``); its ``hyperparams``
    are then unknown and not saved."""
    averaged_from: list[dict[str, Any]] | None = None
    """A network whose weights are the mean of others' (``training.average``): each one's file, the command that
    made it, its test accuracy, epochs and training time — the shipped model is one."""
    benchmarks: dict[str, Any] | None = None
    """What benchmarks measured on the model once it was made, under each benchmark's name with the command that ran
    it (``bench.styles --card``: accuracy per writing style and per digit; ``bench.uci_digits --card``: the real
    handwriting of writers MNIST never had): how it reads beyond MNIST's test set (``record_benchmark``)."""

    def benchmark_accuracy(self, prefix: str) -> float | None:
        """Digits read right over all the benchmarks whose name starts with ``prefix``, or None if none ran."""
        found = [v for k, v in (self.benchmarks or {}).items() if k.startswith(prefix)]
        digits = sum(v["digits"] for v in found)
        return sum(v["right"] for v in found) / digits if digits else None

    @property
    def flagged(self) -> bool:
        """Fine-tuning cost more MNIST accuracy than allowed: ask before making it the default."""
        return self.fine_tune is not None and self.fine_tune.flagged

    def to_dict(self) -> dict[str, Any]:
        values = {key: value for key, value in asdict(self).items() if value is not None or key in ("command", "test")}
        if not self.visitor:
            del values["visitor"]  # only visitors' runs say so (and the JSON of earlier runs reads back unchanged)
        if self.uploaded is None:
            values["hyperparams"] = self.hyperparams.to_dict()
        else:
            del values["hyperparams"]  # not trained here: nothing is known of how
        if self.fine_tune is not None:
            values["fine_tune"] = self.fine_tune.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunRecord:
        """Read a run's JSON, also one from an earlier version with keys missing (see ``hyperparams_of``)."""
        data, drawings = values.get("data"), values.get("drawings")
        return cls(
            hyperparams=hyperparams_of(values),
            data=DataUsed(**data) if data else None,
            created=values.get("created"),
            command=values.get("command"),
            parameters=values.get("parameters"),
            test=Evaluation.from_dict(values["test"]) if values.get("test") else None,
            stopped_early=bool(values.get("stopped_early")),
            epochs_completed=values.get("epochs_completed"),
            history=[EpochRecord(**row) for row in values.get("history") or []],
            train_seconds=values.get("train_seconds"),
            images_per_second=values.get("images_per_second"),
            versions=values.get("versions") or {},
            drawings=DrawingsUsed(**{"per_digit": [], **drawings}) if drawings else None,
            fine_tune=FineTuneReport.from_dict(values["fine_tune"]) if values.get("fine_tune") else None,
            owner=values.get("owner"),
            visitor=bool(values.get("visitor")),
            uploaded=values.get("uploaded"),
            averaged_from=values.get("averaged_from"),
            benchmarks=values.get("benchmarks"),
        )


def hyperparams_of(run_json: dict[str, Any] | None) -> Hyperparams:
    """The settings a model was trained with — the one rule for every reader: from its JSON, else those of
    the shipped model (Best), the architecture of any model saved without one."""
    recorded = (run_json or {}).get("hyperparams")
    return Hyperparams.from_dict(recorded) if recorded else PRESETS["Best"]


def record_run(result: TrainResult, data: MnistData, command: str | None = None,
               drawings: LabelledDrawings | None = None, drawings_source: str | None = None,
               report: FineTuneReport | None = None) -> RunRecord:
    """Describe a finished (or stopped) run: what produced it and how good it is."""
    import keras
    import tensorflow as tf  # only for their version strings; the run already imported them

    return RunRecord(
        hyperparams=result.hyperparams,
        data=DataUsed(data.source, data.is_full, int(len(data.x_train)), int(len(data.x_test))),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        command=command,
        parameters=int(result.model.count_params()),
        test=result.test,
        stopped_early=result.stopped,
        epochs_completed=len(result.epoch_history),
        history=[EpochRecord(p.epoch, p.loss, p.accuracy, p.val_loss, p.val_accuracy) for p in result.epoch_history],
        train_seconds=round(result.seconds, 1),
        images_per_second=round(result.images_per_second, 1),
        versions={"keras": keras.__version__, "tensorflow": tf.__version__},
        drawings=None if drawings is None else DrawingsUsed(
            int(len(drawings.images)), drawings.weight, np.bincount(drawings.labels, minlength=10).tolist(),
            drawings_source),
        fine_tune=report,
    )


def record_benchmark(card: Path, name: str, figures: dict[str, Any]) -> None:
    """Put one benchmark's figures (with ``right`` and ``digits`` counts) into a model's card, the .json beside it,
    under ``name``, replacing what that benchmark measured before; the rest of the card unchanged. Atomic, as every
    write of a card. FileNotFoundError without a card."""
    from model.store import write_json_atomic  # Keras: the benchmark has loaded it already

    values = json.loads(card.read_text())
    values["benchmarks"] = {**(values.get("benchmarks") or {}), name: figures}
    write_json_atomic(card, values)
