"""Training jobs as records every process can read: what was asked, where it stands, how far it got.

The web servers write a job when someone presses Start and read it to draw the Train page; the
training worker (``training.worker``, another process, possibly another machine sharing the data
directory) claims it, reports progress, snapshots of the network learning (``training.snapshots``) and a
heartbeat, and writes its outcome. Delivering the job to
a worker is the task queue's business (``training.queue``); this module only keeps the records, in
SQLite in the data directory (WAL: readers never wait for the worker's writes).

A job's life::

    queued ──claim──▶ running ──▶ finished (saved as a run)
       │                 │ ├────▶ stopped (partial model staged) ──▶ kept | discarded
       ▼                 │ └────▶ failed (error, or the worker died: no heartbeat for STALE_AFTER_S)
    cancelled            └─ stop requested: ends after the current batch

No Streamlit and no TensorFlow here: reading a job costs the web server a small SQL query.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from model.store import data_dir
from training import database
from training.hyperparams import Hyperparams
from training.loop import Progress
from training.metrics import Evaluation
from training.runs import FineTuneReport
from training.snapshots import Snapshot

HEARTBEAT_S = 1.0
"""How often a worker running a job touches its record (and reads whether a stop was asked)."""
STALE_AFTER_S = 30.0
"""A running job whose worker has been silent this long is dead: marked failed, never 'running' forever."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    spec           TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    created        REAL    NOT NULL,
    started        REAL,
    ended          REAL,
    heartbeat      REAL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    worker         TEXT,
    task_id        TEXT,
    error          TEXT,
    outcome        TEXT
);
CREATE TABLE IF NOT EXISTS progress (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    report TEXT    NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS snapshots (
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    images_seen INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    PRIMARY KEY (job_id, seq)
);
"""


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    KEPT = "kept"
    DISCARDED = "discarded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobError(RuntimeError):
    """An action that does not fit the job's state (cancel a running job, keep a finished one…)."""


@dataclass(frozen=True)
class JobSpec:
    """What to train: the settings, the run's name, and optionally users' drawings or a model to fine-tune."""

    hyperparams: Hyperparams
    name: str = "run"
    drawings_weight: int | None = None
    """Mix the labelled drawings into training, each repeated this many times; None: MNIST only."""
    fine_tune_from: str | None = None
    """Fine-tune this saved model (its id) on the drawings instead of training from scratch."""
    owner: str | None = None
    """The browser that asked for it (dashboard/identity.py); its run records it too."""
    visitor: bool = False
    """Asked for by a visitor of a public server: checked against ``training.limits``, and its run may be pruned."""
    drawings_owner: str | None = None
    """Learn from this browser's drawings only (a visitor's); None: everyone's."""
    probe: str | None = None
    """The digit the run's snapshots read (``training.snapshots.encode_probe`` of the drawing on the asker's
    page); None: a fixed MNIST test digit."""

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "hyperparams": self.hyperparams.to_dict()})

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        values = json.loads(text)
        return cls(**{**values, "hyperparams": Hyperparams.from_dict(values["hyperparams"])})


@dataclass(frozen=True)
class JobOutcome:
    """What a run that got to the end (or was stopped) measured, for the Train page's results."""

    test: Evaluation
    seconds: float
    images_per_second: float
    epochs_completed: int
    mistakes: list[tuple[int, int]] = field(default_factory=list)
    """(test image index, predicted digit) of every misclassified test image."""
    test_images: int = 0
    """Size of the test set the mistakes index into (the page shows them only if its MNIST matches)."""
    report: FineTuneReport | None = None
    saved: str | None = None
    """The saved run's model id (finished, or stopped and kept)."""

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "test": self.test.to_dict(),
                           "report": self.report.to_dict() if self.report else None})

    @classmethod
    def from_json(cls, text: str) -> JobOutcome:
        values = json.loads(text)
        return cls(**{**values, "test": Evaluation.from_dict(values["test"]),
                      "mistakes": [tuple(m) for m in values["mistakes"]],
                      "report": FineTuneReport.from_dict(values["report"]) if values["report"] else None})


@dataclass(frozen=True)
class JobRecord:
    """One job as stored; a snapshot — read it again to see it move."""

    id: int
    spec: JobSpec
    state: JobState
    created: float
    started: float | None
    ended: float | None
    heartbeat: float | None
    stop_requested: bool
    worker: str | None
    task_id: str | None
    error: str | None
    outcome: JobOutcome | None

    @property
    def no_decision_pending(self) -> str:
        """What to say to a Keep or Discard that comes too late (another browser, or a double click)."""
        return f"Run “{self.spec.name}” has no partial model waiting any more: it is {self.state}."

    @property
    def staging_key(self) -> str:
        """Where a stopped job's partial model waits in the model store."""
        return f"job-{self.id}"


