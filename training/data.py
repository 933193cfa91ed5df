"""Find and load MNIST, wherever the user has it.

Order of search (first hit wins), so the app works offline and on a fresh laptop alike:

1. an explicit folder (``--data DIR`` / ``load_mnist(data_dir)``) or ``$DIGITS_MNIST_DIR``, holding the
   four original IDX files (gzipped or not);
2. the Keras cache (``~/.keras/datasets/mnist.npz``) — downloaded there only when asked (``--download`` or
   ``$DIGITS_MNIST_DOWNLOAD=1``): nothing contacts the internet unless its user chose so;
3. the small genuine MNIST sample committed in ``training/sample/`` — with a notice saying so,
   because accuracies measured on it are not comparable with the official 10,000-image test set.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import socket
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

SAMPLE_PATH = Path(__file__).with_name("sample") / "mnist_sample.npz"
KERAS_CACHE = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_UBYTE = 0x08
DOWNLOAD_SETTING = "DIGITS_MNIST_DOWNLOAD"
"""Set to 1 to let the loader fetch the full MNIST into the Keras cache (the CLIs' ``--download``)."""


class MnistError(RuntimeError):
    """MNIST files were found but could not be used; the message names the file and the problem."""


@dataclass(frozen=True)
class MnistData:
    """Images as uint8 (N, 28, 28), white digit on black; labels as uint8 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    """Where the data came from (a path, or 'bundled sample')."""
    is_full: bool
    """True for the full 60k/10k MNIST; False for the bundled sample."""
    download_failed: str = ""
    """Why the download that was asked for did not happen (the sample is used instead), else empty."""

    @property
    def notice(self) -> str:
        """One line for users saying which data is in use and, for the sample, how to use the full set."""
        sizes = f"{len(self.x_train):,} training / {len(self.x_test):,} test images"
        if self.is_full:
            return f"Full MNIST from {self.source} ({sizes})."
        failed = f"The MNIST download failed ({self.download_failed}). " if self.download_failed else ""
        return (
            f"{failed}Using the bundled MNIST sample ({sizes}), not the full MNIST: accuracies are indicative only. "
            "For the full set, point DIGITS_MNIST_DIR (or --data) at a folder with the four MNIST IDX .gz files, "
            f"or allow a one-time download into the Keras cache with {DOWNLOAD_SETTING}=1 (or --download)."
        )


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (gzipped or raw) into a uint8 array, checking header and size against the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise MnistError(f"{path}: cannot be read ({exc})") from exc
    if len(raw) < 4:
        raise MnistError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != _IDX_UBYTE or ndim not in (1, 3):
        raise MnistError(f"{path}: not an MNIST IDX file (bad magic number {raw[:4].hex()})")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise MnistError(
            f"{path}: truncated or damaged: header promises {expected:,} bytes of data, file has {len(raw) - header:,}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise MnistError(f"{folder}: missing {stem}.gz (need the four MNIST IDX files)")


def load_idx_folder(folder: Path) -> MnistData:
    """Load the four original IDX files from ``folder``; every problem names the offending file."""
    if not folder.is_dir():
        raise MnistError(f"{folder}: no such folder")
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise MnistError(f"{folder}: {split} images are {x.shape[1:]}, expected 28×28")
        if len(x) != len(y):
            raise MnistError(f"{folder}: {len(x)} {split} images but {len(y)} labels")
        if y.max(initial=0) > 9:
            raise MnistError(f"{folder}: {split} labels outside 0–9")
    return MnistData(**arrays, source=str(folder), is_full=len(arrays["x_train"]) >= 60000)


def _load_npz(path: Path, source: str, is_full: bool) -> MnistData:
    try:
        with np.load(path) as f:
            return MnistData(f["x_train"], f["y_train"], f["x_test"], f["y_test"], source=source, is_full=is_full)
    except (OSError, KeyError, ValueError) as exc:
        raise MnistError(f"{path}: damaged MNIST archive ({exc})") from exc


def _download_to_keras_cache(timeout_s: float) -> None:
    """Fetch mnist.npz from Keras's source (Google Cloud Storage) into the Keras cache; MnistError if that fails."""
    import keras  # deferred: importing Keras costs seconds and only the download needs it

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        keras.datasets.mnist.load_data()
    except Exception as exc:  # noqa: BLE001 - any network/HTTP failure means "not available", never fatal
        raise MnistError(f"{exc.__class__.__name__}: {exc}") from exc
    finally:
        socket.setdefaulttimeout(previous)


def load_sample() -> MnistData:
    """The small genuine MNIST sample shipped in the repo (see training/sample/README.md)."""
    return _load_npz(SAMPLE_PATH, "bundled sample", is_full=False)


def download_allowed() -> bool:
    """Whether this process may fetch MNIST from the internet: only when ``$DIGITS_MNIST_DOWNLOAD`` says so."""
    return os.environ.get(DOWNLOAD_SETTING, "").strip().lower() in ("1", "true", "yes")


def load_mnist(data_dir: str | Path | None = None, download: bool | None = None,
               download_timeout_s: float = 10.0) -> MnistData:
    """Load MNIST from the first place that has it (see module docstring); ``download`` defaults to the setting.

    An explicitly named folder that is missing or damaged is an error, not a silent fallback: the user
    asked for that data and must learn why they did not get it. A failed download falls back to the
    sample with a notice saying why, so a server set to download still serves offline.
    """
    named = data_dir or os.environ.get("DIGITS_MNIST_DIR")
    if named:
        return load_idx_folder(Path(named).expanduser())
    failed = ""
    if not KERAS_CACHE.is_file() and (download_allowed() if download is None else download):
        try:
            _download_to_keras_cache(download_timeout_s)
        except MnistError as exc:
            failed = str(exc)
    if KERAS_CACHE.is_file():
        with contextlib.suppress(MnistError):  # a damaged cache is no cache: the sample follows
            return _load_npz(KERAS_CACHE, str(KERAS_CACHE), is_full=True)
    return replace(load_sample(), download_failed=failed)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data`` and ``--download``: where the command lines find MNIST, the same way for all of them."""
    parser.add_argument("--data", metavar="DIR", help="folder with the four MNIST IDX .gz files (default: "
                        "$DIGITS_MNIST_DIR, the Keras cache, else the bundled sample)")
    parser.add_argument("--download", action="store_true", default=None,
                        help=f"if the Keras cache has no MNIST, download it there (from Google Cloud Storage; "
                             f"also ${DOWNLOAD_SETTING}=1). Without it nothing is fetched from the internet")
