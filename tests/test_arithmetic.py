"""How a unit computes: the arithmetic re-computed from weights must equal what Keras outputs, add up, and
name the right receptive field — for the shipped CNN, an MLP, LeNet-5 and unusual geometries."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from harness import run_module
from model.arithmetic import UnitError, explainable_layers, receptive_field
from model.explain import Explainer
from model.network import NetworkConfig, build_classifier
from model.preprocess import images_to_input


def _config(architecture: str, batch_norm: bool = False) -> NetworkConfig:
    return NetworkConfig(conv_blocks=2, filters=4, convs_per_block=1, kernel_size=3, dense_units=16,
                         dropout=0.25, batch_norm=batch_norm, architecture=architecture)


def _odd_geometry() -> keras.Model:
    """Strides, 'valid' and 'same' padding with uneven splits, dilation, average and global pooling."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(3, 4, strides=2, padding="same", name="strided")(inputs)
    x = keras.layers.AveragePooling2D(3, strides=2, padding="same", name="avg")(x)
    x = keras.layers.Conv2D(5, 3, dilation_rate=2, padding="same", activation="tanh", name="dilated")(x)
    x = keras.layers.MaxPooling2D(2, padding="valid", name="max")(x)
    x = keras.layers.GlobalAveragePooling2D(name="global")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs)