def _owned(where: str, owner: str | None) -> tuple[str, tuple]:
    """``where``, narrowed to the jobs of browser ``owner`` (kept in the spec's JSON) unless it is None."""
    return (where, ()) if owner is None else (f"{where} AND json_extract(spec, '$.owner') = ?", (owner,))


class JobStore:
    """The job records of one data directory. Each call opens its own connection: safe from any thread."""

    def __init__(self, root: Path | None = None):
        self.path = (Path(root) if root is not None else data_dir()) / "jobs.sqlite3"
        database.create(self.path, SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return database.connect(self.path, "foreign_keys=ON")

    def _update(self, sql: str, *args: Any) -> bool:
        """Run one UPDATE; True if it changed a row (the state it required was there)."""
        with self._connect() as db:
            return db.execute(sql, args).rowcount > 0

    @staticmethod
    def _record(row: tuple) -> JobRecord:
        (job_id, spec, state, created, started, ended, heartbeat, stop_requested, worker, task_id, error,
         outcome) = row
        return JobRecord(job_id, JobSpec.from_json(spec), JobState(state), created, started, ended, heartbeat,
                         bool(stop_requested), worker, task_id, error,
                         JobOutcome.from_json(outcome) if outcome else None)

    def _select(self, where: str = "1", *args: Any, order: str = "id") -> list[JobRecord]:
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM jobs WHERE {where} ORDER BY {order}", args).fetchall()
        return [self._record(r) for r in rows]

    # ---- reading (web servers)
    def get(self, job_id: int) -> JobRecord:
        found = self._select("id = ?", job_id)
        if not found:
            raise JobError(f"there is no training job {job_id}")
        return found[0]

    def active(self) -> list[JobRecord]:
        """The running job(s) first, then the queue in the order it will run. Dead workers' jobs are failed first."""
        self.fail_stale()
        return self._select("state IN (?, ?)", JobState.RUNNING, JobState.QUEUED,
                            order=f"state != '{JobState.RUNNING}', id")

    def counts(self) -> dict[JobState, int]:
        """How many jobs are in each state (every state listed, zeros included)."""
        with self._connect() as db:
            rows = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        return {state: int(rows.get(state, 0)) for state in JobState}

    def latest(self, owner: str | None = None) -> JobRecord | None:
        """The job (of ``owner``, else anyone's) that ended last, however it ended (cancelled ones never ran): the
        Train page shows its results, also while the next one trains."""
        where, args = _owned("started IS NOT NULL AND ended IS NOT NULL", owner)
        found = self._select(where, *args, order="ended DESC LIMIT 1")
        return found[0] if found else None

    def stopped(self, owner: str | None = None) -> list[JobRecord]:
        """Stopped runs (of ``owner``, else anyone's) whose partial model waits for someone to keep or discard it,
        oldest first."""
        where, args = _owned("state = ?", owner)
        return self._select(where, JobState.STOPPED, *args)

    def progress(self, job_id: int, after: int = 0) -> list[Progress]:
        """The job's progress reports, oldest first (from report number ``after`` on)."""
        with self._connect() as db:
            rows = db.execute("SELECT report FROM progress WHERE job_id = ? AND seq >= ? ORDER BY seq",
                              (job_id, after)).fetchall()
        return [Progress(**json.loads(r[0])) for r in rows]

    def snapshot_marks(self, job_id: int) -> list[tuple[int, int]]:
        """(seq, images seen) of the job's snapshots, oldest first: what a replay can show, without the payloads."""
        with self._connect() as db:
            return db.execute("SELECT seq, images_seen FROM snapshots WHERE job_id = ? ORDER BY seq",
                              (job_id,)).fetchall()

    def snapshot(self, job_id: int, seq: int) -> Snapshot:
        """One snapshot of the job (raises JobError if thinning has dropped it since its mark was read)."""
        with self._connect() as db:
            row = db.execute("SELECT images_seen, payload FROM snapshots WHERE job_id = ? AND seq = ?",
                             (job_id, seq)).fetchone()
        if row is None:
            raise JobError(f"training job {job_id} has no snapshot {seq}")
        return Snapshot.from_bytes(*row)

    # ---- asking (web servers)
    def add(self, spec: JobSpec) -> JobRecord:
        with self._connect() as db:
            job_id = db.execute("INSERT INTO jobs (spec, state, created) VALUES (?, ?, ?)",
                                (spec.to_json(), JobState.QUEUED, time.time())).lastrowid
        return self.get(job_id)

    def set_task(self, job_id: int, task_id: str) -> None:
        self._update("UPDATE jobs SET task_id = ? WHERE id = ?", task_id, job_id)

    def cancel(self, job_id: int) -> JobRecord:
        """Take a queued job out of the queue; it will never start."""
        if not self._update("UPDATE jobs SET state = ?, ended = ? WHERE id = ? AND state = ?",
                            JobState.CANCELLED, time.time(), job_id, JobState.QUEUED):
            job = self.get(job_id)
            raise JobError(f"Run “{job.spec.name}” is no longer waiting in the queue: it is {job.state}.")
        return self.get(job_id)

    def request_stop(self, job_id: int) -> None:
        """Ask the worker to end the running job after its current batch."""
        self._update("UPDATE jobs SET stop_requested = 1 WHERE id = ? AND state = ?", job_id, JobState.RUNNING)

    def settle(self, job_id: int, state: JobState, saved: str | None = None) -> JobRecord:
        """A stopped job's partial model was kept (``saved`` is its run id) or discarded."""
        outcome = self.get(job_id).outcome
        if outcome is not None and saved is not None:
            outcome = replace(outcome, saved=saved)
        if not self._update("UPDATE jobs SET state = ?, outcome = ? WHERE id = ? AND state = ?",
                            state, outcome.to_json() if outcome else None, job_id, JobState.STOPPED):
            raise JobError(self.get(job_id).no_decision_pending)  # someone else decided a moment ago
        return self.get(job_id)

    # ---- working (the training worker)
    def claim(self, job_id: int, worker: str) -> JobRecord | None:
        """Mark a queued job running for ``worker``; None if it was cancelled or someone else has it.

        One atomic UPDATE: of two workers handed the same job, exactly one gets it.
        """
        now = time.time()
        if not self._update("UPDATE jobs SET state = ?, started = ?, heartbeat = ?, worker = ? "
                            "WHERE id = ? AND state = ?", JobState.RUNNING, now, now, worker, job_id, JobState.QUEUED):
            return None
        return self.get(job_id)

    def beat(self, job_id: int) -> bool:
        """The worker is alive; returns whether a stop was asked for."""
        with self._connect() as db:
            db.execute("UPDATE jobs SET heartbeat = ? WHERE id = ? AND state = ?",
                       (time.time(), job_id, JobState.RUNNING))
            row = db.execute("SELECT stop_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def add_progress(self, job_id: int, report: Progress) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO progress (job_id, seq, report) SELECT ?, COUNT(*), ? FROM progress "
                       "WHERE job_id = ?", (job_id, json.dumps(asdict(report)), job_id))

    def add_snapshot(self, job_id: int, seq: int, snapshot: Snapshot, dropped: list[int]) -> None:
        """Store snapshot ``seq`` and drop the ones thinning let go, in one transaction (``training.snapshots``)."""
        with self._connect() as db:
            db.execute("INSERT INTO snapshots (job_id, seq, images_seen, payload) VALUES (?, ?, ?, ?)",
                       (job_id, seq, snapshot.images_seen, snapshot.to_bytes()))
            db.executemany("DELETE FROM snapshots WHERE job_id = ? AND seq = ?", [(job_id, d) for d in dropped])

    def forget_snapshots(self, keep_runs: int) -> None:
        """Drop the snapshots of all jobs but the newest ``keep_runs`` that have some (older runs lose their replay)."""
        with self._connect() as db:
            db.execute("DELETE FROM snapshots WHERE job_id NOT IN "
                       "(SELECT DISTINCT job_id FROM snapshots ORDER BY job_id DESC LIMIT ?)", (keep_runs,))

    def end(self, job_id: int, state: JobState, outcome: JobOutcome | None = None, error: str | None = None) -> None:
        """Record how a running job ended."""
        self._update("UPDATE jobs SET state = ?, ended = ?, outcome = ?, error = ? WHERE id = ? AND state = ?",
                     state, time.time(), outcome.to_json() if outcome else None, error, job_id, JobState.RUNNING)

    def fail_stale(self, silent_for: float = STALE_AFTER_S) -> int:
        """Mark failed the running jobs whose worker has not beaten for ``silent_for`` seconds; how many."""
        now = time.time()
        message = ("The training worker stopped without finishing this run (it crashed, ran out of memory or "
                   "was killed). Start the run again.")
        with self._connect() as db:
            return db.execute("UPDATE jobs SET state = ?, ended = ?, error = ? WHERE state = ? AND heartbeat < ?",
                              (JobState.FAILED, now, message, JobState.RUNNING, now - silent_for)).rowcount
