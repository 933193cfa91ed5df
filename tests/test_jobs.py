"""The server's background training job: start, busy, stop, keep/discard, automatic save."""

from __future__ import annotations

import time

import pytest

from model.store import ModelStore
from training.hyperparams import HyperparamError, Hyperparams
from training.jobs import JobBusy, TrainingJobs

SMALL = Hyperparams(epochs=1, batch_size=32, train_size=1500, seed=5)


def wait(job, timeout=120):
    deadline = time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not job.running, "the job did not end in time"


def test_a_finished_job_is_saved_with_its_metrics(sample, tmp_path):
    jobs = TrainingJobs(ModelStore(tmp_path))
    job = jobs.start(SMALL, lambda: sample, name="bg")
    with pytest.raises(JobBusy):
        jobs.start(SMALL, lambda: sample)
    wait(job)
    assert job.state == "finished" and job.saved is not None
    assert job.progress and job.progress[-1].epoch_end
    saved = ModelStore(tmp_path).runs()
    assert [r.id for r in saved] == [job.saved.id]
    assert saved[0].test_accuracy == pytest.approx(job.result.test.accuracy)
    assert saved[0].meta["hyperparams"]["train_size"] == 1500


def test_stop_then_keep_or_discard_the_partial_model(sample, tmp_path):
    jobs = TrainingJobs(ModelStore(tmp_path))
    job = jobs.start(Hyperparams(epochs=20, batch_size=32, train_size=3000), lambda: sample, name="long")
    while not job.progress:
        time.sleep(0.05)
    jobs.stop()
    wait(job)
    assert job.state == "stopped" and job.result.test is not None
    assert job.result.batches < 20 * 94 / 2, "stopped long before the end"
    info = jobs.keep_partial()
    assert job.state == "kept" and info.id.endswith("long-partial")
    assert ModelStore(tmp_path).get(info.id).meta["stopped_early"] is True

    second = jobs.start(Hyperparams(epochs=20, batch_size=32, train_size=3000), lambda: sample, name="again")
    while not second.progress:
        time.sleep(0.05)
    jobs.stop()
    wait(second)
    jobs.discard_partial()
    assert second.state == "discarded" and len(ModelStore(tmp_path).runs()) == 1


def test_impossible_settings_never_start_a_job(sample, tmp_path):
    jobs = TrainingJobs(ModelStore(tmp_path))
    with pytest.raises(HyperparamError):
        jobs.start(Hyperparams(batch_size=1), lambda: sample)
    assert jobs.current is None