def _trained_statistics(model: keras.Model) -> keras.Model:
    """Give batch norms statistics other than 0/1, so their step is really exercised."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.5, n), rng.normal(0, 0.3, n),
                               rng.uniform(0.2, 3, n)])
    return model


MODELS = {
    "lenet5": lambda: build_classifier(_config("lenet5")),
    "mlp": lambda: build_classifier(_config("mlp")),
    "cnn_batch_norm": lambda: _trained_statistics(build_classifier(_config("cnn", batch_norm=True))),
    "cnn_bias": lambda: build_classifier(_config("cnn")),
    "odd_geometry": _odd_geometry,
}


def _outputs(model: keras.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output by Keras itself: the independent reference."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    return {layer.name: out.numpy()[0] for layer, out in zip(layers, probe([x], training=False))}


def _random_units(layer, rng, count=4):
    for _ in range(count):
        if layer.is_spatial:
            h, w, c = layer.shape
            yield int(rng.integers(c)), int(rng.integers(h)), int(rng.integers(w))
        else:
            yield (int(rng.integers(layer.shape[0])),)


def _check_every_layer(model: keras.Model, x: np.ndarray) -> int:
    explainer, reference, rng, checked = Explainer(model), _outputs(model, x), np.random.default_rng(1), 0
    for layer in explainable_layers(model):
        for unit in _random_units(layer, rng):
            a = explainer.unit(x, layer.name, unit)
            out = reference[layer.name]
            expected = out[unit[1], unit[2], unit[0]] if layer.is_spatial else out[unit[0]]
            assert a.value == pytest.approx(float(expected), rel=1e-4, abs=1e-5), (layer.name, unit)
            assert a.sum + a.bias == a.pre_activation
            if a.operation == "weighted sum":
                assert sum(t.product for t in a.terms) == pytest.approx(a.sum, rel=1e-9, abs=1e-9)
                assert all(t.product == pytest.approx(t.input * t.weight) for t in a.terms)
            value = a.pre_activation
            for step in a.steps:  # each step starts where the previous one ended
                assert step.input == pytest.approx(value)
                value = step.output
            assert value == a.value
            checked += 1
    return checked


@pytest.mark.parametrize("name", list(MODELS))
def test_value_is_what_the_layer_outputs(name, sample):
    model = MODELS[name]()
    assert _check_every_layer(model, images_to_input(sample.x_test[:1])) >= 4 * 4


def test_shipped_model_every_layer(predictor, sample):
    x = images_to_input(sample.x_test[:1])
    kinds = {layer.kind for layer in explainable_layers(predictor.model)}
    assert kinds == {"conv", "pool", "flatten", "dense"}
    assert _check_every_layer(predictor.model, x) >= 4 * len(explainable_layers(predictor.model))


def test_batch_norm_and_softmax_are_visible_steps(predictor, sample):
    x = images_to_input(sample.x_test[:1])
    explainer = Explainer(predictor.model)
    relu = explainer.unit(x, "conv1_1_relu", (0, 14, 14))
    assert [s.operation for s in relu.steps] == ["batch_norm", "relu"] and relu.activation == "relu"
    bn = relu.steps[0].detail
    normalised = (relu.steps[0].input - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + bn["epsilon"])
    assert relu.steps[0].output == pytest.approx(bn["gamma"] * normalised + bn["beta"])
    assert len(relu.terms) == 9 and relu.window.shape == (3, 3, 1)
    out = explainer.unit(x, "probabilities", (int(sample.y_test[0]),))
    probabilities = predictor.probabilities(x)[0]
    np.testing.assert_allclose(out.softmax.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    assert out.softmax.total == pytest.approx(out.softmax.exponentials.sum())
    deep = explainer.unit(x, "conv2_1", (5, 3, 3))
    assert deep.channel_contributions().sum() == pytest.approx(deep.sum)
    top, rest, count = deep.largest_terms(10)
    assert len(top) == 10 and count == len(deep.terms) - 10
    assert sum(t.product for t in top) + rest == pytest.approx(deep.sum)


@pytest.mark.parametrize("name", ["odd_geometry", "lenet5", "cnn_bias"])
def test_receptive_field_is_where_the_gradient_reaches(name):
    """Up to the first ReLU or max-pool (which pass gradients from only some pixels), the pixels that move a
    unit are exactly its receptive field."""
    model = MODELS[name]()
    rng = np.random.default_rng(2)
    x = tf.constant(rng.uniform(0.1, 1, (1, 28, 28, 1)), tf.float32)
    for layer in explainable_layers(model):
        kind = type(model.get_layer(layer.name))
        if kind in (keras.layers.ReLU, keras.layers.MaxPooling2D) or not layer.is_spatial:
            break
        for c, row, col in _random_units(layer, rng, 3):
            sub = keras.Model(model.inputs, model.get_layer(layer.name).output)
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = sub([x])[0, row, col, c]
            touched = np.argwhere(np.abs(tape.gradient(y, x).numpy()[0, :, :, 0]) > 0)
            top, left, bottom, right = receptive_field(model, layer.name, row, col)
            assert (touched.min(0).tolist(), (touched.max(0) + 1).tolist()) == ([top, left], [bottom, right]), \
                (layer.name, row, col)


def test_receptive_field_of_the_first_layer_and_dense(predictor):
    assert receptive_field(predictor.model, "conv1_1", 0, 0) == (0, 0, 2, 2)  # 3×3 clipped at the corner
    assert receptive_field(predictor.model, "conv1_1_relu", 10, 20) == (9, 19, 12, 22)
    assert receptive_field(predictor.model, "pool1", 3, 4) == (4, 6, 10, 12)  # 2 convs of 3 → 6×6 under a 2×2
    assert receptive_field(predictor.model, "dense") == (0, 0, 28, 28)


def test_a_flatten_unit_has_the_field_of_the_value_it_moves(predictor, sample):
    x = images_to_input(sample.x_test[:1])
    moved = Explainer(predictor.model).unit(x, "flatten", (3 * 7 * 64 + 4 * 64 + 5,))  # pool2 channel 5 at (3, 4)
    assert moved.terms[0].position == (5, 3, 4)
    assert moved.receptive_field == receptive_field(predictor.model, "pool2", 3, 4)
    mlp = build_classifier(_config("mlp"))
    pixel = Explainer(mlp).unit(x, "flatten", (4 * 28 + 17,))  # an MLP's flatten: one pixel of the input
    assert pixel.receptive_field == (4, 17, 5, 18)


def test_bad_units_and_layers_are_refused(predictor, sample):
    explainer, x = Explainer(predictor.model), images_to_input(sample.x_test[:1])
    for layer, unit, message in [("nope", (0,), "no layer named"), ("image", (0,), "no arithmetic"),
                                 ("pool1", (0, 14, 0), "row 14 is out of range"), ("dense", (1, 2, 3), "one INDEX"),
                                 ("conv1_1", (5,), "CHANNEL,ROW,COL"), ("probabilities", (10,), "index 10")]:
        with pytest.raises(UnitError, match=message):
            explainer.unit(x, layer, unit)


def test_command_line(tmp_path, sample):
    from PIL import Image

    image = tmp_path / "seven.png"
    Image.fromarray(255 - sample.x_test[0]).save(image)  # dark ink on white, as drawn
    out = run_module("model.explain", str(image), "--layer", "conv1_1_relu", "--unit", "3,14,14")
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["file"] == str(image) and record["kind"] == "conv" and record["unit"] == [3, 14, 14]
    assert record["sum"] + record["bias"] == record["pre_activation"]
    assert record["receptive_field"] == [13, 13, 16, 16] and len(record["terms"]) == 9
    listed = run_module("model.explain", "--list-layers")
    assert listed.returncode == 0
    layers = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {"layer": "pool1", "kind": "pool", "shape": [14, 14, 32]} in layers
    for bad in (["--layer", "conv9", "--unit", "0"], ["--layer", "dense", "--unit", "999"],
                ["--layer", "dense", "--unit", "x"]):
        failed = run_module("model.explain", str(image), *bad)
        assert failed.returncode == 2 and failed.stdout == ""
        assert failed.stderr.strip().splitlines()[-1].startswith("error: ")
