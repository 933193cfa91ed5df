"""MNIST loading: IDX parsing, damaged files, the search order and the bundled-sample fallback."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import training.data as data
from training.data import MnistError, load_idx_folder, load_mnist


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_folder(tmp_path, sample):
    for key, stem in data.IDX_FILES.items():
        _write_idx(tmp_path / f"{stem}.gz", getattr(sample, key))
    return tmp_path


def test_idx_folder_round_trips(idx_folder, sample):
    loaded = load_idx_folder(idx_folder)
    assert np.array_equal(loaded.x_train, sample.x_train) and np.array_equal(loaded.y_test, sample.y_test)
    assert not loaded.is_full  # 6,000 images are not the full set


def test_named_folder_and_environment_variable_win(idx_folder, monkeypatch):
    assert load_mnist(idx_folder).source == str(idx_folder)
    monkeypatch.setenv("DIGITS_MNIST_DIR", str(idx_folder))
    assert load_mnist().source == str(idx_folder)


def test_truncated_file_is_named(idx_folder):
    target = idx_folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(MnistError, match="t10k-images-idx3-ubyte.gz: truncated"):
        load_idx_folder(idx_folder)


def test_wrong_file_is_named(idx_folder):
    (idx_folder / "train-labels-idx1-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(MnistError, match="train-labels-idx1-ubyte.gz: cannot be read"):
        load_idx_folder(idx_folder)
    _write_idx(idx_folder / "train-labels-idx1-ubyte.gz", np.zeros(5))
    with pytest.raises(MnistError, match="6000 train images but 5 labels"):
        load_idx_folder(idx_folder)


def test_missing_named_folder_is_an_error_not_a_silent_fallback(tmp_path):
    with pytest.raises(MnistError, match="no such folder"):
        load_mnist(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MnistError, match="missing train-images-idx3-ubyte.gz"):
        load_mnist(tmp_path / "empty")


def test_falls_back_to_the_bundled_sample_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-cache" / "mnist.npz")
    loaded = load_mnist()
    assert loaded.source == "bundled sample" and not loaded.is_full
    assert "bundled MNIST sample" in loaded.notice and "DIGITS_MNIST_DIR" in loaded.notice
    assert loaded.x_train.shape == (6000, 28, 28) and loaded.x_test.shape == (2000, 28, 28)
    assert set(np.unique(loaded.y_test)) == set(range(10))


def test_nothing_is_downloaded_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-cache" / "mnist.npz")
    asked = []
    monkeypatch.setattr(data, "_download_to_keras_cache", asked.append)
    assert load_mnist().source == "bundled sample" and asked == []
    assert "DIGITS_MNIST_DOWNLOAD=1" in load_mnist().notice
    load_mnist(download=True)
    monkeypatch.setenv("DIGITS_MNIST_DOWNLOAD", "1")
    load_mnist()
    assert len(asked) == 2, "--download and the setting each ask once"


def test_a_failed_download_that_was_asked_for_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-cache" / "mnist.npz")

    def offline(timeout_s):
        raise MnistError("URLError: no route to host")

    monkeypatch.setattr(data, "_download_to_keras_cache", offline)
    loaded = load_mnist(download=True)
    assert loaded.source == "bundled sample"
    assert loaded.notice.startswith("The MNIST download failed (URLError: no route to host).")


def test_keras_cache_is_used_when_present(tmp_path, monkeypatch, sample):
    cache = tmp_path / "mnist.npz"
    np.savez(cache, x_train=sample.x_train, y_train=sample.y_train, x_test=sample.x_test, y_test=sample.y_test)
    monkeypatch.setattr(data, "KERAS_CACHE", cache)
    assert load_mnist().source == str(cache)
