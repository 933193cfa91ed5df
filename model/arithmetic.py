"""How one unit of a layer computes its value, as numbers that add up.

A *unit* is one number a layer outputs: channel ``c`` at (row, col) of a conv or pooling layer's map, or
entry ``i`` of a dense or flatten layer's vector. Its arithmetic is the layer's weighted sum written out —
every input × weight term, their sum, the bias, the pre-activation — followed by the element-wise steps
that come after it in the network (batch norm, the activation, dropout, which does nothing at inference)
up to the layer asked about, and for a softmax output the ten logits and their normalisation.

Everything is computed here in float64 numpy from the layer's weights and the actual input the layer
received in a forward pass (``layer_inputs``), so ``value`` is an independent re-computation that must
agree with what Keras outputs (tests hold them equal). Layers are read by Keras type, not by the names
``model.network`` gives them, so any sequential model of built-in layers is explained, the shipped one,
every run, and models trained elsewhere.

Positions are (channel, row, col), channel first, as a student names "channel 3, pixel (5, 7)"; receptive
fields are (top, left, bottom, right) in the 28×28 model input, bottom/right exclusive like every box in
this project, clipped to the image (zero padding has no pixel behind it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np

WEIGHTED = (keras.layers.Conv2D, keras.layers.Dense)
POOLING = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
GLOBAL_POOLING = (keras.layers.GlobalMaxPooling2D, keras.layers.GlobalAveragePooling2D)
INACTIVE_AT_INFERENCE = (keras.layers.Dropout, keras.layers.SpatialDropout2D, keras.layers.GaussianNoise,
                         keras.layers.GaussianDropout, keras.layers.AlphaDropout)
ELEMENTWISE = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
               keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.Softmax, *INACTIVE_AT_INFERENCE)
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "softmax", "elu", "leaky_relu", "softplus", "swish", "silu")


class UnitError(ValueError):
    """A layer or unit that cannot be explained; the message says why in a user's words."""


@dataclass(frozen=True)
class Term:
    """One input × weight of a weighted sum (for pooling: one value of the window, weight 1 or 1/n)."""

    position: tuple[int, ...]
    """Where the input sits in the layer's input: (channel, row, col) or (index,)."""
    input: float
    weight: float
    product: float


@dataclass(frozen=True)
class Step:
    """An element-wise operation after the sum: batch norm, an activation, an inactive dropout."""

    layer: str
    operation: str
    """``batch_norm``, an activation's name (``relu``, ``tanh``, ``softmax``…), or ``identity``."""
    input: float
    output: float
    detail: dict[str, float] = field(default_factory=dict)
    """Batch norm's gamma, beta, moving mean and variance, epsilon; the ReLU variants' parameters."""


@dataclass(frozen=True)
class Softmax:
    """The output layer's normalisation: probability_i = e^(z_i − m) / Σ_j e^(z_j − m), m = max z (the shift
    by m changes nothing but keeps e^z finite)."""

    logits: np.ndarray
    shift: float
    exponentials: np.ndarray
    total: float
    probabilities: np.ndarray


@dataclass(frozen=True)
class UnitArithmetic:
    """The whole computation of one unit on one input."""

    layer: str
    """The layer asked about."""
    anchor: str
    """The layer that does the weighted sum (or pooling); ``layer`` itself or the one its steps follow."""
    kind: str
    """``conv``, ``dense``, ``pool`` or ``flatten``."""
    unit: tuple[int, ...]
    receptive_field: tuple[int, int, int, int]
    terms: list[Term]
    """Every term of the sum, in the input's order (padding, which adds zeros, is left out)."""
    sum: float
    bias: float
    pre_activation: float
    """``sum + bias``: what the anchor layer computes before any activation."""
    steps: list[Step]
    activation: str
    """The activation applied (the last one among ``steps``), ``linear`` when there is none."""
    value: float
    """What ``layer`` outputs for this unit: ``pre_activation`` through every step."""
    operation: str = "weighted sum"
    """``weighted sum``, ``max`` or ``average`` (pooling: ``sum`` is then the window's max or mean)."""
    window: np.ndarray | None = field(default=None, repr=False)
    """conv and pool: the input window (k, k, channels), zeros where it hangs over the padding."""
    weights: np.ndarray | None = field(default=None, repr=False)
    """conv: the kernel (k, k, channels) of this unit's output channel."""
    inside: np.ndarray | None = field(default=None, repr=False)
    """conv and pool: (k, k) True where the window lies on the input, False over the padding."""
    softmax: Softmax | None = None
    flat_source: tuple[int, int, int] | None = None
    """Dense inputs that came flattened from a map: its (height, width, channels), to name positions."""

    def channel_contributions(self) -> np.ndarray:
        """conv: each input channel's share of the sum, Σ over the k×k window of input × weight."""
        return (self.window * self.weights).sum(axis=(0, 1))

    def largest_terms(self, count: int) -> tuple[list[Term], float, int]:
        """The ``count`` terms of largest |product|, and the rest as (their sum, how many)."""
        order = sorted(range(len(self.terms)), key=lambda i: -abs(self.terms[i].product))
        top = [self.terms[i] for i in order[:count]]
        return top, math.fsum(self.terms[i].product for i in order[count:]), max(len(self.terms) - count, 0)

    def to_dict(self) -> dict:
        """The JSON the command line prints (``python -m model.explain``)."""
        record = {"layer": self.layer, "kind": self.kind, "unit": list(self.unit),
                  "receptive_field": list(self.receptive_field), "operation": self.operation,
                  "terms": [{"position": list(t.position), "input": t.input, "weight": t.weight,
                             "product": t.product} for t in self.terms],
                  "sum": self.sum, "bias": self.bias, "pre_activation": self.pre_activation,
                  "steps": [{"layer": s.layer, "operation": s.operation, "input": s.input, "output": s.output,
                             **s.detail} for s in self.steps],
                  "activation": self.activation, "value": self.value}
        if self.softmax is not None:
            s = self.softmax
            record["softmax"] = {"logits": s.logits.tolist(), "shift": s.shift, "exponentials": s.exponentials.tolist(),
                                 "total": s.total, "probabilities": s.probabilities.tolist()}
        return record


