"""What the network does with one input: feature maps, learned filters, saliency, and how one unit computes.

Works on any model of built-in layers, this project's (``model.network.build_classifier``) or one trained
elsewhere: layers are found by type (``model/arithmetic.py``), not by name. Like the
Predictor, every computation here is a ``tf.function`` traced once per model, so the Inspect page stays fast
however often it reruns.

As a command line, the arithmetic of one unit on one image file, one JSON object::

    python -m model.explain FILE --layer NAME --unit C,ROW,COL   (conv and pooling layers)
    python -m model.explain FILE --layer NAME --unit INDEX       (dense and flatten layers)
    python -m model.explain --list-layers [--model PATH]

``{"file", "layer", "kind", "unit", "receptive_field", "terms", "sum", "bias", "pre_activation", "steps",
"activation", "value"}`` (and ``softmax`` for the output layer); bad arguments print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from model.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # before Keras loads it: `python -m` prints JSON, not TensorFlow's log lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from model.arithmetic import UnitArithmetic, UnitError, chain, explainable_layers, unit_arithmetic  # noqa: E402

IG_STEPS = 32
"""Integrated-gradients path steps: enough for attributions to sum to within a few % of the logit gap."""


@dataclass(frozen=True)
class FeatureLayer:
    """A layer whose output is worth showing: after a convolution's activation, or after pooling."""

    name: str
    """The layer's name in the model (e.g. ``conv1_2_relu``, ``pool1``)."""
    label: str
    """How the page names it (e.g. ``conv1_2``, ``pool1``)."""
    shape: tuple[int, int, int]
    """(height, width, channels) of its output."""


def feature_layers(model: keras.Model) -> list[FeatureLayer]:
    """Each conv's output after its last element-wise step (batch norm, activation) and each pooling output, in
    network order (none for an MLP), found by layer type: this project's ``conv1_1`` is shown as the output of
    ``conv1_1_relu``, a model trained elsewhere by its own names. A network that is not one chain of layers
    shows its convolutions' own outputs."""
    try:
        layers = [layer for layer in explainable_layers(model) if layer.is_spatial and layer.kind in ("conv", "pool")]
    except UnitError:
        return [FeatureLayer(layer.name, layer.name, tuple(layer.output.shape[1:])) for layer in model.layers
                if isinstance(layer, keras.layers.Conv2D)]
    last = {layer.anchor: layer for layer in layers}  # the last of each anchor's steps
    return [FeatureLayer(layer.name, layer.anchor, layer.shape) for layer in last.values()]


