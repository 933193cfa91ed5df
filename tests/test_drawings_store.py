"""The labelled-drawings store: concurrent writers, a killed writer, relabel/delete, export round-trip."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from training.drawings import DrawingStore, default_path


def _digit(value: float = 1.0) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = value
    return image


def test_concurrent_writers_lose_nothing(tmp_path):
    store = DrawingStore(tmp_path / "fb.sqlite3")

    def writer(label: int) -> None:
        for _ in range(25):
            DrawingStore(store.path).add(_digit(), label, predicted=(label + 1) % 10, model="default")

    threads = [threading.Thread(target=writer, args=(label,)) for label in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples = store.all()
    assert len(samples) == 200
    assert sorted(np.bincount([s.label for s in samples])) == [25] * 8


def test_a_killed_writer_leaves_the_database_readable(tmp_path):
    path = tmp_path / "fb.sqlite3"
    DrawingStore(path).add(_digit(), 3)
    script = f"""
import sqlite3, sys, time
import numpy as np
from training.drawings import DrawingStore, default_path
store = DrawingStore({str(path)!r})
db = store._connect()
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO samples (created, label, input) VALUES (0, 7, ?)", (bytes(784),))
print("inside", flush=True)
time.sleep(60)
"""
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "inside"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    store = DrawingStore(path)
    assert [s.label for s in store.all()] == [3], "the committed row survives, the torn one is gone"
    store.add(_digit(), 5)
    assert len(store.all()) == 2


def test_relabel_delete_and_raw_image(tmp_path):
    store = DrawingStore(tmp_path / "fb.sqlite3")
    raw = np.zeros((280, 280, 4), np.uint8)
    raw[50:200, 130:150, 3] = 255
    first = store.add(_digit(), 1, raw=raw, predicted=7, probabilities=np.eye(10)[7])
    second = store.add(_digit(0.5), 4)
    store.relabel(first, 9)
    assert {s.id: s.label for s in store.all()} == {first: 9, second: 4}
    assert store.raw_png(first).startswith(b"\x89PNG") and store.raw_png(second) is None
    assert store.all()[1].probabilities.argmax() == 7
    store.delete(second)
    assert [s.id for s in store.all()] == [first]
    with pytest.raises(ValueError):
        store.add(_digit(), 10)


def test_export_round_trips_in_mnist_layout(tmp_path):
    store = DrawingStore(tmp_path / "fb.sqlite3")
    for label in (2, 7, 7):
        store.add(_digit(label / 10), label)
    images, labels = store.arrays()
    with np.load(io.BytesIO(store.export_npz())) as exported:
        assert exported["x_train"].dtype == np.uint8 and exported["x_train"].shape == (3, 28, 28)
        assert exported["y_train"].tolist() == [2, 7, 7] == labels.tolist()
        assert np.array_equal(exported["x_train"], images)
        assert exported["x_train"][0].max() == round(0.2 * 255)


def test_drawings_kept_under_the_earlier_file_name_are_still_found(tmp_path):
    DrawingStore(tmp_path / "feedback.sqlite3").add(_digit(), 6)
    store = DrawingStore(default_path(tmp_path))
    assert store.path.name == "drawings.sqlite3" and not (tmp_path / "feedback.sqlite3").exists()
    assert [d.label for d in store.all()] == [6]