@dataclass(frozen=True)
class ExplainableLayer:
    """A layer one can pick a unit of: its name, kind, and output shape without the batch axis."""

    name: str
    kind: str
    shape: tuple[int, ...]
    anchor: str
    """The layer doing its weighted sum or pooling: itself, or the one its element-wise steps follow."""

    @property
    def is_spatial(self) -> bool:
        return len(self.shape) == 3

    def check_unit(self, unit: tuple[int, ...]) -> None:
        """Raise UnitError unless ``unit`` names an output of this layer ((c, row, col) or (index,))."""
        if self.is_spatial:
            height, width, channels = self.shape
            if len(unit) != 3:
                raise UnitError(f"layer {self.name} outputs {height}×{width}×{channels} maps: give the unit as "
                                "CHANNEL,ROW,COL")
            limits = (channels, height, width)
        else:
            if len(unit) != 1:
                raise UnitError(f"layer {self.name} outputs a vector of {self.shape[0]}: give the unit as one INDEX")
            limits = self.shape
        for value, limit, what in zip(unit, limits, ("channel", "row", "col") if self.is_spatial else ("index",)):
            if not 0 <= value < limit:
                raise UnitError(f"{what} {value} is out of range for layer {self.name} (0 to {limit - 1})")


# ---------------------------------------------------------------- the layers of a model

def chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers from input to output, checked to form one chain (each takes the previous one's
    output), without the input layer. Raises UnitError for a branching network."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    previous = model.inputs[0]
    for layer in layers:
        if layer.input is not previous:
            raise UnitError(f"layer {layer.name} does not take the previous layer's output: only networks that are "
                            "one chain of layers can be explained unit by unit")
        previous = layer.output
    return layers


def _kind(layer: keras.layers.Layer) -> str | None:
    if isinstance(layer, keras.layers.Conv2D):
        return "conv"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    if isinstance(layer, (*POOLING, *GLOBAL_POOLING)):
        return "pool"
    if isinstance(layer, keras.layers.Flatten):
        return "flatten"
    if isinstance(layer, ELEMENTWISE):
        return "elementwise"
    return None


def explainable_layers(model: keras.Model) -> list[ExplainableLayer]:
    """Every layer whose units can be explained, in network order, with its kind (an element-wise layer
    such as ``conv1_1_relu`` is explained with the conv it follows, so it takes that layer's kind)."""
    found, anchor = [], None
    for layer in chain(model):
        kind = _kind(layer)
        if kind is None:
            anchor = None  # an unknown layer breaks the chain of explanation behind it
            continue
        if kind != "elementwise":
            anchor = layer
        if anchor is not None:
            found.append(ExplainableLayer(layer.name, _kind(anchor), tuple(layer.output.shape[1:]), anchor.name))
    return found


def find_layer(model: keras.Model, name: str) -> ExplainableLayer:
    for layer in explainable_layers(model):
        if layer.name == name:
            return layer
    names = [layer.name for layer in model.layers]
    if name in names:
        raise UnitError(f"layer {name} ({type(model.get_layer(name)).__name__}) has no arithmetic to explain")
    known = ", ".join(layer.name for layer in explainable_layers(model))
    raise UnitError(f"no layer named {name!r}; the layers are: {known}")


