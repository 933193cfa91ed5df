"""Drawing comes first: a class queueing at the canvas pauses training (training/class_signal.py). That the stroke
gate reports a real class's queue is checked in tests/test_stroke_gate.py."""

from __future__ import annotations

import os
import threading
import time

from training.class_signal import HOLD_S, ClassSignal
from training.hyperparams import Hyperparams
from training.jobs import JobSpec, JobState

LONG = Hyperparams(epochs=20, batch_size=32, train_size=3000)


def age(signal: ClassSignal, seconds: float) -> None:
    """Make the last report ``seconds`` old."""
    then = time.time() - seconds
    os.utime(signal.path, (then, then))


def test_a_report_makes_the_class_busy_for_a_few_seconds(tmp_path):
    signal = ClassSignal(tmp_path)
    assert not signal.busy(), "no report yet"
    signal.report_busy()
    assert signal.busy()
    age(signal, HOLD_S + 0.5)
    assert not signal.busy()
    ClassSignal(tmp_path).report_busy()  # another web server on the same data directory
    assert signal.busy()


def test_reports_are_rate_limited_per_server(tmp_path):
    signal = ClassSignal(tmp_path)
    signal.report_busy()
    age(signal, 100)
    signal.report_busy()  # within a second of the last one: not written again
    assert not signal.busy()


def test_a_report_into_a_missing_directory_does_not_fail_the_stroke(tmp_path):
    signal = ClassSignal(tmp_path / "not-there")
    signal.report_busy()
    assert not signal.busy()


def test_waiting_ends_when_the_class_stops_queueing_or_the_run_is_stopped(tmp_path):
    signal, stop = ClassSignal(tmp_path), threading.Event()
    assert signal.wait_while_busy(stop) < 0.1, "an idle class costs the run nothing"
    signal.report_busy()
    age(signal, HOLD_S - 0.6)
    waited = signal.wait_while_busy(stop)
    assert 0.4 < waited < 2.0
    signal = ClassSignal(tmp_path)
    signal.report_busy()
    threading.Timer(0.3, stop.set).start()
    assert signal.wait_while_busy(stop) < 1.5, "Stop on the Train page works while the run gives way"


def test_a_run_pauses_while_a_class_queues_and_goes_on_after(queue, serving, wait_for):
    job = queue.submit(JobSpec(LONG, "gives-way"))
    wait_for(lambda: queue.jobs.progress(job.id), what="progress")
    queueing = threading.Event()

    def class_draws() -> None:  # as the stroke gate does while strokes wait for their turn
        while not queueing.wait(0.5):
            ClassSignal(queue.root).report_busy()

    drawing = threading.Thread(target=class_draws)
    drawing.start()
    try:
        time.sleep(1.0)  # the report in flight lands, then the run waits
        before = len(queue.jobs.progress(job.id))
        time.sleep(4.0)
        assert len(queue.jobs.progress(job.id)) <= before + 1, "the run kept training while the class queued"
    finally:
        queueing.set()
        drawing.join()
    wait_for(lambda: len(queue.jobs.progress(job.id)) > before + 2, timeout=60, what="the run going on")
    queue.stop(job.id)
    wait_for(lambda: queue.jobs.get(job.id).state == JobState.STOPPED)
