"""Bring your own model: hostile and wrong files are refused with a message (their code never runs), and a
model trained elsewhere becomes a run that Draw, Inspect and the command lines use."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from harness import run_module
from harness.synthetic_drawings import stroke_digit
from model.arithmetic import explainable_layers
from model.explain import Explainer, feature_layers
from model.inference import Predictor
from model.model_file import MAX_LAYERS, MAX_MODEL_BYTES, check_in_child
from model.store import SHIPPED_MODEL, ModelFileError, ModelStore, load_keras_model
from training.limits import VisitorLimits
from training.runs import RunRecord
from training.uploads import add_uploaded_model

MARKER = "DIGITS_TEST_CODE_RAN"


def _leak(x):
    """A named function in a Lambda layer: if loading a file ever calls it, the marker file appears."""
    Path(os.environ[MARKER]).write_text("ran")
    return x


def _keras_archive(path: Path, config: dict, weights: bytes = b"", compress: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return path


def _sequential_config(layers: list[dict]) -> dict:
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "s", "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                                                "config": {"batch_shape": [None, 28, 28, 1]}}, *layers]}}


def _dense(units: int) -> dict:
    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "config": {"units": units}}


@pytest.fixture
def marker(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "code-ran"
    monkeypatch.setenv(MARKER, str(path))
    return path


def _hostile(kind: str, tmp_path: Path, marker: Path) -> tuple[Path, str]:
    """(a file of this kind, what the refusal must say)."""
    path = tmp_path / f"{kind}.keras"
    if kind in ("lambda", "named_function"):
        function = (lambda x: _leak(x)) if kind == "lambda" else _leak  # a real lambda, and a named function
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(function), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
        model.save(path)
        marker.unlink(missing_ok=True)  # building it ran the function here; loading must never run it again
        return path, "a Lambda layer"
    if kind == "custom_module":
        layer = {"module": "os", "class_name": "system", "registered_name": "os>system", "config": {"command": "id"}}
        return _keras_archive(path, _sequential_config([layer])), "from 'os', not a built-in Keras object"
    if kind == "not_keras_zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "not a model")
        return path, "a zip archive, but not a Keras model"
    if kind == "huge":
        with path.open("wb") as f:
            f.truncate(MAX_MODEL_BYTES + 1)
        return path, f"models up to {MAX_MODEL_BYTES // 2**20} MB"
    if kind == "zip_bomb":
        return _keras_archive(path, _sequential_config([]), b"\0" * 64 * 2**20, compress=True), "a zip bomb"
    if kind == "thousands_of_layers":
        return _keras_archive(path, _sequential_config([_dense(10)] * 5000)), f"more than {MAX_LAYERS} layers"
    if kind == "absurd_shape":
        return _keras_archive(path, _sequential_config([_dense(10**9)])), "a units of 1,000,000,000"
    if kind == "wrong_input":
        keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")]).save(path)
        return path, "its input is 32×32×3"
    if kind == "wrong_output":
        keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(5, activation="softmax")]).save(path)
        return path, "an output of shape 5"
    if kind == "renamed_image":
        from PIL import Image

        Image.fromarray(stroke_digit(3, style="paper")).save(path, format="PNG")
        return path, "this is a PNG image"
    raise AssertionError(kind)


HOSTILE = ["lambda", "named_function", "custom_module", "not_keras_zip", "huge", "zip_bomb", "thousands_of_layers",
           "absurd_shape", "wrong_input", "wrong_output", "renamed_image"]


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_and_wrong_files_are_refused_by_every_loader(kind, tmp_path, marker):
    path, says = _hostile(kind, tmp_path, marker)
    with pytest.raises(ModelFileError, match=says):  # the loader behind the pages, the API and every CLI
        load_keras_model(path)
    cli = run_module("model.predict", "--model", str(path), str(SHIPPED_MODEL.with_suffix(".json")))
    assert cli.returncode == 2 and says in json.loads(cli.stdout.splitlines()[0])["error"]
    assert "Traceback" not in cli.stderr
    store = ModelStore(tmp_path / "data")
    with pytest.raises(ModelFileError, match=says):  # an upload
        add_uploaded_model(store, path, path.name, None)  # (refused before the test data is needed)
    assert store.runs() == [] and not marker.exists(), "nothing saved, no code from the file ran"


def test_a_model_whose_outputs_are_not_probabilities_is_refused_on_upload(tmp_path):
    path = tmp_path / "logits.keras"
    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]).save(path)
    with pytest.raises(ValueError, match="end the network with a softmax"):
        check_in_child(path)


def test_a_model_trained_elsewhere_becomes_a_run_like_any_other(elsewhere, sample, tmp_path, monkeypatch):
    store = ModelStore(tmp_path / "data")
    info = add_uploaded_model(store, elsewhere, "mnist_convnet.keras", sample, owner="browser-1",
                              limits=VisitorLimits())
    record = RunRecord.from_dict(info.meta)
    assert record.uploaded == "mnist_convnet.keras" and record.owner == "browser-1" and record.visitor
    assert record.test.accuracy > 0.9 and record.parameters == load_keras_model(elsewhere).count_params()
    assert "hyperparams" not in info.meta  # not trained here
    model = load_keras_model(info.path)
    assert Predictor(model).predict(stroke_digit(7)).digit == 7
    # Inspect: feature maps found by type under Keras's own names, and every unit explained
    assert [fl.label for fl in feature_layers(model)] == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1"]
    x = Predictor(model).predict(stroke_digit(7)).preprocessed.model_input
    explainer = Explainer(model)
    for layer in explainable_layers(model):
        unit = (0, 0, 0) if layer.is_spatial else (0,)
        out = explainer.layer_outputs(x)[layer.name]
        expected = out[0, 0, 0] if layer.is_spatial else out[0]
        assert explainer.unit(x, layer.name, unit).value == pytest.approx(float(expected), rel=1e-4, abs=1e-5)
    monkeypatch.setenv("DIGITS_DATA_DIR", str(store.root))
    evaluated = run_module("training.evaluate", "--model", str(info.path), "--json")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["accuracy"] == pytest.approx(
        record.test.accuracy, abs=1e-6)


def test_a_model_of_28x28_images_without_a_channel_axis_is_adapted(sample, tmp_path, elsewhere_cnn):
    flat = elsewhere_cnn(input_shape=(28, 28))
    path = tmp_path / "flat.keras"
    flat.save(path)
    model = load_keras_model(path)
    assert tuple(model.inputs[0].shape[1:]) == (28, 28, 1)
    x = sample.x_test[:4] / 255.0
    np.testing.assert_allclose(model(x[..., None]), flat(x), rtol=1e-5, atol=1e-6)
    assert model.layers[1].name == "drop_channel"
    kinds = [layer.kind for layer in explainable_layers(model)]  # one chain: Inspect explains it unit by unit
    assert kinds[0] == "conv" and kinds[-1] == "dense"


def test_visitors_uploads_count_against_their_runs(elsewhere, sample, tmp_path):
    store, limits = ModelStore(tmp_path / "data"), VisitorLimits(runs_per_visitor=2)
    for _ in range(3):
        add_uploaded_model(store, elsewhere, "mine.keras", sample, owner="visitor-1", limits=limits)
    assert len(store.runs()) == 2  # the oldest went, as a third trained run would
