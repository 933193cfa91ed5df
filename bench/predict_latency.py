"""Predict latency at batch 1 on a 280×280 canvas: our Predictor vs Keras's ``model.predict``.

Both use the same shipped model in the same process. Ours includes preprocessing (the whole canvas
→ 28×28); ``model.predict`` gets the already preprocessed input, so the comparison favours it. The forward
pass of one image (TensorFlow Lite's XNNPACK kernels) is also timed against the ways it could be run instead,
on the same input: XLA-compiled (what it replaced) and the plain graph function that runs batches; and with the
int8 weights the prediction service reads with.
Run: ``python -m bench.predict_latency [--runs N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorflow as tf

from harness.synthetic_drawings import stroke_digit
from model.inference import Predictor, batch_forward
from model.network import INPUT_SHAPE
from model.preprocess import to_model_input
from model.store import SHIPPED_MODEL


def _timed(fn, runs: int) -> np.ndarray:
    for _ in range(5):  # warm-up
        fn()
    out = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    predictor = Predictor.load(SHIPPED_MODEL)
    canvases = [stroke_digit(d, place, "medium") for d, place in ((3, "centre"), (7, "top-left"), (0, "bottom-right"))]
    x = to_model_input(canvases[0]).model_input

    preprocessed = to_model_input(canvases[0])
    xla = tf.function(lambda x: predictor.model(x, training=False), jit_compile=True, autograph=False,
                      input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)]).get_concrete_function()
    graph = batch_forward(predictor.model, INPUT_SHAPE)
    quantized = Predictor(predictor.model, quantized=True)  # the prediction service's

    ours = _timed(lambda: predictor.predict(canvases[0]), args.runs)
    pre = _timed(lambda: to_model_input(canvases[0]), args.runs)
    forward = _timed(lambda: predictor.predict(preprocessed), args.runs)
    int8_forward = _timed(lambda: quantized.predict(preprocessed), args.runs)
    xla_forward = _timed(lambda: xla(tf.constant(x)).numpy(), args.runs)
    graph_forward = _timed(lambda: graph(tf.constant(x)).numpy(), args.runs)
    keras_predict = _timed(lambda: predictor.model.predict(x, verbose=0), max(30, args.runs // 5))
    assert {predictor.predict(c).digit for c in canvases} == {3, 7, 0}

    def row(name, t):
        print(f"{name:<44} p50 {np.percentile(t, 50):7.2f} ms   p95 {np.percentile(t, 95):7.2f} ms")

    row("Predictor.predict (preprocess+model)", ours)
    row("  of which to_model_input", pre)
    row("  of which the forward pass (TensorFlow Lite)", forward)
    row("the forward pass, int8 weights (service)", int8_forward)
    row("the forward pass XLA-compiled instead", xla_forward)
    row("the forward pass as a plain graph instead", graph_forward)
    row("model.predict (model only)", keras_predict)
    print(f"forward pass: TensorFlow Lite {np.percentile(forward, 50):.2f} ms, "
          f"{np.percentile(xla_forward, 50) / np.percentile(forward, 50):.2f}× faster than XLA, "
          f"{np.percentile(graph_forward, 50) / np.percentile(forward, 50):.2f}× than the plain graph; "
          f"with int8 weights {np.percentile(int8_forward, 50):.2f} ms, "
          f"{np.percentile(forward, 50) / np.percentile(int8_forward, 50):.1f}× faster than the float model")
    p50, k50 = np.percentile(ours, 50), np.percentile(keras_predict, 50)
    print(f"predict p50 {p50:.2f} ms, model.predict p50 {k50:.2f} ms, speedup {k50 / p50:.0f}×")


if __name__ == "__main__":
    main()
