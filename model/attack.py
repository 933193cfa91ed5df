"""Fool the network: the smallest change to a 28×28 input that makes the model read a digit of our choosing.

A targeted attack by projected gradient descent (PGD, Madry et al. 2018): step the input down the gradient of
the target's cross-entropy, then project it back into the budget — a ball around the original in the L∞ norm
(no pixel changes by more than the budget) or the L2 norm (the changes' Euclidean length) — and into [0, 1].
The "only add ink" variant also keeps every change ≥ 0: what a pen could do to the paper. An input counts as
fooled once the target leads the runner-up by ``MARGIN`` (the search stops there, so the change reported is
about as small as the steps allow); "not reached within the budget" is an answer too.

As a command line, one JSON object::

    python -m model.attack FILE --target D [--norm linf|l2] [--budget X] [--steps N] [--only-add-ink]
                                [--model PATH] [--out ADV.npy]

``{"file", "original", "target", "reached", "norm", "budget", "distance", "probabilities",
"original_probabilities", "only_add_ink", "out"}``; ``out`` is a ``.npy`` of the adversarial (28, 28) float32
input in [0, 1], so anyone can check it with the model: ``distance`` is measured between the original model
input and that file, in the norm chosen, and is never above the budget.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from model.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # before Keras loads it: `python -m` prints JSON, not TensorFlow's log lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

STEPS = 100
MARGIN = 0.1
"""The target's probability must lead every other digit's by this much: a clear reading, not one that a
different float rounding of the same network could flip."""
SEARCH_HALVINGS = 6
"""Bisections of the budget when searching for the smallest that fools (1/64 of the largest budget tried)."""
SLACK = 1e-5
"""Kept below the budget when the result is rounded to float32, so the distance measured on the saved input
never exceeds the budget (float32 rounds each pixel by up to 6e-8)."""


class Norm(StrEnum):
    """How the size of a change is measured. ``default_budget`` fools an undefended MNIST model on most
    drawings; ``largest`` is where the search for the smallest budget gives up."""

    LINF = "linf", "L∞", 0.3, 0.5
    L2 = "l2", "L2", 4.0, 8.0

    def __new__(cls, value: str, label: str, default_budget: float, largest: float) -> Norm:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label, member.default_budget, member.largest = label, default_budget, largest
        return member

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-image distance between two batches (N, 28, 28[, 1]), in float64."""
        delta = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(len(a), -1)
        return np.abs(delta).max(axis=1) if self is Norm.LINF else np.sqrt((delta ** 2).sum(axis=1))


@dataclass(frozen=True)
class Adversarial:
    """One attacked input: the original and the result (both (28, 28) float32), and what the model reads."""

    original: np.ndarray
    adversarial: np.ndarray
    target: int
    norm: Norm
    budget: float
    only_add_ink: bool
    distance: float
    """``norm``'s distance between ``original`` and ``adversarial``; ≤ ``budget``."""
    before: np.ndarray
    """The ten probabilities for the original."""
    after: np.ndarray
    """The ten probabilities for the adversarial input."""
    steps: int
    """Gradient steps taken (fewer than asked when the target was reached early)."""

    @property
    def reached(self) -> bool:
        """The model now reads the target."""
        return int(np.argmax(self.after)) == self.target

    @property
    def perturbation(self) -> np.ndarray:
        return self.adversarial - self.original

    @property
    def pixels_changed(self) -> int:
        """Pixels changed by more than 1/255 (a change one could see in an 8-bit picture)."""
        return int((np.abs(self.perturbation) > 1 / 255).sum())

    def to_dict(self) -> dict:
        return {"original": int(np.argmax(self.before)), "target": self.target, "reached": self.reached,
                "norm": str(self.norm), "budget": self.budget, "only_add_ink": self.only_add_ink,
                "distance": self.distance, "steps": self.steps,
                "probabilities": [float(p) for p in self.after],
                "original_probabilities": [float(p) for p in self.before]}


def logits_of(model: keras.Model):
    """x → the output layer's logits. The gradient is taken through logits, not the softmax's probabilities: for a
    confident model the target's probability underflows to 0 in float32, and its gradient with it (the attack
    would never start). A model whose last layer is not a softmax Dense gets the log of its outputs instead."""
    last = model.layers[-1]
    if isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
        hidden = keras.Model(model.inputs, last.input)
        return lambda x: tf.matmul(hidden([x], training=False), last.kernel) + last.bias  # ([x]: its inputs are a list)
    return lambda x: tf.math.log(model(x, training=False) + 1e-30)


