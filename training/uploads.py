"""Bring your own model: a ``.keras`` file trained elsewhere becomes a saved run like any other.

The file is first checked without Keras (``model/model_file.py``: built-in layers only, a 28×28 → 10 network,
no zip bomb), then loaded once in a child process capped in memory and time, and only then opened by the
server; it is scored on the MNIST test set and saved through the store (atomically, as a run). A visitor's
upload is theirs and counts against the visitors' limits like a run they trained (``prune_runs``). No
Streamlit here.
"""

from __future__ import annotations

import time
from pathlib import Path

from model.inference import Predictor
from model.model_file import UnsafeModelFile, check_in_child
from model.store import ModelFileError, ModelInfo, ModelStore, load_keras_model
from training.data import MnistData
from training.limits import VisitorLimits, prune_runs
from training.metrics import evaluate_on_test
from training.runs import DataUsed, RunRecord, hyperparams_of


def add_uploaded_model(store: ModelStore, path: Path, file_name: str, data: MnistData, owner: str | None = None,
                       limits: VisitorLimits | None = None) -> ModelInfo:
    """Check, score and save the model in ``path`` (uploaded as ``file_name``); ``limits`` for a visitor's
    upload, None for the admin's. Raises ModelFileError with a message saying what was wrong."""
    try:
        check_in_child(path)
    except UnsafeModelFile as exc:
        raise ModelFileError(f"{file_name}: {exc}") from None
    model = load_keras_model(path)
    test = evaluate_on_test(Predictor(model), data)
    record = RunRecord(hyperparams=hyperparams_of(None), uploaded=file_name, owner=owner, visitor=limits is not None,
                       parameters=int(model.count_params()), test=test,
                       data=DataUsed(data.source, data.is_full, 0, int(len(data.x_test))),
                       created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    info = store.save_run(model, record.to_dict(), name=Path(file_name).stem or "uploaded")
    if limits is not None:
        prune_runs(store, limits)
    return info
