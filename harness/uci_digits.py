"""UCI's handwritten digits as their files give them: real handwriting of writers MNIST never had.

UCI's "Optical Recognition of Handwritten Digits" are forms filled in by 43 writers, scanned by NIST's programs
into 32×32 black-and-white boxes and saved as 8×8 counts of each 4×4 block's ink pixels (0–16). A file holds one
digit a line, 64 counts and the label, comma-separated: UCI's ``optdigits.tra`` and ``optdigits.tes`` as they are
served, or scikit-learn's copy of the test part (``sklearn/datasets/data/digits.csv.gz``, 1,797 digits of 13
writers). Read by ``bench/uci_digits.py`` and its test; the shipped model never trained on them (only the
yardstick readers below learn from a file of them, and read the other writers).
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

COUNTS_TOP = 16


def scikit_learn_copy() -> Path | None:
    """scikit-learn's bundled copy of UCI's test digits, found without importing scikit-learn; None without it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def read_uci(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(counts (N, 8, 8) float32 in 0–16, labels (N,)) from a UCI optdigits file, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", ndmin=2)
    if rows.shape[1] != 65 or rows.min() < 0 or rows[:, :64].max() > COUNTS_TOP or rows[:, 64].max() > 9:
        raise ValueError(f"{path}: not UCI's 8×8 digits (64 counts of 0–16 and a label a line)")
    return rows[:, :64].reshape(-1, 8, 8).astype(np.float32), rows[:, 64].astype(int)


def readers_of_these_writers(counts: np.ndarray, labels: np.ndarray, seed: int = 0
                             ) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Readers that learned from UCI's own forms (``counts``, ``labels``: e.g. ``optdigits.tra``, its 30 training
    writers), each a function from (N, 8, 8) counts to digits: a yardstick for the shipped model, which never saw
    a UCI digit. How hard the other writers are, measured with readers that know the pipeline and the form:
    UCI's own 1-nearest-neighbour, an RBF support-vector machine, and a small CNN on the 8×8 counts (two
    convolutions, 40 epochs)."""
    import keras
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    flat = counts.reshape(len(counts), -1)
    nearest = KNeighborsClassifier(1).fit(flat, labels)
    machine = SVC(C=10).fit(flat, labels)
    keras.utils.set_random_seed(seed)
    cnn = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dropout(0.4), keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    cnn.compile("adam", "sparse_categorical_crossentropy")
    cnn.fit(counts[..., None] / COUNTS_TOP, labels, epochs=40, batch_size=64, verbose=0)
    return {"1 nearest neighbour": lambda c: nearest.predict(c.reshape(len(c), -1)),
            "support-vector machine (RBF)": lambda c: machine.predict(c.reshape(len(c), -1)),
            "small CNN on the 8×8 counts": lambda c: cnn.predict(c[..., None] / COUNTS_TOP, verbose=0).argmax(1)}