class Attacker:
    """Targeted PGD on one model; every step is a ``tf.function`` traced once per norm and variant (no
    AutoGraph: plain tensor code, see model/inference.py), never ``model.predict``. Safe to share."""

    def __init__(self, model: keras.Model):
        self.model = model
        self._steps: dict[tuple[Norm, bool], tf.types.experimental.ConcreteFunction] = {}
        batch = tf.TensorSpec((None, 28, 28, 1), tf.float32)
        self._forward = tf.function(lambda x: model(x, training=False), input_signature=[batch], autograph=False)

    def _step(self, norm: Norm, only_add_ink: bool):
        """The compiled step for one norm and variant: (x, x0, targets, budgets, step sizes) → (next x, the
        probabilities at x)."""
        key = (norm, only_add_ink)
        if key not in self._steps:
            logits_of_x = logits_of(self.model)

            def step(x, x0, targets, budgets, sizes):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    logits = logits_of_x(x)
                    loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))
                grad = tape.gradient(loss, x)
                probabilities = tf.nn.softmax(logits)
                per_image = (-1, 1, 1, 1)
                if norm is Norm.LINF:
                    moved = x - tf.reshape(sizes, per_image) * tf.sign(grad)
                    delta = moved - x0
                    if only_add_ink:
                        delta = tf.nn.relu(delta)
                    delta = tf.clip_by_value(delta, -tf.reshape(budgets, per_image), tf.reshape(budgets, per_image))
                else:
                    length = tf.sqrt(tf.reduce_sum(grad ** 2, axis=[1, 2, 3], keepdims=True)) + 1e-12
                    delta = x - tf.reshape(sizes, per_image) * grad / length - x0
                    if only_add_ink:
                        delta = tf.nn.relu(delta)
                    size = tf.sqrt(tf.reduce_sum(delta ** 2, axis=[1, 2, 3], keepdims=True)) + 1e-12
                    delta = delta * tf.minimum(1.0, tf.reshape(budgets, per_image) / size)
                return tf.clip_by_value(x0 + delta, 0.0, 1.0), probabilities

            images, vector = tf.TensorSpec((None, 28, 28, 1), tf.float32), tf.TensorSpec((None,), tf.float32)
            self._steps[key] = tf.function(step, autograph=False, input_signature=[
                images, images, tf.TensorSpec((None,), tf.int32), vector, vector]).get_concrete_function()
        return self._steps[key]

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """Softmax outputs (N, 10) for inputs (N, 28, 28)."""
        return self._forward(tf.constant(np.asarray(inputs, np.float32)[..., None])).numpy()

    def attack(self, inputs: np.ndarray, targets: np.ndarray | list[int], norm: Norm = Norm.LINF,
               budgets: float | np.ndarray | None = None, steps: int = STEPS,
               only_add_ink: bool = False) -> list[Adversarial]:
        """Attack each of ``inputs`` (N, 28, 28) towards its target, each within its budget (one number for all,
        or one each; default ``norm.default_budget``). Each image stops at the first step where it is fooled."""
        x0 = np.asarray(inputs, np.float32)
        count = len(x0)
        targets = np.broadcast_to(np.asarray(targets, np.int32), (count,)).copy()
        budgets = np.broadcast_to(np.asarray(norm.default_budget if budgets is None else budgets, np.float64),
                                  (count,)).copy()
        sizes = (2.5 * budgets / max(steps, 1)).astype(np.float32)  # Madry et al.'s step: the ball is crossed 2.5×
        step = self._step(norm, only_add_ink)
        start = tf.constant(x0[..., None])
        x, result, used = start, x0.copy(), np.full(count, steps)
        done = np.zeros(count, bool)
        for k in range(steps + 1):
            following, probabilities = step(x, start, tf.constant(targets), tf.constant(budgets, tf.float32),
                                            tf.constant(sizes))
            fooled = _fooled(probabilities.numpy(), targets) & ~done
            result[fooled], used[fooled] = x.numpy()[fooled, :, :, 0], k
            done |= fooled
            if done.all() or k == steps:
                break
            x = tf.where(tf.constant(done[:, None, None, None]), x, following)
        result[~done] = x.numpy()[~done, :, :, 0]  # not reached: the strongest try, to be shown as such
        result = _within(x0, result, norm, budgets, only_add_ink)
        before, after = self.probabilities(x0), self.probabilities(result)
        distances = norm.distance(x0, result)
        return [Adversarial(x0[i], result[i], int(targets[i]), norm, float(budgets[i]), only_add_ink,
                            float(distances[i]), before[i], after[i], int(used[i])) for i in range(count)]

    def smallest_budgets(self, inputs: np.ndarray, targets: np.ndarray | list[int], norm: Norm = Norm.LINF,
                         steps: int = STEPS // 2, only_add_ink: bool = False) -> list[float | None]:
        """For each input, about the smallest budget within which the attack reaches its target (bisection,
        SEARCH_HALVINGS times, below ``norm.largest``); None where even the largest does not."""
        count = len(inputs)
        high = np.full(count, norm.largest)
        reached = np.array([a.reached for a in self.attack(inputs, targets, norm, high, steps, only_add_ink)])
        low = np.zeros(count)
        for _ in range(SEARCH_HALVINGS):
            middle = (low + high) / 2
            ok = np.array([a.reached for a in self.attack(inputs, targets, norm, middle, steps, only_add_ink)])
            high, low = np.where(ok, middle, high), np.where(ok, low, middle)
        return [float(h) if r else None for h, r in zip(high, reached)]


def _fooled(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Whether the target leads every other digit by MARGIN, per image."""
    picked = probabilities[np.arange(len(targets)), targets]
    others = probabilities.copy()
    others[np.arange(len(targets)), targets] = -1.0
    return picked - others.max(axis=1) >= MARGIN


def _within(x0: np.ndarray, x: np.ndarray, norm: Norm, budgets: np.ndarray, only_add_ink: bool) -> np.ndarray:
    """The final projection, in float64 then rounded to float32 with SLACK to spare, so that the distance
    measured on what is returned (and saved) is within the budget, the change ≥ 0 if asked, and pixels in [0, 1]."""
    x0_64 = x0.astype(np.float64)
    delta = x.astype(np.float64) - x0_64
    if only_add_ink:
        delta = np.maximum(delta, 0.0)
    room = np.maximum(budgets - SLACK, 0.0)[:, None, None]
    if norm is Norm.LINF:
        delta = np.clip(delta, -room, room)
    else:
        length = np.sqrt((delta ** 2).sum(axis=(1, 2), keepdims=True))
        delta = delta * np.minimum(1.0, room / np.maximum(length, 1e-12))
    out = np.clip(x0_64 + delta, 0.0, 1.0).astype(np.float32)
    if only_add_ink:
        out = np.maximum(out, x0)  # (rounding never takes ink away)
    return out


# ---------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    from model.inference import Predictor
    from model.preprocess import ImageError, to_model_input
    from model.store import SHIPPED_MODEL, ModelFileError

    parser = argparse.ArgumentParser(prog="python -m model.attack", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="an image of one digit (any format the dashboard reads)")
    parser.add_argument("--target", type=int, required=True, choices=range(10), metavar="D",
                        help="the digit the model should read")
    parser.add_argument("--norm", type=Norm, choices=list(Norm), default=Norm.LINF,
                        help="how the change is measured (default linf)")
    parser.add_argument("--budget", type=float, help=f"the largest change allowed (default {Norm.LINF.default_budget} "
                                                     f"for linf, {Norm.L2.default_budget} for l2)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"gradient steps at most (default {STEPS})")
    parser.add_argument("--only-add-ink", action="store_true", help="only ever add ink (every change ≥ 0)")
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="a .keras model (default: the shipped model)")
    parser.add_argument("--out", help="where to save the adversarial input (.npy; default FILE.target<D>.npy)")
    args = parser.parse_args(argv)
    budget = args.norm.default_budget if args.budget is None else args.budget
    if budget < 0 or args.steps < 1:
        parser.error("the budget must be ≥ 0 and the steps ≥ 1")
    try:
        predictor = Predictor.load(args.model)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        pre = to_model_input(args.file)
    except ImageError as exc:
        print(json.dumps({"file": args.file, "error": str(exc)}))
        return 1
    if pre.is_empty:
        print(json.dumps({"file": args.file, "error": str(pre.empty_reason)}))
        return 1
    result = Attacker(predictor.model).attack(pre.image[None], [args.target], args.norm, budget, args.steps,
                                             args.only_add_ink)[0]
    out = Path(args.out) if args.out else Path(args.file).with_name(f"{Path(args.file).stem}.target{args.target}.npy")
    try:
        with open(out, "wb") as f:  # (np.save given a name would add ".npy" to one without it)
            np.save(f, result.adversarial)
    except OSError as exc:
        print(json.dumps({"file": args.file, "error": f"cannot write {out}: {exc}"}))
        return 1
    print(json.dumps({"file": args.file, **result.to_dict(), "out": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
