"""Users' labelled drawings ("Right" / "Wrong — it's a 7" on the Draw page): the second training set.

The dashboard writes them, the My drawings page edits them, and training mixes them into MNIST
(``python -m training.train --include-drawings``, the Train page, fine-tuning).

SQLite in the data directory, in WAL mode with full sync: many sessions can write at once (each call
opens its own connection, writers wait on a lock instead of failing), and a process killed mid-write
loses only its own uncommitted row — the database stays readable. No Streamlit here.
"""

from __future__ import annotations

import io
import os
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
    raw_png     BLOB,
    owner       TEXT
)
"""
ADDED_COLUMNS = {"samples.owner": "TEXT"}
"""Columns added since the first version (drawings made before then have no owner: only an admin sees them)."""
_COLUMNS = "id, created, label, predicted, probabilities, model, input, owner"


def retention_days() -> float | None:
    """``DIGITS_DRAWINGS_RETENTION_DAYS``: drawings older than this are deleted; unset or 0 keeps them."""
    days = float(os.environ.get("DIGITS_DRAWINGS_RETENTION_DAYS") or 0)
    return days if days > 0 else None


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
    owner: str | None = None
    """The browser that labelled it (see dashboard/identity.py); None for drawings older than ownership."""


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


def _owned(owner: str | None) -> tuple[str, tuple]:
    """A WHERE clause for everyone's drawings (``owner`` None) or one browser's."""
    return ("1", ()) if owner is None else ("owner = ?", (owner,))


class DrawingStore:
    """The labelled drawings of one data directory.

    Methods that take ``owner`` act on that browser's drawings only (a visitor's view); ``None`` means
    everyone's (local use, or an admin). Drawings older than ``retention_days()`` are deleted on opening.
    """

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        database.create(self.path, SCHEMA, ADDED_COLUMNS)
        days = retention_days()
        if days is not None:
            self.forget_older_than(days)

    def _connect(self) -> sqlite3.Connection:
        return database.connect(self.path, "synchronous=FULL")

    def add(self, model_input: np.ndarray, label: int, raw: np.ndarray | None = None, predicted: int | None = None,
            probabilities: np.ndarray | None = None, model: str | None = None, owner: str | None = None) -> int:
        """Store a drawing with its label; ``model_input`` is the (28, 28) float input in [0, 1]."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0–9, got {label!r}")
        pixels = (np.clip(np.asarray(model_input, np.float32).reshape(28, 28), 0, 1) * 255 + 0.5).astype(np.uint8)
        row = (time.time(), int(label), None if predicted is None else int(predicted),
               None if probabilities is None else np.asarray(probabilities, np.float32).tobytes(), model,
               pixels.tobytes(), None if raw is None else _png(raw), owner)
        with self._connect() as db:
            cursor = db.execute("INSERT INTO samples (created, label, predicted, probabilities, model, input, raw_png, "
                                "owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)

    def all(self, owner: str | None = None) -> list[Drawing]:
        """Every drawing (of ``owner``), newest first."""
        where, args = _owned(owner)
        with self._connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM samples WHERE {where} ORDER BY id DESC", args).fetchall()
        return [Drawing(r[0], r[1], r[2], r[3], None if r[4] is None else np.frombuffer(r[4], np.float32), r[5],
                        np.frombuffer(r[6], np.uint8).reshape(28, 28), r[7]) for r in rows]

    def count(self, owner: str | None = None) -> int:
        where, args = _owned(owner)
        with self._connect() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM samples WHERE {where}", args).fetchone()[0])

    def added_since(self, owner: str | None, seconds: float) -> int:
        """How many drawings ``owner`` labelled in the last ``seconds`` (the visitors' rate limit counts them
        here, so it holds across browser tabs and web servers)."""
        where, args = _owned(owner)
        with self._connect() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM samples WHERE {where} AND created > ?",
                                  (*args, time.time() - seconds)).fetchone()[0])

    def raw_png(self, drawing_id: int) -> bytes | None:
        with self._connect() as db:
            row = db.execute("SELECT raw_png FROM samples WHERE id = ?", (drawing_id,)).fetchone()
        return row[0] if row else None

    def relabel(self, drawing_id: int, label: int, owner: str | None = None) -> bool:
        """Change a drawing's label (only if it is ``owner``'s); whether it changed."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0–9, got {label!r}")
        where, args = _owned(owner)
        with self._connect() as db:
            return db.execute(f"UPDATE samples SET label = ? WHERE id = ? AND {where}",
                              (int(label), drawing_id, *args)).rowcount > 0

    def delete(self, drawing_id: int, owner: str | None = None) -> bool:
        """Delete a drawing (only if it is ``owner``'s); whether it was deleted."""
        where, args = _owned(owner)
        with self._connect() as db:
            return db.execute(f"DELETE FROM samples WHERE id = ? AND {where}", (drawing_id, *args)).rowcount > 0

    def delete_all(self, owner: str | None = None) -> int:
        """Delete every drawing (of ``owner``); how many."""
        where, args = _owned(owner)
        with self._connect() as db:
            return db.execute(f"DELETE FROM samples WHERE {where}", args).rowcount

    def forget_older_than(self, days: float) -> int:
        """The retention rule: delete drawings labelled more than ``days`` ago; how many."""
        with self._connect() as db:
            return db.execute("DELETE FROM samples WHERE created < ?", (time.time() - days * 86400,)).rowcount

    def arrays(self, owner: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The drawings (of ``owner``) in MNIST layout: uint8 images (N, 28, 28) and uint8 labels (N,), oldest first."""
        drawings = self.all(owner)[::-1]
        images = np.stack([d.image for d in drawings]) if drawings else np.zeros((0, 28, 28), np.uint8)
        return images, np.array([d.label for d in drawings], np.uint8)

    def export_npz(self, owner: str | None = None) -> bytes:
        """The drawings (of ``owner``) as an .npz with MNIST's keys (all of them in the training split)."""
        images, labels = self.arrays(owner)
        buf = io.BytesIO()
        np.savez_compressed(buf, x_train=images, y_train=labels, x_test=np.zeros((0, 28, 28), np.uint8),
                            y_test=np.zeros(0, np.uint8))
        return buf.getvalue()


def save_drawings(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Labelled digits (MNIST layout) written atomically as an .npz with My drawings' export keys, which
    ``load_drawings`` and ``training.train --include-drawings`` read: how the generated training sets are kept."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, x_train=images, y_train=labels)
    tmp.replace(path)


def load_drawings(*paths: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labelled drawings from drawings databases or exported ``.npz`` files (MNIST layout), one after another."""
    images, labels = [], []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        if path.suffix == ".npz":
            with np.load(path) as exported:
                x, y = exported["x_train"], exported["y_train"]
        else:
            x, y = DrawingStore(path).arrays()
        images.append(x)
        labels.append(y.astype(np.uint8))
    return np.concatenate(images), np.concatenate(labels)
