"""What a visitor of a public server may ask for, and the rules that enforce it.

A server with an admin credential (or reachable beyond localhost without one) treats everyone else as
a visitor: one run at a time, Quick-sized runs, a few kept runs each, a cap on the disk all runs take,
a rate for labelled drawings and for API calls. Every limit has a default sized for a 2-core classroom
server and can be set with an environment variable ``DIGITS_LIMIT_<NAME>`` (e.g.
``DIGITS_LIMIT_RUNS_PER_VISITOR=5``). An admin's own requests are not limited.

The web server checks a job before queueing it (``check_job``); the training worker prunes visitors'
runs after saving one (``prune_runs``). No Streamlit here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from model.store import SHIPPED_ID, ModelInfo, ModelStore
from training import finetune
from training.jobs import JobRecord, JobSpec
from training.runs import RunRecord


class LimitExceeded(ValueError):
    """A visitor asked for more than the server allows; the message says which limit and what to do."""


@dataclass(frozen=True)
class VisitorLimits:
    jobs_per_visitor: int = 1
    """Runs one browser may have queued or running at once."""
    visitor_jobs: int = 10
    """Visitors' runs queued or running at once, all browsers together (a fresh browser is a new visitor, so the
    per-browser limit alone would not keep the queue short)."""
    images_per_run: int = 60_000
    """Epochs × training images (drawings counted with their repeats) of one run: a Quick run."""
    runs_per_visitor: int = 3
    """Saved runs kept per browser; the oldest goes when a new one is saved."""
    runs_disk_mb: int = 500
    """Disk all saved runs may take; the oldest visitors' runs go first (never the shipped model or the default)."""
    drawings_per_minute: int = 20
    """Drawings one browser may label per minute."""
    api_per_minute: int = 120
    """``/api/predict`` requests per client address per minute."""

    @classmethod
    def from_env(cls) -> VisitorLimits:
        """The defaults, overridden by ``DIGITS_LIMIT_<FIELD>`` environment variables (whole numbers ≥ 0)."""
        values = {}
        for f in fields(cls):
            text = os.environ.get(f"DIGITS_LIMIT_{f.name.upper()}")
            if text:
                if not text.isdigit():
                    raise ValueError(f"DIGITS_LIMIT_{f.name.upper()} must be a whole number ≥ 0, got {text!r}")
                values[f.name] = int(text)
        return cls(**values)


def images_seen(spec: JobSpec, drawing_count: int) -> int:
    """Training images one run goes through: epochs × (MNIST images + drawings × their repeats)."""
    extra = drawing_count * (spec.drawings_weight or 0)
    if spec.fine_tune_from is not None:
        return finetune.EPOCHS * (finetune.MNIST_IMAGES + extra)
    return spec.hyperparams.epochs * (spec.hyperparams.train_size + extra)


def check_job(spec: JobSpec, active: list[JobRecord], drawing_count: int, limits: VisitorLimits) -> None:
    """Raise LimitExceeded if a visitor's job would break a limit; ``active`` are the queued and running jobs."""
    mine = [job for job in active if job.spec.owner == spec.owner]
    if len(mine) >= limits.jobs_per_visitor:
        raise LimitExceeded(f"You already have {len(mine)} run(s) waiting or training; visitors may have "
                            f"{limits.jobs_per_visitor} at a time. Wait for it to finish, or cancel it.")
    visitors = [job for job in active if job.spec.visitor]
    if len(visitors) >= limits.visitor_jobs:
        raise LimitExceeded(f"The training queue is full: {len(visitors)} visitors' runs are waiting or training. "
                            "Try again when some have finished.")
    cost = images_seen(spec, drawing_count)
    if cost > limits.images_per_run:
        raise LimitExceeded(f"This run would train on {cost:,} images (epochs × training images); visitors may "
                            f"train on {limits.images_per_run:,} per run. Lower the epochs or the training "
                            "images — the Quick preset fits.")


def check_drawing(labelled_last_minute: int, limits: VisitorLimits) -> None:
    """Raise LimitExceeded if a visitor who labelled this many drawings in the last minute may not label another."""
    if labelled_last_minute >= limits.drawings_per_minute:
        raise LimitExceeded(f"You labelled {labelled_last_minute} drawing(s) in the last minute; visitors may label "
                            f"{limits.drawings_per_minute} a minute. This one was not kept: wait a moment and press "
                            "again.")


def _size(model: ModelInfo) -> int:
    return sum(f.stat().st_size for f in model.path.parent.iterdir() if f.is_file())


def prune_runs(store: ModelStore, limits: VisitorLimits) -> list[str]:
    """Delete visitors' runs beyond ``runs_per_visitor`` each, then the oldest visitors' runs while all runs
    together take more than ``runs_disk_mb``. The shipped model, the server default and runs made without
    limits (an admin's, the command line's) are never pruned. Returns the deleted run ids."""
    runs = store.runs()  # newest first
    protected = {SHIPPED_ID, store.active_id()}
    visitor_runs = [m for m in runs if m.id not in protected and RunRecord.from_dict(m.meta).visitor]
    doomed: list[ModelInfo] = []
    kept_per_owner: dict[str | None, int] = {}
    for model in visitor_runs:
        owner = RunRecord.from_dict(model.meta).owner
        kept_per_owner[owner] = kept_per_owner.get(owner, 0) + 1
        if kept_per_owner[owner] > limits.runs_per_visitor:
            doomed.append(model)
    total = sum(_size(m) for m in runs if m not in doomed)
    for model in reversed(visitor_runs):  # oldest first
        if total <= limits.runs_disk_mb * 1_000_000:
            break
        if model not in doomed:
            doomed.append(model)
            total -= _size(model)
    for model in doomed:
        store.delete_run(model.id)
    return [m.id for m in doomed]
