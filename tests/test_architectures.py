"""MLP, LeNet-5 and CNN: built, trained by the command line, saved and loaded in safe mode, read on Draw and
explained on Inspect (an MLP without feature maps); the Train page offers each with the knobs it uses and
compares runs side by side; Inspect's nearest training digits and embedding map."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from dashboard.session import INPUT_KEY, MODEL_KEY, CurrentInput
from harness import run_module
from harness.synthetic_drawings import stroke_digit
from model.arithmetic import explainable_layers
from model.embedding import EmbeddingIndex, EmbeddingMap
from model.explain import Explainer, feature_layers
from model.inference import Predictor
from model.network import ARCHITECTURES, build_classifier
from model.preprocess import images_to_input
from model.store import ModelStore, load_keras_model
from training.hyperparams import PRESETS, Hyperparams
from training.loop import train
from training.metrics import evaluate_probabilities


@pytest.fixture(scope="module")
def trained(sample) -> dict[str, object]:
    """One short run of each architecture on the bundled sample (the accuracies are not the point here)."""
    settings = Hyperparams(epochs=1, train_size=2000, validation_fraction=0.0, learning_rate=3e-3)
    return {arch: train(Hyperparams(**{**settings.to_dict(), "architecture": arch}), sample).model
            for arch in ARCHITECTURES}


def test_each_architecture_has_its_own_shape():
    counts = {arch: build_classifier(Hyperparams(architecture=arch).network).count_params() for arch in ARCHITECTURES}
    assert counts["lenet5"] == 61_706, "LeNet-5's classic size (with MNIST's 28×28 padded to the paper's 32×32)"
    assert counts["mlp"] == 784 * 128 + 128 + 128 * 128 + 128 + 1290
    lenet = build_classifier(Hyperparams(architecture="lenet5").network)
    assert [fl.label for fl in feature_layers(lenet)] == ["conv1_1", "pool1", "conv2_1", "pool2"]
    assert feature_layers(build_classifier(Hyperparams(architecture="mlp").network)) == []


def test_knobs_apply_only_where_they_shape_the_network():
    mlp, lenet, cnn = (Hyperparams(architecture=a) for a in ("mlp", "lenet5", "cnn"))
    assert mlp.applies("dense_units") and not mlp.applies("filters") and mlp.applies("epochs")
    assert not lenet.applies("dropout") and not lenet.applies("kernel_size")
    assert cnn.applies("filters") and cnn.applies("batch_norm")


def test_every_architecture_saves_loads_safely_reads_and_is_explained(trained, tmp_path):
    store = ModelStore(tmp_path)
    for arch, model in trained.items():
        info = store.save_run(model, {"hyperparams": {"architecture": arch}}, name=arch)
        loaded = load_keras_model(info.path)
        prediction = Predictor(loaded).predict(stroke_digit(1))
        assert prediction.digit is not None and abs(prediction.probabilities.sum() - 1) < 1e-4
        explainer = Explainer(loaded)
        heat = explainer.pixel_saliency(prediction.preprocessed.model_input, prediction.digit)
        assert heat.shape == (28, 28) and heat.max() == pytest.approx(1.0)
        assert (explainer.last_conv is None) == (arch == "mlp")


def test_cli_trains_an_mlp_and_prints_its_test_accuracy():
    done = run_module("training.train", "--architecture", "mlp", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    accuracy = float(done.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 80, "an MLP learns digits too, if less well than a CNN"
    [run] = (Path(os.environ["DIGITS_DATA_DIR"]) / "runs").iterdir()
    record = json.loads((run / "run.json").read_text())
    assert record["hyperparams"]["architecture"] == "mlp" and record["parameters"] == 118_282


def test_train_page_shows_each_architecture_s_knobs_and_compares_runs(open_page, trained, sample):
    store = ModelStore()
    for arch in ("mlp", "lenet5"):
        probabilities = Predictor(trained[arch]).probabilities(images_to_input(sample.x_test[:300]))
        test = evaluate_probabilities(probabilities, sample.y_test[:300]).to_dict()
        store.save_run(trained[arch], {"hyperparams": Hyperparams(architecture=arch).to_dict(), "test": test,
                                       "train_seconds": 3.0}, name=arch)
    at = open_page("train")
    labels = {w.label for kind in ("number_input", "toggle", "selectbox") for w in at.get(kind)}
    assert {"Conv blocks", "Filters", "Dense units"} <= labels
    at.segmented_control(key="train_architecture").set_value("mlp").run()
    labels = {w.label for kind in ("number_input", "toggle", "selectbox") for w in at.get(kind)}
    assert "Dense units" in labels and "Conv blocks" not in labels and "Filters" not in labels
    at.segmented_control(key="train_architecture").set_value("lenet5").run()
    assert any("LeNet-5 has the paper's fixed shape" in c.value for c in at.caption)
    [models] = [d.value for d in at.dataframe if "architecture" in d.value.columns]
    assert set(models["architecture"]) == {"MLP", "LeNet-5", "CNN"}
    assert any("Per-class test accuracy of the compared models" in m.value for m in at.markdown)


def test_inspect_explains_an_mlp_without_feature_maps(open_page, trained):
    run = ModelStore().save_run(trained["mlp"], {"hyperparams": Hyperparams(architecture="mlp").to_dict()},
                                name="mlp")
    at = open_page("inspect", run=False)
    at.session_state[MODEL_KEY] = run.id
    at.session_state[INPUT_KEY] = CurrentInput(stroke_digit(7), "canvas")
    at.run()
    assert not at.exception
    assert any("no convolutions, so there are no feature maps" in i.value for i in at.info)
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert any("units of the first dense layer" in c for c in captions)
    assert at.radio(key="inspect_method").options == ["Integrated gradients (pixels)"]
    assert any("MNIST training digits nearest to your drawing" in c for c in captions)
    assert len(at.get("vega_lite_chart")) >= 2, "the probabilities and the embedding map"


@pytest.mark.parametrize("arch", ["mlp", "lenet5"])
def test_inspect_shows_how_every_layer_s_units_compute(open_page, trained, arch):
    """Each layer of a run of each architecture: its arithmetic agrees with the forward pass (✓, never ✗)."""
    run = ModelStore().save_run(trained[arch], {"hyperparams": Hyperparams(architecture=arch).to_dict()}, name=arch)
    at = open_page("inspect", run=False)
    at.session_state[MODEL_KEY] = run.id
    at.session_state[INPUT_KEY] = CurrentInput(stroke_digit(2), "canvas")
    at.run()
    layers = at.selectbox(key="unit_layer")
    assert [o.split(" — ")[0] for o in layers.options] == [layer.name for layer in explainable_layers(trained[arch])]
    for option in layers.options:
        at.selectbox(key="unit_layer").set_value(option.split(" — ")[0]).run()
        checks = [m.value for m in at.markdown if "forward pass gives" in m.value]
        assert not at.exception and len(checks) == 1 and "✓" in checks[0] and "✗" not in checks[0], option
    kernels = at.selectbox(key="slide_source").options
    assert ("The model's own first-layer kernel" in kernels) == (arch == "lenet5")  # an MLP has none


def test_nearest_training_digits_and_the_map(predictor, sample):
    index = EmbeddingIndex(predictor.model, sample.x_train[:1000], sample.y_train[:1000])
    itself = index.nearest(images_to_input(sample.x_train[3:4]), k=5)
    assert itself[0].index == 3 and itself[0].distance == pytest.approx(0, abs=1e-5)
    assert [n.distance for n in itself] == sorted(n.distance for n in itself)
    query = index.nearest(images_to_input(sample.x_test[:1]), k=5)
    assert sum(n.label == sample.y_test[0] for n in query) >= 4, "the model's neighbours share its label"
    features = index.embed(images_to_input(sample.x_test[:300]))
    the_map = EmbeddingMap(features, sample.y_test[:300])
    assert the_map.points.shape == (300, 2) and 0 < the_map.explained <= 1
    assert np.allclose(the_map.place(features[:5]), the_map.points[:5], atol=1e-4)
    centres = np.stack([the_map.points[the_map.labels == d].mean(axis=0) for d in range(10)])
    assert np.ptp(centres, axis=0).min() > 0, "the classes' clouds sit apart"
    assert PRESETS["Quick"].architecture == "cnn"
