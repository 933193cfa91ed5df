"""Command lines, run as a user runs them: JSON-lines contract, errors, exit status, training and evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from harness import ROOT, run_module
from harness.synthetic_drawings import stroke_digit


def test_predict_prints_one_json_line_per_file_in_order(tmp_path):
    seven, blank, text = tmp_path / "seven.png", tmp_path / "blank.png", tmp_path / "notes.txt"
    Image.fromarray(stroke_digit(7, "top-right", "small", "paper")).save(seven)
    Image.fromarray(np.full((100, 100), 255, np.uint8)).save(blank)
    text.write_text("hello")
    result = run_module("model.predict", str(seven), str(blank), str(text), str(tmp_path / "missing.png"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(seven), str(blank), str(text), str(tmp_path / "missing.png")]
    assert lines[0]["digit"] == 7 and 0.5 < lines[0]["confidence"] <= 1
    assert len(lines[0]["probabilities"]) == 10 and abs(sum(lines[0]["probabilities"]) - 1) < 1e-3
    assert lines[1]["digit"] is None and lines[1]["probabilities"] == [0.0] * 10
    assert "not an image" in lines[2]["error"] and "no such file" in lines[3]["error"]
    assert result.returncode == 1


def test_predict_exits_zero_when_all_files_read_and_two_for_a_bad_model(tmp_path):
    one = tmp_path / "one.png"
    Image.fromarray(stroke_digit(1, style="chalk")).save(one)
    ok = run_module("model.predict", str(one))
    assert ok.returncode == 0 and json.loads(ok.stdout)["digit"] == 1
    bad_model = tmp_path / "bad.keras"
    bad_model.write_text("nope")
    failed = run_module("model.predict", "--model", str(bad_model), str(one))
    assert failed.returncode == 2 and "bad.keras: not a Keras model file" in failed.stderr


def test_train_saves_a_run_and_evaluate_reads_it(tmp_path):
    trained = run_module("training.train", "--epochs", "1", "--train-size", "1000", "--batch-size", "32",
                         "--name", "cli-test")
    assert trained.returncode == 0, trained.stderr
    assert "bundled MNIST sample" in trained.stdout
    assert "epoch 1/1" in trained.stdout and "test accuracy" in trained.stdout
    runs = list((Path(os.environ["DIGITS_DATA_DIR"]) / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.keras").is_file()
    meta = json.loads((runs[0] / "run.json").read_text())
    assert meta["hyperparams"]["train_size"] == 1000 and meta["data"]["source"] == "bundled sample"
    evaluated = run_module("training.evaluate", "--model", str(runs[0] / "model.keras"), "--json")
    report = json.loads(evaluated.stdout)
    assert evaluated.returncode == 0 and report["count"] == 2000
    assert abs(report["accuracy"] - meta["test"]["accuracy"]) < 1e-6
    assert len(report["confusion"]) == 10 and sum(map(sum, report["confusion"])) == 2000


def test_train_can_start_from_a_trained_model_and_the_two_can_be_averaged(tmp_path):
    first = tmp_path / "first.keras"
    assert run_module("training.train", "--epochs", "1", "--train-size", "2000", "--output", str(first)).returncode == 0
    accuracy = json.loads(first.with_suffix(".json").read_text())["test"]["accuracy"]
    # A step size far too small to train a fresh network: the second stage keeps what the first learned.
    second = tmp_path / "second.keras"
    again = run_module("training.train", "--epochs", "1", "--train-size", "100", "--learning-rate", "1e-5",
                       "--start-from", str(first), "--output", str(second))
    assert again.returncode == 0, again.stderr
    assert f"starting from {first}" in again.stdout
    meta = json.loads(second.with_suffix(".json").read_text())
    assert accuracy > 0.5 and abs(meta["test"]["accuracy"] - accuracy) < 0.02
    assert f"--start-from {first}" in meta["command"]
    other = run_module("training.train", "--epochs", "1", "--dense-units", "64", "--start-from", str(first))
    assert other.returncode == 2 and "architecture does not match" in other.stderr
    both = run_module("training.train", "--start-from", str(first), "--fine-tune", str(first),
                      "--include-drawings", str(tmp_path / "any.npz"))
    assert both.returncode == 2 and "give one" in both.stderr

    soup = tmp_path / "soup.keras"
    averaged = run_module("training.average", str(first), str(second), "--output", str(soup))
    assert averaged.returncode == 0, averaged.stderr
    card = json.loads(soup.with_suffix(".json").read_text())
    assert [i["file"] for i in card["averaged_from"]] == [str(first), str(second)]
    assert card["averaged_from"][1]["command"] == meta["command"] and card["test"]["accuracy"] > 0.5
    evaluated = json.loads(run_module("training.evaluate", "--model", str(soup), "--json").stdout)
    assert abs(evaluated["accuracy"] - card["test"]["accuracy"]) < 1e-6
    lonely = run_module("training.average", str(first), "--output", str(tmp_path / "one.keras"))
    assert lonely.returncode == 2 and "two or more" in lonely.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for command in (("training.average", str(first), str(second)), ("training.train", "--epochs", "1")):
        nowhere = run_module(*command, "--output", str(blocker / "model.keras"))
        assert nowhere.returncode == 2 and "cannot make its folder" in nowhere.stderr
        assert "epoch 1/1" not in nowhere.stdout and "test accuracy" not in nowhere.stdout, "refused before any work"


def test_evaluate_prints_per_class_accuracy_and_confusion_matrix():
    result = run_module("training.evaluate")
    assert result.returncode == 0
    assert "per-class accuracy" in result.stdout and "confusion matrix" in result.stdout


def test_cli_errors_are_clear(tmp_path):
    bad = run_module("training.train", "--learning-rate", "7", "--dropout", "2")
    assert bad.returncode == 2 and "learning_rate=7.0 is outside" in bad.stderr and "dropout" in bad.stderr
    missing = run_module("training.evaluate", "--data", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_the_command_lines_write_their_answers_and_none_of_tensorflows_log_lines(tmp_path):
    """TensorFlow writes ~16 lines to stderr as it loads, above the one line of JSON a file gets."""
    image = tmp_path / "seven.png"
    Image.fromarray(stroke_digit(7)).save(image)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the tests' default: unset, as a user's
    for args in (["model.predict", str(image)], ["model.explain", str(image), "--list-layers"]):
        run = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0 and json.loads(run.stdout.splitlines()[0]), args
        assert run.stderr == "", f"{args[0]} wrote to stderr:\n{run.stderr}"


def test_train_refuses_impossible_settings_before_loading_tensorflow():
    """Checking the arguments needs no TensorFlow: the answer comes at once, not after its 4 s import."""
    code = ("import sys, training.train as t; status = t.main(['--epochs', '0']); "
            "print(status, 'tensorflow' in sys.modules)")
    probe = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert probe.stdout.split() == ["2", "False"] and "epochs=0 is outside" in probe.stderr


def test_train_can_include_labelled_drawings(tmp_path):
    from training.drawings import DrawingStore

    store = DrawingStore(tmp_path / "drawings.sqlite3")
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1.0
    for _ in range(5):
        store.add(image, 1)
    exported = tmp_path / "mine.npz"
    exported.write_bytes(store.export_npz())
    for source in (store.path, exported):
        trained = run_module("training.train", "--epochs", "1", "--train-size", "500", "--include-drawings",
                             str(source), "--drawings-weight", "3")
        assert trained.returncode == 0, trained.stderr
        assert "with 5 labelled drawings" in trained.stdout and "repeated 3×" in trained.stdout
    runs = sorted((Path(os.environ["DIGITS_DATA_DIR"]) / "runs").iterdir())
    assert json.loads((runs[-1] / "run.json").read_text())["drawings"]["count"] == 5
    lonely = run_module("training.train", "--fine-tune", "model/weights/default.keras")
    assert lonely.returncode == 2 and "needs --include-drawings" in lonely.stderr
