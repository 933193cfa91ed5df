"""The Predictor's forward passes: one image through TensorFlow Lite, batches through the graph function — the
same numbers as Keras's own forward pass, from many threads at once, and a model the converter refuses still
served; with int8 weights (the prediction service's), the same digits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from harness.synthetic_drawings import stroke_digit
from model.inference import OneImageForward, Predictor
from model.preprocess import images_to_input, to_model_input


def test_one_image_reads_as_keras_reads_it(predictor, sample):
    inputs = images_to_input(sample.x_test[:40])
    keras_says = predictor.model(inputs, training=False).numpy()
    one_by_one = np.stack([predictor._forward_one(x[None])[0] for x in inputs])
    assert np.abs(one_by_one - keras_says).max() < 1e-5
    assert np.abs(predictor.probabilities(inputs) - keras_says).max() < 1e-5
    assert (one_by_one.argmax(axis=1) == sample.y_test[:40]).mean() > 0.9


def test_int8_weights_read_the_digits_the_float_model_reads(predictor, sample):
    quantized = Predictor(predictor.model, quantized=True)
    interpreter = quantized._forward_one._pool.get()
    assert any(tensor["dtype"] == np.int8 for tensor in interpreter.get_tensor_details()), "no int8 weights"
    inputs = images_to_input(sample.x_test[:100])
    exact = predictor.probabilities(inputs)
    int8 = np.stack([quantized._forward_one(x[None])[0] for x in inputs])
    assert (int8.argmax(axis=1) == exact.argmax(axis=1)).all()
    assert np.abs(int8 - exact).max() < 0.05
    assert np.abs(quantized.probabilities(inputs) - exact).max() < 1e-5, "batches stay on the float model"


def test_many_threads_predict_at_once_and_each_gets_its_own_answer(predictor):
    drawings = {digit: stroke_digit(digit) for digit in range(10)}
    alone = {digit: predictor.predict(image).probabilities for digit, image in drawings.items()}
    with ThreadPoolExecutor(8) as pool:  # more threads than interpreters in the pool: some wait for one
        answers = list(pool.map(lambda d: (d, predictor.predict(drawings[d]).probabilities), list(range(10)) * 8))
    for digit, probabilities in answers:
        np.testing.assert_array_equal(probabilities, alone[digit])
        assert probabilities.argmax() == digit


def test_a_model_the_converter_refuses_is_run_by_the_graph_function(predictor, monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("the converter does not know this layer")

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", refuse)
    fallback = Predictor(predictor.model)
    assert isinstance(fallback._forward_one, OneImageForward) and fallback._forward_one._pool is None
    x = to_model_input(stroke_digit(7)).model_input
    np.testing.assert_allclose(fallback._forward_one(x), predictor._forward_one(x), atol=1e-5)
    assert fallback.predict(stroke_digit(7)).digit == 7
