"""The training worker: ``python -m training.worker`` runs the queued training jobs, one at a time.

Training is kept out of the web server: a run there took both cores from every session drawing, and
died with the server. This process instead runs at the lowest CPU priority (Linux's ``SCHED_IDLE``:
it gets a core only when nothing else wants it; ``nice`` 19 elsewhere) with TensorFlow's
thread pools capped below the machine's core count, so the web server always has a core for the
canvas; it outlives web-server restarts, and the Train page follows it through the job records.

One worker per data directory (a lock file): a second one started by mistake says so and exits, and
a job is claimed atomically before it runs, so no job ever runs twice. On start it marks failed the
jobs a dead predecessor left running. SIGTERM or Ctrl-C stops the current job after its batch, marks
it failed ("the worker was shut down"), and exits.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import replace

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from model.store import data_dir, load_keras_model
from training.class_signal import ClassSignal
from training.data import MnistData, load_mnist
from training.drawings import DrawingStore, LabelledDrawings, default_path
from training.finetune import fine_tune
from training.jobs import HEARTBEAT_S, JobOutcome, JobRecord, JobState
from training.limits import VisitorLimits, prune_runs
from training.loop import train
from training.metrics import misclassified
from training.queue import TrainingQueue, WorkerLock
from training.runs import record_run
from training.snapshots import RUNS_WITH_SNAPSHOTS, SnapshotRecorder, decode_probe, default_probe

POLL_S = 0.5
"""How long an idle worker waits before looking at the queue again."""

# What --metrics-port serves. A registry of the module's own: `python -m` runs this file twice (see the end).
REGISTRY = CollectorRegistry()
JOBS_DONE = Counter("digits_worker_jobs_total", "Training jobs this worker ended, by how they ended.", ["state"],
                    registry=REGISTRY)
TRAINING_SECONDS = Histogram("digits_worker_training_seconds", "Seconds of training per job that produced a model.",
                             buckets=(10, 30, 60, 120, 300, 600, 1200, 2400, 4800), registry=REGISTRY)
BUSY = Gauge("digits_worker_busy", "1 while a training job runs.", registry=REGISTRY)
GAVE_WAY = Counter("digits_worker_gave_way_seconds_total",
                   "Seconds a run paused because a class was queueing at the canvas.", registry=REGISTRY)


def default_threads() -> int:
    """All the cores this process may use but one (at least one): the web server keeps the other."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


