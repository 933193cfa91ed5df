"""Widgets for every training knob, generated from ``training/hyperparams.py`` (same bounds as the CLI)."""

from __future__ import annotations

import math
from dataclasses import Field, fields
from typing import Any

import streamlit as st

from training.hyperparams import Hyperparams

GROUPS = {
    "Optimisation": ("epochs", "batch_size", "learning_rate", "optimizer", "schedule", "label_smoothing"),
    "Network": ("conv_blocks", "filters", "convs_per_block", "kernel_size", "dense_units", "dropout", "batch_norm"),
    "Augmentation": ("augment", "augment_strength"),
    "Data": ("train_size", "validation_fraction", "seed"),
}
ARCHITECTURE_NAMES = {"mlp": "MLP", "lenet5": "LeNet-5", "cnn": "CNN"}
_FLOAT_STEP = {"dropout": 0.05, "augment_strength": 0.1, "validation_fraction": 0.01, "label_smoothing": 0.05}


def _log_options(low: float, high: float) -> list[float]:
    """1-2-3-5 steps per decade between the bounds: a log-scale slider."""
    options = [m * 10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
               for m in (1, 2, 3, 5)]
    return [round(v, 12) for v in options if low <= v <= high]


def _widget(f: Field, value: Any, key: str, most: float | None = None) -> Any:
    meta, label = f.metadata, f.name.replace("_", " ").capitalize()
    high = meta["high"] if most is None else min(meta["high"], most)
    if isinstance(f.default, bool):
        return st.toggle(label, value, help=meta["help"], key=key)
    if meta["choices"] is not None:
        return st.selectbox(label, meta["choices"], index=meta["choices"].index(value), help=meta["help"], key=key)
    if meta["log"]:
        options = _log_options(meta["low"], meta["high"])
        nearest = min(options, key=lambda o: abs(math.log(o) - math.log(value)))
        return st.select_slider(label, options, value=nearest, help=meta["help"], key=key,
                                format_func=lambda v: f"{v:g}")
    if isinstance(f.default, int):
        return st.number_input(label, int(meta["low"]), int(high), min(int(value), int(high)), step=1,
                               help=meta["help"], key=key)
    return st.number_input(label, float(meta["low"]), float(meta["high"]), float(value),
                           step=_FLOAT_STEP.get(f.name, 0.01), help=meta["help"], key=key)


def hyperparam_inputs(start: Hyperparams, key_prefix: str, most: dict[str, int] | None = None) -> dict[str, Any]:
    """One widget per knob that ``start``'s architecture uses, grouped in columns, starting from ``start``'s
    values; returns every field's chosen value (the architecture and the unused knobs as in ``start``). ``most``:
    tighter upper bounds for integer knobs than their own (``train_size``: the images this server's MNIST has, so
    the field never offers 60,000 where the bundled sample has 6,000)."""
    by_name = {f.name: f for f in fields(Hyperparams)}
    values = start.to_dict()
    for column, (group, names) in zip(st.columns(len(GROUPS)), GROUPS.items()):
        with column:
            st.markdown(f"**{group}**")
            used = [name for name in names if start.applies(name)]
            for name in used:
                values[name] = _widget(by_name[name], getattr(start, name), f"{key_prefix}-{name}",
                                       (most or {}).get(name))
            if not used:
                st.caption(f"{ARCHITECTURE_NAMES[start.architecture]} has the paper's fixed shape.")
    return values
