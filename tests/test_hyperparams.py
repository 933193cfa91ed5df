"""Hyperparameters: one dataclass drives validation and the command-line flags."""

from __future__ import annotations

import argparse
from dataclasses import fields, replace

import pytest

from training.hyperparams import PRESETS, HyperparamError, Hyperparams, add_arguments, from_arguments


def test_presets_are_valid():
    for hp in PRESETS.values():
        assert hp.validate() is hp


def test_every_problem_is_listed_at_once():
    bad = replace(Hyperparams(), epochs=0, optimizer="lbfgs", dropout=float("nan"), kernel_size=4)
    with pytest.raises(HyperparamError) as err:
        bad.validate()
    message = str(err.value)
    for name in ("epochs=0", "optimizer='lbfgs'", "dropout=nan", "kernel_size=4"):
        assert name in message


def test_validation_split_must_leave_images():
    with pytest.raises(HyperparamError, match="no validation image"):
        replace(Hyperparams(), train_size=100, validation_fraction=0.001).validate()


def test_flags_come_from_the_fields_and_override_the_preset():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {a.dest for a in parser._actions}
    assert {f.name for f in fields(Hyperparams)} <= flags
    hp = from_arguments(parser.parse_args(["--preset", "Best", "--epochs", "2", "--no-augment"]))
    assert hp.epochs == 2 and hp.augment is False and hp.filters == PRESETS["Best"].filters
    with pytest.raises(HyperparamError):
        from_arguments(parser.parse_args(["--batch-size", "4"]))


def test_round_trip_through_json_ignores_unknown_keys():
    saved = {**PRESETS["Best"].to_dict(), "removed_in_a_later_version": 1}
    assert Hyperparams.from_dict(saved) == PRESETS["Best"]