class Worker:
    """Runs jobs of one data directory: claim, train with progress and heartbeat, save, record the outcome."""

    serving: Worker | None = None
    """The worker taking jobs in this process: the queue's task body (``run_job``) hands jobs to it."""

    def __init__(self, queue: TrainingQueue):
        self.queue = queue
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.shutdown = threading.Event()

    @functools.cached_property
    def data(self) -> MnistData:
        """MNIST, loaded once for all the jobs this worker runs."""
        data = load_mnist()
        print(data.notice, flush=True)
        return data

    def run(self, job_id: int) -> None:
        record = self.queue.jobs.claim(job_id, self.name)
        if record is None:  # cancelled, or another worker has it
            return
        print(f"job {job_id} ({record.spec.name}) started", flush=True)
        stop, done = threading.Event(), threading.Event()
        heart = threading.Thread(target=self._beat, args=(job_id, stop, done), name=f"heartbeat-{job_id}", daemon=True)
        heart.start()
        BUSY.set(1)
        try:
            self._train(record, stop)
        except Exception as exc:  # noqa: BLE001 - whatever happens, the job must end in a state the page can show
            traceback.print_exc()
            self.queue.jobs.end(job_id, JobState.FAILED, error=f"{exc.__class__.__name__}: {exc}")
        finally:
            done.set()
            heart.join()
            BUSY.set(0)
        state = self.queue.jobs.get(job_id).state
        JOBS_DONE.labels(state).inc()
        print(f"job {job_id} {state}", flush=True)

    def serve(self, idle_exit: float | None = None) -> None:
        """Take jobs off the queue until shut down, or until it has been empty for ``idle_exit`` seconds."""
        Worker.serving = self
        idle_since = time.monotonic()
        while not self.shutdown.is_set():
            task = self.queue.huey.dequeue()
            if task is not None:
                self.queue.huey.execute(task)  # skips revoked (cancelled) tasks, else calls run_job → self.run
                idle_since = time.monotonic()
            elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                return
            else:
                self.shutdown.wait(POLL_S)

    def _beat(self, job_id: int, stop: threading.Event, done: threading.Event) -> None:
        """Tell the job records we are alive; pass on a stop asked for on the page, or our own shutdown."""
        while not done.wait(HEARTBEAT_S):
            if self.queue.jobs.beat(job_id) or self.shutdown.is_set():
                stop.set()

    def _train(self, record: JobRecord, stop: threading.Event) -> None:
        jobs, models, spec = self.queue.jobs, self.queue.models, record.spec
        busy_class = ClassSignal(self.queue.root)

        def give_way() -> None:  # after every batch: drawing comes first (training/class_signal.py)
            GAVE_WAY.inc(busy_class.wait_while_busy(stop))

        on_progress = functools.partial(jobs.add_progress, record.id)

        probe = decode_probe(spec.probe) if spec.probe is not None else default_probe(self.data)
        snapshots = SnapshotRecorder(probe, functools.partial(jobs.add_snapshot, record.id))
        jobs.forget_snapshots(RUNS_WITH_SNAPSHOTS)
        report = drawings = None
        if spec.drawings_weight is not None:
            drawings = LabelledDrawings(*DrawingStore(default_path(self.queue.root)).arrays(spec.drawings_owner),
                                        spec.drawings_weight)
        if spec.fine_tune_from is not None:
            start = load_keras_model(models.get(spec.fine_tune_from).path)
            result, report = fine_tune(start, spec.hyperparams, self.data, drawings.images, drawings.labels,
                                       drawings.weight, on_progress, stop, snapshots, give_way)
        else:
            result = train(spec.hyperparams, self.data, on_progress, stop, drawings=drawings, snapshots=snapshots,
                           pause=give_way)
        if result.error:
            jobs.end(record.id, JobState.FAILED, error=result.error)
            return
        if result.stopped and self.shutdown.is_set():
            jobs.end(record.id, JobState.FAILED, error="The training worker was shut down during this run. "
                                                       "Start the run again.")
            return
        meta = replace(record_run(result, self.data, drawings=drawings, report=report), owner=spec.owner,
                       visitor=spec.visitor).to_dict()
        mistakes = [(int(i), int(result.test_predicted[i])) for i in misclassified(result.test_predicted,
                                                                                    self.data.y_test)]
        outcome = JobOutcome(result.test, round(result.seconds, 1), round(result.images_per_second, 1),
                             len(result.epoch_history), mistakes, len(self.data.y_test), report)
        TRAINING_SECONDS.observe(result.seconds)
        if result.stopped:
            models.stage_run(result.model, meta, record.staging_key)
            jobs.end(record.id, JobState.STOPPED, outcome)
        else:
            info = models.save_run(result.model, meta, name=spec.name)
            jobs.end(record.id, JobState.FINISHED, replace(outcome, saved=info.id))
            prune_runs(models, VisitorLimits.from_env())



def lower_priority() -> str:
    """Run only on CPU time the web server and the browsers leave over; before any thread starts (they inherit it)."""
    os.nice(19)
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed: nice 19 alone
        return "nice 19"
    return "SCHED_IDLE"


def cap_threads(threads: int) -> None:
    """Limit TensorFlow's thread pools; must run before TensorFlow executes anything."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def run_job(job_id: int) -> None:
    if Worker.serving is None:
        raise RuntimeError("training jobs run in a training worker: python -m training.worker")
    Worker.serving.run(job_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the dashboard's queued training jobs, one at a time.")
    threads = int(os.environ.get("DIGITS_WORKER_THREADS") or default_threads())
    parser.add_argument("--threads", type=int, default=threads,
                        help="TensorFlow threads (default: the cores available minus one, at least 1)")
    parser.add_argument("--idle-exit", type=float, metavar="SECONDS",
                        help="exit once the queue has been empty this long (0: as soon as it is empty)")
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("DIGITS_WORKER_METRICS_PORT") or 0),
                        help="serve Prometheus metrics on this port (default $DIGITS_WORKER_METRICS_PORT; 0: off)")
    args = parser.parse_args(argv)
    root = data_dir()
    lock = WorkerLock(root)
    if not lock.acquire():
        print(f"a training worker is already running for {root}; this one exits", flush=True)
        return 0
    priority = lower_priority()
    cap_threads(args.threads)
    worker = Worker(TrainingQueue(root))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.shutdown.set())
    if args.metrics_port:
        start_http_server(args.metrics_port, registry=REGISTRY)
    orphaned = worker.queue.jobs.fail_stale(silent_for=0)  # we hold the lock: nobody else runs these
    print(f"training worker {worker.name} serving {root}: {args.threads} TensorFlow thread(s), {priority}"
          + (f"; marked {orphaned} job(s) of a dead worker failed" if orphaned else ""), flush=True)
    try:
        worker.serve(args.idle_exit)
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy: the queue's task body calls training.worker.run_job,
    # which must find the Worker that this process serves with.
    from training import worker

    sys.exit(worker.main())
