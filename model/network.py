"""The CNN and its shape — the one place that says what the network is.

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


def build_classifier(config: NetworkConfig) -> keras.Model:
    """Conv blocks (conv → [batch norm] → ReLU, then 2×2 max-pool) → dense → dropout → softmax over 10 digits.

    Batch-norm momentum is 0.9 rather than Keras's 0.99 so that short runs (one epoch on the bundled
    sample is ~50 steps) end with usable moving statistics.
    """
    import keras  # here, not at the top: the hyperparameters (read by CLIs before any TensorFlow work) use the config
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
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
    x = layers.Dropout(config.dropout, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")
