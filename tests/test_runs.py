"""A run's JSON: one typed record for the CLI, the worker and the Train page, readable from older files."""

from __future__ import annotations

import json

from model.store import SHIPPED_MODEL, model_meta
from training.hyperparams import PRESETS
from training.runs import RunRecord, hyperparams_of, record_benchmark


def test_the_shipped_model_s_json_reads_as_a_record_and_writes_back_the_same():
    written = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    record = RunRecord.from_dict(written)
    assert record.hyperparams == PRESETS["Best"]
    assert record.test.accuracy >= 0.996 and record.data.full_mnist and not record.flagged
    # The mean of a 20-epoch run and a second stage from it (training.average): each one's command is kept.
    assert len(record.averaged_from) == 2 and all("training.train" in i["command"] for i in record.averaged_from)
    assert record.epochs_completed == 24 == sum(i["epochs_completed"] for i in record.averaged_from)
    again = record.to_dict()
    assert {k: v for k, v in again.items() if k != "hyperparams"} == {k: v for k, v in written.items()
                                                                       if k != "hyperparams"}
    assert written["hyperparams"].items() <= again["hyperparams"].items(), "newer knobs are added at their defaults"
    # What it learned from besides MNIST, and how it reads beyond MNIST's test set (bench.styles / uci_digits --card).
    assert [i["drawings"]["count"] for i in record.averaged_from] == [80_000, 140_000]
    styles = record.benchmarks["styles"]
    assert record.benchmark_accuracy("styles") >= 0.99 and len(styles["per_digit"]) == 10
    assert len(styles["per_style"]) >= 25 and styles["command"].startswith("python -m bench.styles")
    assert 0.97 <= record.benchmark_accuracy("uci_digits") < record.test.accuracy


def test_a_benchmark_s_figures_go_into_a_card_replacing_only_its_own(tmp_path):
    card = tmp_path / "run.json"
    card.write_text(json.dumps({"command": "train", "benchmarks": {"uci_digits: a": {"right": 9, "digits": 10}}}))
    record_benchmark(card, "uci_digits: b", {"right": 27, "digits": 30})
    record_benchmark(card, "styles", {"right": 1, "digits": 4})
    record_benchmark(card, "styles", {"right": 3, "digits": 4})
    record = RunRecord.from_dict(json.loads(card.read_text()))
    assert record.command == "train" and set(record.benchmarks) == {"uci_digits: a", "uci_digits: b", "styles"}
    assert record.benchmark_accuracy("uci_digits") == 0.9 and record.benchmark_accuracy("styles") == 0.75
    assert record.benchmark_accuracy("fonts") is None and RunRecord.from_dict({}).benchmark_accuracy("styles") is None


def test_one_rule_for_a_model_s_hyperparameters():
    assert hyperparams_of(model_meta(SHIPPED_MODEL)) == PRESETS["Best"]
    assert hyperparams_of({}) == PRESETS["Best"], "a model saved without its settings has the shipped architecture"
    assert hyperparams_of({"hyperparams": PRESETS["Quick"].to_dict()}) == PRESETS["Quick"]
