"""UCI's handwritten digits as their files give them: real handwriting of writers MNIST never had.

UCI's "Optical Recognition of Handwritten Digits" are forms filled in by 43 writers, scanned by NIST's programs
into 32×32 black-and-white boxes and saved as 8×8 counts of each 4×4 block's ink pixels (0–16). A file holds one
digit a line, 64 counts and the label, comma-separated: UCI's ``optdigits.tra`` and ``optdigits.tes`` as they are
served, or scikit-learn's copy of the test part (``sklearn/datasets/data/digits.csv.gz``, 1,797 digits of 13
writers). Read by ``bench/uci_digits.py`` and its test; never trained on.
"""

from __future__ import annotations

import gzip
import importlib.util
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
