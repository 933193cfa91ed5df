"""What ``GET /metrics`` reports, in Prometheus's text format (``prometheus_client``).

Counted here as they happen: predictions by where the image came from, and how long each took. Read
when Prometheus scrapes: training jobs by state, the queue's length, the running job's speed and the
worker's heartbeat (from the job records every process shares), and the sessions open on this server
(from Streamlit's own stats, the ``active_sessions`` family of ``/_stcore/metrics``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from training.jobs import JobState, JobStore

disable_created_metrics()  # no *_created series: nothing here reads them, and they triple the output
REGISTRY = CollectorRegistry()
"""This server's figures only (not the default registry's process/GC series of whatever imported it)."""


class Source(StrEnum):
    """Where a predicted image came from."""

    CANVAS = "canvas"
    UPLOAD = "upload"
    API = "api"


PREDICTIONS = Counter("digits_predictions_total", "Images answered, by where they came from.", ["source"],
                      registry=REGISTRY)
LATENCY = Histogram("digits_prediction_seconds", "Seconds from image to answer (preprocessing and the forward "
                    "pass).", ["source"], registry=REGISTRY,
                    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))
for _source in Source:  # every series exists from the start, so rates work from the first scrape
    PREDICTIONS.labels(_source)
    LATENCY.labels(_source)
# The canvas's queue (dashboard/stroke_gate.py): how many runs wait for their turn, how long, and how many left it
# for their student's newer stroke.
STROKES_WAITING = Gauge("digits_strokes_waiting", "Canvas runs waiting for their turn now.", registry=REGISTRY)
STROKE_WAIT = Histogram("digits_stroke_wait_seconds", "Seconds a canvas run waited for its turn.", registry=REGISTRY,
                        buckets=(0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0))
STROKES_SUPERSEDED = Counter("digits_strokes_superseded_total", "Canvas runs that left the queue for their "
                             "student's newer stroke, before doing any work.", registry=REGISTRY)
STROKES_INTERRUPTED = Counter("digits_stroke_runs_interrupted_total", "Canvas runs stopped half-way for a rerun, "
                              "their work thrown away.", registry=REGISTRY)


@contextmanager
def timed_prediction(source: Source) -> Iterator[None]:
    """Count one prediction from ``source`` and observe how long the block took (failed ones are not counted)."""
    started = time.perf_counter()
    yield
    LATENCY.labels(source).observe(time.perf_counter() - started)
    PREDICTIONS.labels(source).inc()


class TrainingCollector(Collector):
    """Jobs by state, queue length, the running job's images/s and the worker's heartbeat age."""

    def collect(self):
        jobs = JobStore()
        by_state = GaugeMetricFamily("digits_training_jobs", "Training jobs by state.", labels=["state"])
        for state, count in jobs.counts().items():
            by_state.add_metric([state], count)
        yield by_state
        active = jobs.active()
        yield GaugeMetricFamily("digits_training_queue_length", "Training jobs waiting for the worker.",
                                value=sum(job.state == JobState.QUEUED for job in active))
        running = [job for job in active if job.state == JobState.RUNNING]
        progress = jobs.progress(running[0].id) if running else []
        yield GaugeMetricFamily("digits_training_images_per_second", "Speed of the running training job (0 when "
                                "none runs).", value=progress[-1].images_per_second if progress else 0.0)
        heartbeat = running[0].heartbeat if running else None
        yield GaugeMetricFamily("digits_worker_heartbeat_age_seconds", "Seconds since the worker running a job "
                                "last reported (0 when no job runs).",
                                value=time.time() - heartbeat if heartbeat else 0.0)


class SessionsCollector(Collector):
    """Browser sessions connected to this server, from Streamlit's runtime stats."""

    def collect(self):
        from streamlit.runtime import Runtime
        from streamlit.runtime.stats import ACTIVE_SESSIONS_FAMILY

        count = 0.0
        if Runtime.exists():
            stats = Runtime.instance().stats_mgr.get_stats([ACTIVE_SESSIONS_FAMILY])
            count = sum(stat.value for stat in stats.get(ACTIVE_SESSIONS_FAMILY, []))
        yield GaugeMetricFamily("digits_active_sessions", "Browser sessions connected to this server.", value=count)


REGISTRY.register(TrainingCollector())
REGISTRY.register(SessionsCollector())


def exposition() -> bytes:
    """Everything above in Prometheus's text format."""
    return generate_latest(REGISTRY)
