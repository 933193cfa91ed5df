"""SQLite connections for the records kept in the data directory (labelled drawings, training jobs).

WAL mode: readers (every web server drawing the pages) never wait for a writer (a session labelling a
drawing, the worker reporting progress); writers wait on the lock for up to 30 s instead of failing.
Each call opens its own connection, so the stores are safe from any thread or process.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path


def connect(path: Path, *pragmas: str) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with the extra ``PRAGMA`` statements given (e.g. ``"synchronous=FULL"``)."""
    db = sqlite3.connect(path, timeout=30)
    for pragma in ("journal_mode=WAL", *pragmas):
        db.execute(f"PRAGMA {pragma}")
    return db


def create(path: Path, schema: str, added_columns: dict[str, str] | None = None) -> None:
    """Make the folder and the tables (``CREATE TABLE IF NOT EXISTS …``) of a store.

    ``added_columns`` ({"table.column": "TYPE"}) are columns that later versions added: a database made by
    an earlier version gets them (empty) instead of failing on its first query.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as db:
        db.executescript(schema)
        for qualified, declaration in (added_columns or {}).items():
            table, column = qualified.split(".")
            if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def move(old: Path, new: Path) -> None:
    """Copy a database (with what its write-ahead log holds) to ``new`` atomically, then remove the old files."""
    partial = new.with_name(new.name + ".partial")
    with closing(sqlite3.connect(old, timeout=30)) as source, closing(sqlite3.connect(partial)) as target:
        source.backup(target)
    os.replace(partial, new)
    for leftover in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm")):
        leftover.unlink(missing_ok=True)
