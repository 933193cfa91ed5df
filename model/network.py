"""The networks and their shape — the one place that says what a network is.

Three families, so "why convolutions" can be shown rather than claimed: ``mlp`` (dense layers only: it
sees 784 unrelated pixels), ``lenet5`` (LeCun et al. 1998: two small tanh convolutions with average
pooling, the classic), and ``cnn`` (this project's conv blocks, the default and the shipped model).

The classifier is a plain functional Keras model of built-in layers only, so a saved ``.keras`` file loads
anywhere with ``keras.saving.load_model(path)`` in safe mode, without importing this project. How it is
trained (and the augmentation used while training) is ``training/``'s business: the training
hyperparameters hold a ``NetworkConfig`` among their settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

INPUT_SHAPE = (28, 28, 1)
ARCHITECTURES = ("mlp", "lenet5", "cnn")
CONV_KNOBS = ("conv_blocks", "filters", "convs_per_block", "kernel_size", "batch_norm")
"""The knobs each family uses, beyond the ones all share (none for LeNet-5: its shape is the paper's)."""
KNOBS = {"mlp": ("dense_units", "dropout"), "lenet5": (), "cnn": (*CONV_KNOBS, "dense_units", "dropout")}


@dataclass(frozen=True)
class NetworkConfig:
    """The shape of the CNN. The training hyperparameters produce one (``Hyperparams.network``); their
    field help says what each knob does and which values are allowed."""

    conv_blocks: int
    filters: int
    """In the first block; doubled in each following block."""
    convs_per_block: int
    kernel_size: int
    dense_units: int
    dropout: float
    batch_norm: bool
    architecture: str = "cnn"
    """One of ARCHITECTURES; models saved before there was a choice are CNNs."""


def build_classifier(config: NetworkConfig) -> keras.Model:
    """The network ``config`` describes, ending in a softmax over the 10 digits named ``probabilities``.

    Layer names are what ``model/explain.py`` looks for: ``conv<block>_<n>`` and its activation
    ``…_relu`` / ``…_tanh``, ``pool<block>``, and the dense layers before the output.
    """
    import keras  # here, not at the top: the hyperparameters (read by CLIs before any TensorFlow work) use the config

    if config.architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {config.architecture!r}: one of {', '.join(ARCHITECTURES)}")
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    hidden = {"mlp": _mlp, "lenet5": _lenet5, "cnn": _cnn}[config.architecture](inputs, config)
    # (The output layer is made after the others: unseeded initialisers take their seeds in creation order,
    # so a seed reproduces the same network as before there was a choice of architecture.)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(hidden)
    return keras.Model(inputs, outputs, name=f"digits_{config.architecture}")


def _mlp(x: keras.KerasTensor, config: NetworkConfig) -> keras.KerasTensor:
    """Flatten → two dense ReLU layers of ``dense_units``, each followed by dropout."""
    from keras import layers

    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(config.dense_units, activation="relu", name="dense1")(x)
    x = layers.Dropout(config.dropout, name="dropout1")(x)
    x = layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    return layers.Dropout(config.dropout, name="dropout")(x)


def _lenet5(x: keras.KerasTensor, config: NetworkConfig) -> keras.KerasTensor:
    """LeNet-5: 6 5×5 tanh convolutions (padded: MNIST's 28×28 is the paper's 32×32 without its border) →
    2×2 average pool → 16 5×5 → pool → dense 120 → 84 (tanh)."""
    from keras import layers

    for block, width, padding in ((1, 6, "same"), (2, 16, "valid")):
        x = layers.Conv2D(width, 5, padding=padding, name=f"conv{block}_1")(x)
        x = layers.Activation("tanh", name=f"conv{block}_1_tanh")(x)
        x = layers.AveragePooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation="tanh", name="dense1")(x)
    return layers.Dense(84, activation="tanh", name="dense")(x)


def _cnn(x: keras.KerasTensor, config: NetworkConfig) -> keras.KerasTensor:
    """Conv blocks (conv → [batch norm] → ReLU, then 2×2 max-pool) → dense → dropout.

    Batch-norm momentum is 0.9 rather than Keras's 0.99 so that short runs (one epoch on the bundled
    sample is ~50 steps) end with usable moving statistics.
    """
    from keras import layers

    for block in range(1, config.conv_blocks + 1):
        width = config.filters * 2 ** (block - 1)
        for index in range(1, config.convs_per_block + 1):
            name = f"conv{block}_{index}"  # model/explain.py finds feature maps by these names
            x = layers.Conv2D(width, config.kernel_size, padding="same", use_bias=not config.batch_norm, name=name)(x)
            if config.batch_norm:
                x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    return layers.Dropout(config.dropout, name="dropout")(x)
