"""The training queue: Huey carries job ids from the web servers to the training worker.

By default Huey keeps its queue in SQLite in the data directory (``queue.sqlite3``) — nothing to
install or start. With ``DIGITS_REDIS_URL`` set (``redis://host:6379/0``) it uses Redis instead, for
web servers and workers on several machines. The message is only a job id; what to train and how far
it got live in the job records (``training.jobs``), which every web server reads.

``TrainingQueue`` is what the Train page and tests call: submit, cancel, stop, keep or discard. With
the embedded default the web server also makes sure a worker is running (``ensure_worker``), so
``streamlit run dashboard/streamlit_app.py`` alone gives a working Train page; set
``DIGITS_WORKER=external`` where the worker is started separately (docker-compose).
"""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
import sys
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from model.store import ModelInfo, ModelStore, data_dir
from training.drawings import DrawingStore, default_path
from training.jobs import JobError, JobRecord, JobSpec, JobState, JobStore
from training.limits import VisitorLimits, check_job, prune_runs

ROOT = Path(__file__).resolve().parents[1]
TASK_NAME = "train"
IDLE_EXIT_S = float(os.environ.get("DIGITS_WORKER_IDLE_EXIT") or 300)
"""A worker the web server started exits after this long without work (it costs memory, not CPU)."""
_started_workers: dict[Path, subprocess.Popen] = {}
"""Workers this process started, by data directory (also reaps them when they exit)."""


def _run_job(job_id: int) -> None:
    """The task body, executed by the worker process only."""
    from training.worker import run_job  # imported here: the worker module imports this one

    run_job(job_id)


@functools.cache
def _huey(root: Path, redis_url: str | None) -> tuple[Huey, TaskWrapper]:
    if redis_url:
        huey = RedisHuey("digits-training", url=redis_url, results=False)
    else:
        root.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("digits-training", filename=str(root / "queue.sqlite3"), results=False)
    return huey, huey.task(name=TASK_NAME)(_run_job)


def huey_for(root: Path) -> tuple[Huey, TaskWrapper]:
    """Huey and its one task for a data directory: SQLite there, or Redis when ``DIGITS_REDIS_URL`` is set."""
    return _huey(Path(root), os.environ.get("DIGITS_REDIS_URL") or None)


class WorkerLock:
    """One worker per data directory: an exclusive ``flock`` on ``worker.lock``, released when its process ends.

    Held by the running worker; the web server only tests it to know whether to start one.
    """

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "worker.lock"
        self._file = None

    def acquire(self) -> bool:
        file = self.path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        self._file = file
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file drops the lock
            self._file = None


class TrainingQueue:
    """Jobs of one data directory: ask for training, watch it, stop it, keep what it made."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else data_dir()
        self.jobs = JobStore(self.root)
        self.models = ModelStore(self.root)
        self.huey, self._task = huey_for(self.root)

    def submit(self, spec: JobSpec, limits: VisitorLimits | None = None) -> JobRecord:
        """Validate and queue a job; returns its record. Raises HyperparamError for impossible settings, and
        LimitExceeded when a visitor's job (``spec.visitor``) breaks one of ``limits`` (default: from the
        environment)."""
        spec.hyperparams.validate()
        if spec.visitor:
            drawing_count = DrawingStore(default_path(self.root)).count(spec.drawings_owner) \
                if spec.drawings_weight is not None else 0
            check_job(spec, self.jobs.active(), drawing_count, limits or VisitorLimits.from_env())
        record = self.jobs.add(spec)
        task = self._task.s(record.id)
        self.huey.enqueue(task)
        self.jobs.set_task(record.id, task.id)
        self.ensure_worker()
        return self.jobs.get(record.id)

    def cancel(self, job_id: int) -> JobRecord:
        """Take a queued job out of the queue (raises JobError if it already started)."""
        record = self.jobs.cancel(job_id)
        if record.task_id:
            self.huey.revoke_by_id(record.task_id)
        return record

    def stop(self, job_id: int) -> None:
        """End the running job after its current batch; its partial model waits to be kept or discarded."""
        self.jobs.request_stop(job_id)

    def keep_partial(self, job_id: int) -> ModelInfo:
        record = self.jobs.get(job_id)
        if record.state != JobState.STOPPED:
            raise JobError(record.no_decision_pending)
        info = self.models.keep_staged(record.staging_key, name=f"{record.spec.name}-partial")
        self.jobs.settle(job_id, JobState.KEPT, saved=info.id)
        prune_runs(self.models, VisitorLimits.from_env())
        return info

    def discard_partial(self, job_id: int) -> None:
        self.jobs.settle(job_id, JobState.DISCARDED)
        self.models.discard_staged(self.jobs.get(job_id).staging_key)

    def worker_running(self) -> bool:
        lock = WorkerLock(self.root)
        if lock.acquire():
            lock.release()
            return False
        return True

    def ensure_worker(self) -> None:
        """Start a local worker for this data directory unless one runs (or workers are started elsewhere).

        It runs in its own session, so restarting the web server does not end a run, and exits by itself
        after ``IDLE_EXIT_S`` without work; the next submit (or a look at the Train page while jobs wait)
        starts it again.
        """
        if os.environ.get("DIGITS_WORKER") == "external":
            return
        started = _started_workers.get(self.root)
        if (started is not None and started.poll() is None) or self.worker_running():
            return  # ours is still importing TensorFlow (it takes the lock after), or a worker holds the lock
        with (self.root / "worker.log").open("ab") as log:
            _started_workers[self.root] = subprocess.Popen(
                [sys.executable, "-m", "training.worker", f"--idle-exit={IDLE_EXIT_S}"], cwd=ROOT,
                env={**os.environ, "DIGITS_DATA_DIR": str(self.root)}, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