# ---------------------------------------------------------------- windows and receptive fields

def _window_geometry(layer: keras.layers.Layer) -> tuple[int, int, int, int, int, int]:
    """(kernel h, kernel w, stride h, stride w, dilation h, dilation w) of a conv or pooling layer."""
    if isinstance(layer, keras.layers.Conv2D):
        if layer.data_format != "channels_last" or layer.groups != 1:
            raise UnitError(f"layer {layer.name}: only channels-last convolutions without groups are explained")
        (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    else:
        (kh, kw), (sh, sw), (dh, dw) = layer.pool_size, layer.strides, (1, 1)
    return kh, kw, sh, sw, dh, dw


def _pad_before(size_in: int, size_out: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Zero rows (or columns) TensorFlow adds before the input: 'same' splits the padding, extra at the end."""
    if padding == "valid":
        return 0
    return max((size_out - 1) * stride + (kernel - 1) * dilation + 1 - size_in, 0) // 2


def _window_rows(layer: keras.layers.Layer, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """Input rows and columns (may be outside the input: padding) under the window of output (row, col)."""
    kh, kw, sh, sw, dh, dw = _window_geometry(layer)
    (h_in, w_in), (h_out, w_out) = layer.input.shape[1:3], layer.output.shape[1:3]
    top = row * sh - _pad_before(h_in, h_out, kh, sh, dh, layer.padding)
    left = col * sw - _pad_before(w_in, w_out, kw, sw, dw, layer.padding)
    return top + dh * np.arange(kh), left + dw * np.arange(kw)


def receptive_field(model: keras.Model, layer_name: str, row: int | None = None,
                    col: int | None = None) -> tuple[int, int, int, int]:
    """The pixels of the 28×28 input that (row, col) of ``layer_name`` depends on, as (top, left, bottom,
    right), bottom/right exclusive. A dense unit (or no position given) depends on the whole input."""
    layers = chain(model)
    index = [layer.name for layer in layers].index(layer_name)
    span = None if row is None else [row, row, col, col]  # inclusive rows and columns of the current layer
    for layer in reversed(layers[:index + 1]):
        if isinstance(layer, (keras.layers.Conv2D, *POOLING)):
            if span is None:  # whole map
                span = [0, layer.output.shape[1] - 1, 0, layer.output.shape[2] - 1]
            rows_lo, cols_lo = _window_rows(layer, span[0], span[2])
            rows_hi, cols_hi = _window_rows(layer, span[1], span[3])
            h_in, w_in = layer.input.shape[1:3]
            span = [*_on_input(rows_lo, rows_hi, h_in), *_on_input(cols_lo, cols_hi, w_in)]
        elif isinstance(layer, (keras.layers.Flatten, keras.layers.Dense, *GLOBAL_POOLING)):
            span = None  # every unit of the layer's input counts
    if span is None:
        height, width = model.inputs[0].shape[1:3]
        return 0, 0, int(height), int(width)
    return int(span[0]), int(span[2]), int(span[1]) + 1, int(span[3]) + 1


def _on_input(first: np.ndarray, last: np.ndarray, size: int) -> tuple[int, int]:
    """The first and last input rows, among the windows of a span's first and last unit, that lie on the
    input rather than on its padding (with dilation the window's first row can be padding, its next not)."""
    low, high = first[first >= 0], last[last < size]
    return (int(low.min()) if len(low) else 0), (int(high.max()) if len(high) else size - 1)


# ---------------------------------------------------------------- the arithmetic

def unit_arithmetic(model: keras.Model, inputs: dict[str, np.ndarray], layer_name: str,
                    unit: tuple[int, ...]) -> UnitArithmetic:
    """The arithmetic of ``unit`` of ``layer_name``. ``inputs`` maps each layer's name to the input it
    received in the forward pass, without the batch axis (``Explainer.layer_inputs``)."""
    target = find_layer(model, layer_name)
    target.check_unit(tuple(unit))
    layers = chain(model)
    index = [layer.name for layer in layers].index(layer_name)
    start = index
    while _kind(layers[start]) == "elementwise":
        start -= 1
    anchor = layers[start]
    x = np.asarray(inputs[anchor.name], np.float64)
    position = tuple(int(u) for u in unit)
    channel = position[0]  # batch norm and activations act per channel (per unit of a vector)
    kind = _kind(anchor)
    if kind == "conv":
        bias, extra = _conv(anchor, x, *position)
    elif kind == "dense":
        if x.ndim != 1:
            raise UnitError(f"layer {anchor.name}: only dense layers on a flat input are explained")
        kernel, bias_vector = _dense_weights(anchor)
        terms = [Term((i,), float(x[i]), float(kernel[i, channel]), float(x[i] * kernel[i, channel]))
                 for i in range(len(x))]
        extra = {"terms": terms, "sum": math.fsum(t.product for t in terms)}
        bias = float(bias_vector[channel])
        # The whole layer's pre-activations: a softmax needs all of them. Unit `channel` uses the exact sum.
        values = x @ kernel + bias_vector
        values[channel] = extra["sum"] + bias
        previous = layers[start - 1] if start > 0 else None
        if isinstance(previous, keras.layers.Flatten) and len(previous.input.shape) == 4:
            extra["flat_source"] = tuple(int(s) for s in previous.input.shape[1:])
    elif kind == "pool":
        bias, extra = _pool(anchor, x, position)
    else:  # flatten: the unit is one input, moved
        source = np.unravel_index(channel, x.shape)
        moved = float(x[source])
        spatial = (int(source[-1]), *map(int, source[:-1])) if x.ndim == 3 else tuple(map(int, source))
        extra = {"terms": [Term(spatial, moved, 1.0, moved)], "sum": moved, "operation": "identity"}
        bias = 0.0
    terms, total = extra.pop("terms"), extra.pop("sum")
    pre_activation = total + bias
    # The values the steps act on: the whole layer for a dense one (a softmax needs every logit), else the unit.
    pick = channel if kind == "dense" else 0
    if kind != "dense":
        values = np.array([pre_activation])
    channels = np.arange(len(values)) if kind == "dense" else np.array([channel])
    steps, softmax = [], None
    own = _own_activation(anchor)
    chained = [(anchor, own)] if own != "linear" else []
    chained += [(layer, None) for layer in layers[start + 1:index + 1]]
    for layer, activation in chained:
        before = values
        values, operation, detail = _step(layer, values, channels, pick, activation)
        if operation == "softmax":
            softmax = _softmax_record(before)
        steps.append(Step(layer.name, operation, float(before[pick]), float(values[pick]), detail))
    activations = [s.operation for s in steps if s.operation not in ("batch_norm", "identity")]
    if kind == "flatten" and x.ndim == 3:  # one moved value: the field of its place in the map before
        _, row, col = terms[0].position
        field = (receptive_field(model, layers[start - 1].name, row, col) if start > 0
                 else (row, col, row + 1, col + 1))
    else:
        field = receptive_field(model, layer_name, *(position[1:] if target.is_spatial else ()))
    return UnitArithmetic(
        layer=layer_name, anchor=anchor.name, kind=kind, unit=position, receptive_field=field,
        terms=terms, sum=total, bias=bias, pre_activation=pre_activation, steps=steps,
        activation=activations[-1] if activations else "linear", value=float(values[pick]), softmax=softmax,
        **extra)


def _dense_weights(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
    kernel = np.asarray(layer.kernel.numpy(), np.float64)
    bias = np.asarray(layer.bias.numpy(), np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
    return kernel, bias


def _conv(layer: keras.layers.Conv2D, x: np.ndarray, channel: int, row: int, col: int) -> tuple[float, dict]:
    """The bias and the terms of output (channel, row, col), with the window for display."""
    rows, cols = _window_rows(layer, row, col)
    inside = ((rows >= 0) & (rows < x.shape[0]))[:, None] & ((cols >= 0) & (cols < x.shape[1]))[None, :]
    window = np.zeros((len(rows), len(cols), x.shape[2]))
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if inside[i, j]:
                window[i, j] = x[r, c]
    kernel = np.asarray(layer.kernel.numpy(), np.float64)[:, :, :, channel]
    terms = [Term((k, int(r), int(c)), float(window[i, j, k]), float(kernel[i, j, k]),
                  float(window[i, j, k] * kernel[i, j, k]))
             for i, r in enumerate(rows) for j, c in enumerate(cols) if inside[i, j] for k in range(x.shape[2])]
    bias = float(layer.bias.numpy()[channel]) if layer.use_bias else 0.0
    return bias, {"terms": terms, "sum": math.fsum(t.product for t in terms), "window": window,
                       "weights": kernel, "inside": inside}


def _pool(layer: keras.layers.Layer, x: np.ndarray, position: tuple[int, ...]) -> tuple[float, dict]:
    """No bias; the window's values as terms and its max or mean as the "sum"."""
    channel = position[0]
    if isinstance(layer, GLOBAL_POOLING):
        rows, cols = np.arange(x.shape[0]), np.arange(x.shape[1])
    else:
        rows, cols = _window_rows(layer, *position[1:])
    inside = ((rows >= 0) & (rows < x.shape[0]))[:, None] & ((cols >= 0) & (cols < x.shape[1]))[None, :]
    window = np.zeros((len(rows), len(cols), 1))
    cells = [(i, j, int(r), int(c)) for i, r in enumerate(rows) for j, c in enumerate(cols) if inside[i, j]]
    for i, j, r, c in cells:
        window[i, j, 0] = x[r, c, channel]
    is_max = isinstance(layer, keras.layers.MaxPooling2D | keras.layers.GlobalMaxPooling2D)
    weight = 1.0 if is_max else 1.0 / len(cells)  # TensorFlow's 'same' average leaves the padding out of the count
    terms = [Term((channel, r, c), float(x[r, c, channel]), weight, float(x[r, c, channel]) * weight)
             for _, _, r, c in cells]
    reduced = max(t.input for t in terms) if is_max else math.fsum(t.product for t in terms)
    return 0.0, {"terms": terms, "sum": reduced, "operation": "max" if is_max else "average",
                      "window": window, "inside": inside}


def _own_activation(layer: keras.layers.Layer) -> str:
    """The activation built into a Conv2D or Dense layer (``linear`` for none)."""
    activation = layer.get_config().get("activation", "linear") if isinstance(layer, WEIGHTED) else "linear"
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise UnitError(f"layer {layer.name}: its activation {activation!r} is not one this view computes")
    return activation


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "softmax":
        e = np.exp(z - z.max())
        return e / e.sum()
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.2 * z)
    if name == "softplus":
        return np.logaddexp(z, 0.0)
    return z / (1.0 + np.exp(-z))  # swish / silu


def _step(layer: keras.layers.Layer, values: np.ndarray, channels: np.ndarray, pick: int,
          activation: str | None) -> tuple[np.ndarray, str, dict[str, float]]:
    """Apply one element-wise step to ``values`` (those of ``channels``); ``pick`` is the explained unit's
    place among them, whose parameters the detail reports."""
    if activation is not None:  # a weighted layer's own activation
        if activation == "softmax" and len(values) < 2:
            raise UnitError(f"layer {layer.name}: a softmax over a conv's channels is not explained")
        return _activate(activation, values), activation, {}
    if isinstance(layer, keras.layers.BatchNormalization):
        gamma = layer.gamma.numpy()[channels] if layer.scale else np.ones(len(channels))
        beta = layer.beta.numpy()[channels] if layer.center else np.zeros(len(channels))
        mean, variance = layer.moving_mean.numpy()[channels], layer.moving_variance.numpy()[channels]
        out = gamma * (values - mean) / np.sqrt(variance + layer.epsilon) + beta
        detail = {"gamma": float(gamma[pick]), "beta": float(beta[pick]), "moving_mean": float(mean[pick]),
                  "moving_variance": float(variance[pick]), "epsilon": float(layer.epsilon)}
        return np.asarray(out, np.float64), "batch_norm", detail
    if isinstance(layer, INACTIVE_AT_INFERENCE):
        return values, "identity", {}
    if isinstance(layer, keras.layers.Activation):
        name = keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else str(name.get("config", name))
        if name not in ACTIVATIONS:
            raise UnitError(f"layer {layer.name}: activation {name!r} is not one this view computes")
        return _step(layer, values, channels, pick, name)
    if isinstance(layer, keras.layers.Softmax):
        return _step(layer, values, channels, pick, "softmax")
    if isinstance(layer, keras.layers.ReLU):
        slope, cap, threshold = float(layer.negative_slope), layer.max_value, float(layer.threshold)
        out = np.where(values >= threshold, values, slope * (values - threshold)) + 0.0  # (no −0.0)
        if cap is not None:
            out = np.minimum(out, float(cap))
        detail = {"negative_slope": slope, "threshold": threshold} | ({"max_value": float(cap)} if cap else {})
        return out, "relu", detail if slope or threshold or cap else {}
    if isinstance(layer, keras.layers.LeakyReLU):
        slope = float(layer.negative_slope)
        return np.where(values > 0, values, slope * values), "leaky_relu", {"negative_slope": slope}
    alpha = float(layer.alpha)  # ELU
    return np.where(values > 0, values, alpha * np.expm1(np.minimum(values, 0))), "elu", {"alpha": alpha}


def _softmax_record(logits: np.ndarray) -> Softmax:
    shift = float(logits.max())
    exponentials = np.exp(logits - shift)
    total = math.fsum(exponentials)
    return Softmax(logits.copy(), shift, exponentials, total, exponentials / total)
