"""The training queue and worker: order, cancel, stop with keep/discard, crash → failed, restart, no double run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from harness import ROOT
from model.store import ModelStore
from training.hyperparams import HyperparamError, Hyperparams
from training.jobs import JobError, JobSpec, JobState, JobStore
from training.queue import TrainingQueue
from training.worker import Worker

SMALL = Hyperparams(epochs=1, batch_size=32, train_size=1500, seed=5)
LONG = Hyperparams(epochs=20, batch_size=32, train_size=3000)


def start_worker_process(root, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "training.worker", *args], cwd=ROOT, text=True,
                            env={**os.environ, "DIGITS_DATA_DIR": str(root)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_jobs_run_in_order_finished_ones_are_saved_and_a_cancelled_one_never_starts(queue):
    first, second, third = (queue.submit(JobSpec(SMALL, name)) for name in ("first", "second", "third"))
    assert [j.id for j in queue.jobs.active()] == [first.id, second.id, third.id]
    queue.cancel(second.id)
    assert [j.id for j in queue.jobs.active()] == [first.id, third.id]
    Worker(queue).serve(idle_exit=0)
    done = [queue.jobs.get(j.id) for j in (first, second, third)]
    assert [j.state for j in done] == [JobState.FINISHED, JobState.CANCELLED, JobState.FINISHED]
    assert done[0].started < done[2].started and done[1].started is None
    with pytest.raises(JobError, match="no longer waiting"):
        queue.cancel(first.id)
    saved = {r.id: r for r in ModelStore(queue.root).runs()}
    assert set(saved) == {done[0].outcome.saved, done[2].outcome.saved}
    assert saved[done[0].outcome.saved].test_accuracy == pytest.approx(done[0].outcome.test.accuracy)
    assert saved[done[0].outcome.saved].meta["hyperparams"]["train_size"] == 1500
    progress = queue.jobs.progress(first.id)
    assert progress and progress[-1].epoch_end
    assert len(done[0].outcome.mistakes) == round((1 - done[0].outcome.test.accuracy) * done[0].outcome.test_images)


def test_stop_then_keep_or_discard_the_partial_model(queue, serving, wait_for):
    job = queue.submit(JobSpec(LONG, "long"))
    wait_for(lambda: queue.jobs.progress(job.id), what="progress")
    queue.stop(job.id)
    wait_for(lambda: queue.jobs.get(job.id).state == JobState.STOPPED)
    stopped = queue.jobs.get(job.id)
    assert stopped.outcome.test is not None and stopped.outcome.epochs_completed < 10
    assert ModelStore(queue.root).runs() == [], "a partial model is not a saved run until kept"
    info = queue.keep_partial(job.id)
    assert info.id.endswith("long-partial") and queue.jobs.get(job.id).state == JobState.KEPT
    assert queue.jobs.get(job.id).outcome.saved == info.id
    assert ModelStore(queue.root).get(info.id).meta["stopped_early"] is True

    again = queue.submit(JobSpec(LONG, "again"))
    wait_for(lambda: queue.jobs.progress(again.id), what="progress")
    queue.stop(again.id)
    wait_for(lambda: queue.jobs.get(again.id).state == JobState.STOPPED)
    queue.discard_partial(again.id)
    assert queue.jobs.get(again.id).state == JobState.DISCARDED
    assert [r.id for r in ModelStore(queue.root).runs()] == [info.id]
    with pytest.raises(JobError):
        queue.keep_partial(again.id)


def test_a_stopped_run_keeps_waiting_for_a_decision_while_the_worker_moves_on(queue, serving, wait_for):
    long, small = queue.submit(JobSpec(LONG, "stopped-early")), queue.submit(JobSpec(SMALL, "next"))
    wait_for(lambda: queue.jobs.progress(long.id), what="progress")
    queue.stop(long.id)
    wait_for(lambda: queue.jobs.get(small.id).state == JobState.FINISHED)
    assert queue.jobs.latest().id == small.id
    assert [j.id for j in queue.jobs.stopped()] == [long.id], "still waiting for keep or discard"
    kept = queue.keep_partial(long.id)
    assert queue.jobs.stopped() == [] and kept.id.endswith("stopped-early-partial")
    with pytest.raises(JobError, match="no partial model waiting any more: it is kept"):
        queue.keep_partial(long.id)  # a second browser, or a double click


def test_impossible_settings_never_queue_a_job(queue):
    with pytest.raises(HyperparamError):
        queue.submit(JobSpec(Hyperparams(batch_size=1)))
    assert queue.jobs.active() == [] and queue.huey.pending_count() == 0


def test_a_job_is_claimed_once_and_a_silent_worker_s_job_fails(queue):
    job = queue.jobs.add(JobSpec(SMALL))
    assert queue.jobs.claim(job.id, "one") is not None
    assert queue.jobs.claim(job.id, "two") is None, "a second worker must not run the same job"
    assert queue.jobs.active()[0].state == JobState.RUNNING  # its heartbeat is fresh
    time.sleep(0.2)
    assert queue.jobs.fail_stale(silent_for=0.1) == 1
    failed = queue.jobs.get(job.id)
    assert failed.state == JobState.FAILED and "worker stopped without finishing" in failed.error


def test_killed_worker_second_worker_and_restart(queue, wait_for):
    """A real worker process: a second one exits; killed mid-run, its job ends failed; the next worker
    picks up what was queued meanwhile, and new readers (a restarted web server) see everything."""
    long = queue.submit(JobSpec(LONG, "doomed"))
    worker = start_worker_process(queue.root)
    try:
        wait_for(lambda: queue.jobs.progress(long.id), what="the worker's first progress report")
        waiting = queue.submit(JobSpec(SMALL, "next"))
        second = start_worker_process(queue.root, "--idle-exit=0")
        assert second.wait(timeout=120) == 0 and "already running" in second.stdout.read()
        assert queue.jobs.get(long.id).state == JobState.RUNNING
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        worker.kill()
    restarted = TrainingQueue(queue.root)  # what a web server started now would read
    assert restarted.jobs.get(long.id).state == JobState.RUNNING, "until its heartbeat is missed or a worker starts"
    assert len(restarted.jobs.progress(long.id)) >= 1
    replacement = start_worker_process(queue.root, "--idle-exit=0")
    output = replacement.communicate(timeout=300)[0]
    assert replacement.returncode == 0, output
    assert "marked 1 job(s) of a dead worker failed" in output
    doomed, picked = JobStore(queue.root).get(long.id), JobStore(queue.root).get(waiting.id)
    assert doomed.state == JobState.FAILED and "Start the run again" in doomed.error
    assert picked.state == JobState.FINISHED and picked.outcome.saved is not None


def test_sigterm_ends_the_running_job_as_failed_with_a_message(queue, wait_for):
    job = queue.submit(JobSpec(LONG, "interrupted"))
    worker = start_worker_process(queue.root)
    try:
        wait_for(lambda: queue.jobs.progress(job.id), what="the worker's first progress report")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=120) == 0
    finally:
        worker.kill()
    ended = queue.jobs.get(job.id)
    assert ended.state == JobState.FAILED and "shut down during this run" in ended.error