def conv_kernels(model: keras.Model) -> list[tuple[str, np.ndarray]]:
    """(name, kernel (k, k, in, out)) of every convolution, in order."""
    return [(layer.name, layer.get_weights()[0]) for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def first_dense_templates(model: keras.Model) -> np.ndarray:
    """An MLP's first layer as images: (units, 28, 28), each unit's weight on every input pixel (what it
    looks for, anywhere in the image, since it has no notion of neighbouring pixels)."""
    dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    kernel = dense.get_weights()[0]
    return kernel.T.reshape(-1, 28, 28)


class Explainer:
    """Feature maps and saliency for one model; safe to share between sessions."""

    def __init__(self, model: keras.Model):
        self.model = model
        self._outputs = None  # (layer names, forward pass returning every layer's output): built on first use
        self.layers = feature_layers(model)
        convs = [fl for fl in self.layers if isinstance(model.get_layer(fl.label), keras.layers.Conv2D)]
        self.last_conv = convs[-1] if convs else None
        """The layer Grad-CAM explains; None for a network without convolutions (an MLP)."""
        spec = [tf.TensorSpec((1, 28, 28, 1), tf.float32)]
        digit = [tf.TensorSpec((), tf.int32)]  # (no AutoGraph: plain tensor code, see model/inference.py)
        self._integrated = tf.function(self._integrated_fn, input_signature=spec + digit, autograph=False)
        if self.last_conv is not None:
            # One functional model returning every feature map from a single forward pass.
            self._probe = keras.Model(model.inputs, [model.get_layer(fl.name).output for fl in self.layers])
            self._maps = tf.function(lambda x: self._probe(x, training=False), input_signature=spec, autograph=False)
            self._cam_model = keras.Model(model.inputs, [model.get_layer(self.last_conv.name).output, model.output])
            self._gradcam = tf.function(self._gradcam_fn, input_signature=spec + digit, autograph=False)

    def layer_outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """{layer name: its output, without the batch axis} for a model input (1, 28, 28, 1), from one forward
        pass, every layer of the chain. Raises UnitError for a network that is not one chain of layers."""
        if self._outputs is None:
            layers = chain(self.model)
            probe = keras.Model(self.model.inputs, [layer.output for layer in layers])
            run = tf.function(lambda batch: probe([batch], training=False), autograph=False,
                              input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
            self._outputs = ([layer.name for layer in layers], run)
        names, run = self._outputs
        return {name: out.numpy()[0] for name, out in zip(names, run(tf.constant(x, tf.float32)))}

    def layer_inputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """{layer name: the input it received} (see ``layer_outputs``): the previous layer's output."""
        outputs = self.layer_outputs(x)
        names = list(outputs)
        return dict(zip(names, [x[0]] + [outputs[name] for name in names[:-1]]))

    def unit(self, x: np.ndarray, layer: str, unit: tuple[int, ...]) -> UnitArithmetic:
        """How ``unit`` of ``layer`` computes its value on input ``x`` (see ``model/arithmetic.py``)."""
        return unit_arithmetic(self.model, self.layer_inputs(x), layer, unit)

    def feature_maps(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """{layer label: (h, w, channels)} for a model input (1, 28, 28, 1)."""
        maps = self._maps(tf.constant(x, tf.float32))
        return {fl.label: m.numpy()[0] for fl, m in zip(self.layers, maps)}

    def _gradcam_fn(self, x, digit):
        with tf.GradientTape() as tape:
            maps, probabilities = self._cam_model(x, training=False)
            target = _log_probability(probabilities, digit)
        grads = tape.gradient(target, maps)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
        return tf.image.resize(cam, (28, 28), method="bilinear")[0, :, :, 0]

    def _integrated_fn(self, x, digit):
        alphas = tf.reshape(tf.linspace(1.0 / IG_STEPS, 1.0, IG_STEPS), (IG_STEPS, 1, 1, 1))
        path = alphas * x  # from a black image (no ink) to the input
        with tf.GradientTape() as tape:
            tape.watch(path)
            target = _log_probability(self.model(path, training=False), digit)
        grads = tape.gradient(target, path)
        return (x * tf.reduce_mean(grads, axis=0, keepdims=True))[0, :, :, 0]

    def gradcam(self, x: np.ndarray, digit: int) -> np.ndarray:
        """Grad-CAM on the last conv layer for ``digit``: (28, 28) in [0, 1], where its evidence lies."""
        return _unit(self._gradcam(tf.constant(x, tf.float32), tf.constant(digit, tf.int32)).numpy())

    def integrated_gradients(self, x: np.ndarray, digit: int) -> np.ndarray:
        """Integrated gradients for ``digit`` from a blank baseline: (28, 28), signed, per pixel."""
        return self._integrated(tf.constant(x, tf.float32), tf.constant(digit, tf.int32)).numpy()

    def pixel_saliency(self, x: np.ndarray, digit: int) -> np.ndarray:
        """The pixels whose ink raises ``digit``'s score: the positive part of the integrated gradients,
        scaled to [0, 1] like Grad-CAM so both show on one colour scale."""
        return _unit(np.clip(self.integrated_gradients(x, digit), 0, None))


def strongest_channels(maps: np.ndarray) -> np.ndarray:
    """Channel indices of feature maps (h, w, channels), most active (mean activation) first."""
    return np.argsort(-maps.mean(axis=(0, 1)))


def _log_probability(probabilities: tf.Tensor, digit: tf.Tensor) -> tf.Tensor:
    """The explained target: log p(digit), whose gradient a saturated softmax does not flatten."""
    return tf.math.log(probabilities[:, digit] + 1e-9)


def _unit(image: np.ndarray) -> np.ndarray:
    top = float(image.max(initial=0))
    return image / top if top > 0 else image


# ---------------------------------------------------------------- command line

def parse_unit(text: str) -> tuple[int, ...]:
    """``"3,5,7"`` → (3, 5, 7); ``"42"`` → (42,)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UnitError(f"--unit {text!r}: give CHANNEL,ROW,COL or INDEX as whole numbers") from None


def main(argv: list[str] | None = None) -> int:
    from model.inference import Predictor
    from model.preprocess import ImageError
    from model.store import SHIPPED_MODEL, ModelFileError

    parser = argparse.ArgumentParser(prog="python -m model.explain",
                                     description="How one unit of a layer computes its value on an image.")
    parser.add_argument("file", nargs="?", metavar="FILE", help="an image of one digit (PNG, JPEG, …)")
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="a .keras model (default: the shipped model)")
    parser.add_argument("--layer", help="the layer's name (see --list-layers)")
    parser.add_argument("--unit", help="CHANNEL,ROW,COL for a conv or pooling layer, INDEX for a dense one")
    parser.add_argument("--list-layers", action="store_true", help="print the layers and their output shapes")
    args = parser.parse_args(argv)

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        return 2

    if not args.list_layers and (args.file is None or args.layer is None or args.unit is None):
        return fail("give FILE, --layer and --unit (or --list-layers)")
    try:
        predictor = Predictor.load(args.model)
        if args.list_layers:
            for layer in explainable_layers(predictor.model):
                print(json.dumps({"layer": layer.name, "kind": layer.kind, "shape": list(layer.shape)}))
            return 0
        unit = parse_unit(args.unit)
        prediction = predictor.predict(args.file)
        if prediction.digit is None:
            return fail(f"{args.file}: {prediction.no_digit}")
        arithmetic = Explainer(predictor.model).unit(prediction.preprocessed.model_input, args.layer, unit)
    except (ModelFileError, ImageError, UnitError) as exc:
        return fail(str(exc))
    print(json.dumps({"file": args.file, **arithmetic.to_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
