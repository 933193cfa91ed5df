"""One background training job per server, owned by the server rather than any page or browser.

The Train page starts a job and polls it; closing the browser, reloading or switching pages does not
touch the thread, other sessions keep predicting, and a second user sees the same job's progress. A
finished run is saved through the model store automatically; a stopped run waits for its user to keep
or discard the partial model. No Streamlit here: the dashboard holds one ``TrainingJobs`` in
``st.cache_resource``.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np

from model.store import ModelInfo, ModelStore
from training.data import MnistData
from training.finetune import FineTuneReport, fine_tune
from training.hyperparams import Hyperparams
from training.trainer import ExtraImages, Progress, TrainResult, describe_run, train


class JobBusy(RuntimeError):
    """A job is already running on this server."""


@dataclass
class Job:
    """The state of one training job; read by any session, changed only by its thread or its owner's actions."""

    hyperparams: Hyperparams
    name: str
    data: MnistData = field(repr=False)
    started: float = field(default_factory=time.time)
    progress: list[Progress] = field(default_factory=list)
    state: str = "running"
    """running → finished (saved) | stopped (awaiting keep/discard) | failed | discarded | kept."""
    drawings: ExtraImages | None = None
    """Users' labelled drawings mixed into training (oversampled by their weight)."""
    fine_tune_from: keras.Model | None = field(default=None, repr=False)
    """Set for fine-tuning: start from this model's weights; ``drawings`` are then what it learns."""
    result: TrainResult | None = None
    report: FineTuneReport | None = None
    saved: ModelInfo | None = None
    error: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    @property
    def latest(self) -> Progress | None:
        return self.progress[-1] if self.progress else None

    @property
    def running(self) -> bool:
        return self.state == "running"


class TrainingJobs:
    """Starts at most one job at a time and remembers the last one."""

    def __init__(self, store: ModelStore | None = None):
        self._store = store
        self._lock = threading.Lock()
        self.current: Job | None = None

    @property
    def store(self) -> ModelStore:
        return self._store or ModelStore()

    def start(self, hp: Hyperparams, load_data: Callable[[], MnistData], name: str = "run",
              drawings: ExtraImages | None = None, fine_tune_from: keras.Model | None = None) -> Job:
        """Validate ``hp`` and start training in a daemon thread. Raises HyperparamError or JobBusy.

        With ``fine_tune_from``, the job fine-tunes that model on ``drawings`` (see training.finetune)
        instead of training ``hp``'s network from scratch.
        """
        hp.validate()
        with self._lock:
            if self.current is not None and self.current.running:
                raise JobBusy("a training run is already in progress on this server")
            job = Job(hp, name, load_data(), drawings=drawings, fine_tune_from=fine_tune_from)
            self.current = job
        threading.Thread(target=self._run, args=(job,), name=f"train-{name}", daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        try:
            if job.fine_tune_from is not None:
                drawings = job.drawings
                result, job.report = fine_tune(job.fine_tune_from, job.hyperparams, job.data, drawings.images,
                                               drawings.labels, drawings.weight, job.progress.append, job.stop_event)
            else:
                result = train(job.hyperparams, job.data, job.progress.append, job.stop_event, extra=job.drawings)
            job.result = result
            if result.error:
                job.error, job.state = result.error, "failed"
            elif result.stopped:
                job.state = "stopped"
            else:
                job.saved = self.store.save_run(result.model, self._describe(job), name=job.name)
                job.state = "finished"
        except Exception as exc:  # noqa: BLE001 - the thread must always end in a state the page can show
            job.error = f"{exc.__class__.__name__}: {exc}"
            job.state = "failed"
            traceback.print_exc()

    @staticmethod
    def _describe(job: Job) -> dict:
        """The run's JSON: the trainer's description plus the drawings used and any fine-tuning report."""
        meta = describe_run(job.result, job.data)
        if job.drawings is not None:
            meta["drawings"] = {"count": int(len(job.drawings.images)), "weight": job.drawings.weight,
                                "per_digit": np.bincount(job.drawings.labels, minlength=10).tolist()}
        if job.report is not None:
            meta["fine_tune"] = job.report.to_dict()
        return meta

    def stop(self) -> None:
        """Ask the running job to end after its current batch."""
        if self.current is not None and self.current.running:
            self.current.stop_event.set()

    def keep_partial(self) -> ModelInfo:
        """Save the stopped job's partial model as a run."""
        job = self.current
        if job is None or job.state != "stopped" or job.result is None:
            raise RuntimeError("there is no stopped run to keep")
        job.saved = self.store.save_run(job.result.model, self._describe(job), name=f"{job.name}-partial")
        job.state = "kept"
        return job.saved

    def discard_partial(self) -> None:
        if self.current is not None and self.current.state == "stopped":
            self.current.state, self.current.result = "discarded", None
