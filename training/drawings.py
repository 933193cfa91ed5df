"""Users' labelled drawings ("Right" / "Wrong — it's a 7" on the Draw page): the second training set.

The dashboard writes them, the My drawings page edits them, and training mixes them into MNIST
(``python -m training.train --include-drawings``, the Train page, fine-tuning).

SQLite in the data directory, in WAL mode with full sync: many sessions can write at once (each call
opens its own connection, writers wait on a lock instead of failing), and a process killed mid-write
loses only its own uncommitted row — the database stays readable. No Streamlit here.
"""

from __future__ import annotations

import io
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model.store import data_dir
from training import database

FILE_NAME = "drawings.sqlite3"
_OLD_FILE_NAME = "feedback.sqlite3"
"""What versions before 2026-11 called the file; moved to FILE_NAME on first use so nobody loses drawings."""
REPEAT = 10
"""How many times each drawing is shown per epoch by default: a few hundred drawings against 60,000 MNIST
images would otherwise barely move the weights."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created     REAL    NOT NULL,
    label       INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted   INTEGER,
    probabilities BLOB,
    model       TEXT,
    input       BLOB    NOT NULL,
    raw_png     BLOB
)
"""


@dataclass(frozen=True)
class Drawing:
    """One labelled drawing. ``image`` is the 28×28 model input as uint8, MNIST style."""

    id: int
    created: float
    label: int
    predicted: int | None
    probabilities: np.ndarray | None
    model: str | None
    image: np.ndarray


def _png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def default_path(root: Path | None = None) -> Path:
    """The drawings database of data directory ``root`` (default: the app's), renaming an earlier version's."""
    path = (root or data_dir()) / FILE_NAME
    old = path.with_name(_OLD_FILE_NAME)
    if old.exists() and not path.exists():
        database.move(old, path)
    return path


@dataclass(frozen=True)
class LabelledDrawings:
    """Drawings to add to a training set, each repeated ``weight`` times per epoch."""

    images: np.ndarray
    """uint8 (N, 28, 28), MNIST layout."""
    labels: np.ndarray
    weight: int = REPEAT


class DrawingStore:
    """The labelled drawings of one data directory."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        database.create(self.path, SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return database.connect(self.path, "synchronous=FULL")

    def add(self, model_input: np.ndarray, label: int, raw: np.ndarray | None = None, predicted: int | None = None,
            probabilities: np.ndarray | None = None, model: str | None = None) -> int:
        """Store a drawing with its label; ``model_input`` is the (28, 28) float input in [0, 1]."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0–9, got {label!r}")
        pixels = (np.clip(np.asarray(model_input, np.float32).reshape(28, 28), 0, 1) * 255 + 0.5).astype(np.uint8)
        row = (time.time(), int(label), None if predicted is None else int(predicted),
               None if probabilities is None else np.asarray(probabilities, np.float32).tobytes(), model,
               pixels.tobytes(), None if raw is None else _png(raw))
        with self._connect() as db:
            cursor = db.execute("INSERT INTO samples (created, label, predicted, probabilities, model, input, raw_png)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)

    def all(self) -> list[Drawing]:
        """Every drawing, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT id, created, label, predicted, probabilities, model, input FROM samples "
                              "ORDER BY id DESC").fetchall()
        return [Drawing(r[0], r[1], r[2], r[3], None if r[4] is None else np.frombuffer(r[4], np.float32), r[5],
                       np.frombuffer(r[6], np.uint8).reshape(28, 28)) for r in rows]

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])

    def raw_png(self, drawing_id: int) -> bytes | None:
        with self._connect() as db:
            row = db.execute("SELECT raw_png FROM samples WHERE id = ?", (drawing_id,)).fetchone()
        return row[0] if row else None

    def relabel(self, drawing_id: int, label: int) -> None:
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0–9, got {label!r}")
        with self._connect() as db:
            db.execute("UPDATE samples SET label = ? WHERE id = ?", (int(label), drawing_id))

    def delete(self, drawing_id: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM samples WHERE id = ?", (drawing_id,))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples in MNIST layout: uint8 images (N, 28, 28) and uint8 labels (N,), oldest first."""
        drawings = self.all()[::-1]
        images = np.stack([d.image for d in drawings]) if drawings else np.zeros((0, 28, 28), np.uint8)
        return images, np.array([d.label for d in drawings], np.uint8)

    def export_npz(self) -> bytes:
        """The samples as an .npz with MNIST's keys (all of them in the training split)."""
        images, labels = self.arrays()
        buf = io.BytesIO()
        np.savez_compressed(buf, x_train=images, y_train=labels, x_test=np.zeros((0, 28, 28), np.uint8),
                            y_test=np.zeros(0, np.uint8))
        return buf.getvalue()


def load_drawings(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labelled drawings from a drawings database or an exported ``.npz`` (MNIST layout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".npz":
        with np.load(path) as exported:
            return exported["x_train"], exported["y_train"]
    return DrawingStore(path).arrays()
