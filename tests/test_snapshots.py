"""Watch it learn: snapshots recorded while real TensorFlow trains on the bundled sample, and their storage."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.synthetic_drawings import stroke_digit
from model.preprocess import to_model_input
from training.hyperparams import Hyperparams
from training.jobs import JobError, JobSpec, JobStore
from training.loop import train
from training.snapshots import (
    MAX_SNAPSHOTS,
    SHOWN,
    Snapshot,
    SnapshotRecorder,
    decode_probe,
    default_probe,
    encode_probe,
)
from training.worker import Worker

SMALL = Hyperparams(epochs=1, batch_size=32, train_size=3000, seed=4)


class Kept(dict):
    """What a store keeps of a recorder's snapshots: each added, the dropped ones removed (as JobStore does)."""

    def __call__(self, seq: int, snapshot: Snapshot, dropped: list[int]) -> None:
        self[seq] = snapshot
        for d in dropped:
            del self[d]


@pytest.mark.parametrize("architecture", ["cnn", "lenet5", "mlp"])
def test_snapshots_show_the_first_layer_learning_evenly_spaced_and_bounded(sample, architecture):
    kept = Kept()
    recorder = SnapshotRecorder(default_probe(sample), kept, every=128, limit=10)
    train(replace(SMALL, architecture=architecture), sample, snapshots=recorder)
    snapshots = [kept[seq] for seq in sorted(kept)]
    assert sorted(kept) == recorder.kept and 6 <= len(snapshots) <= 10, "thinned to at most the limit"
    seen = [s.images_seen for s in snapshots]
    assert seen[0] == 0, "the untrained network first"
    assert seen[-1] == round(SMALL.train_size * (1 - SMALL.validation_fraction)), "and the last batch's state"
    assert set(np.diff(seen[:-1])) == {recorder.every}, "evenly spaced over the run"
    first, last = snapshots[0], snapshots[-1]
    assert np.abs(last.weights.astype(np.float32) - first.weights.astype(np.float32)).max() > 1e-2, "it learned"
    for s in snapshots:
        assert s.probabilities.shape == (10,) and s.probabilities.sum() == pytest.approx(1, abs=1e-4)
        assert len(s.weights) == min(SHOWN, s.units) and s.weights.dtype == np.float16
        np.testing.assert_array_equal(s.probe, sample.x_test[0])  # the fixed MNIST test digit
    if architecture == "mlp":
        assert first.weights.shape[1:] == (28, 28) and first.units == 128 and first.feature_maps is None
    else:
        assert first.weights.shape[1:] == (5, 5) and first.feature_maps.shape == (len(first.weights), 28, 28)
        assert not np.array_equal(first.feature_maps, last.feature_maps)
    assert last.probabilities.argmax() == sample.y_test[0], "the trained network reads the probe right"


def test_a_snapshot_and_a_probe_survive_storage_and_thinning_drops_rows(tmp_path):
    rng = np.random.default_rng(0)
    snapshot = Snapshot(640, rng.normal(size=(6, 5, 5)).astype(np.float16), 6,
                        np.full(10, 0.1, np.float32), rng.random((6, 28, 28)).astype(np.float16),
                        rng.integers(0, 256, (28, 28), dtype=np.uint8))
    mlp = Snapshot(0, rng.normal(size=(16, 28, 28)).astype(np.float16), 128, np.full(10, 0.1, np.float32), None,
                   snapshot.probe)
    jobs = JobStore(tmp_path)
    job = jobs.add(JobSpec(SMALL, probe=encode_probe(snapshot.probe / 255)))
    np.testing.assert_array_equal((decode_probe(jobs.get(job.id).spec.probe) * 255).round(), snapshot.probe)
    jobs.add_snapshot(job.id, 0, mlp, [])
    jobs.add_snapshot(job.id, 1, snapshot, [])
    jobs.add_snapshot(job.id, 2, snapshot, [1])
    assert jobs.snapshot_marks(job.id) == [(0, 0), (2, 640)]
    back = jobs.snapshot(job.id, 2)
    for name in ("weights", "probabilities", "feature_maps", "probe"):
        np.testing.assert_array_equal(getattr(back, name), getattr(snapshot, name))
        assert getattr(back, name).dtype == getattr(snapshot, name).dtype
    assert (back.images_seen, back.units) == (640, 6)
    assert jobs.snapshot(job.id, 0).feature_maps is None
    assert len(snapshot.to_bytes()) < 20_000, "compact: a run's ~100 snapshots stay a few MB"
    with pytest.raises(JobError, match="no snapshot 1"):
        jobs.snapshot(job.id, 1)
    newer = jobs.add(JobSpec(SMALL))
    jobs.add_snapshot(newer.id, 0, mlp, [])
    jobs.forget_snapshots(keep_runs=1)
    assert jobs.snapshot_marks(job.id) == [] and jobs.snapshot_marks(newer.id) == [(0, 0)], "only the newest run's"


def test_the_worker_records_snapshots_of_the_drawing_the_run_was_started_with(queue, sample):
    drawing = to_model_input(stroke_digit(3)).image
    job = queue.submit(JobSpec(SMALL, "watched", probe=encode_probe(drawing)))
    plain = queue.submit(JobSpec(SMALL, "plain"))
    Worker(queue).serve(idle_exit=0)
    marks = queue.jobs.snapshot_marks(job.id)
    assert 2 <= len(marks) <= MAX_SNAPSHOTS and marks[0][1] == 0
    last = queue.jobs.snapshot(job.id, marks[-1][0])
    np.testing.assert_allclose(last.probe / 255, drawing, atol=1 / 255)
    np.testing.assert_array_equal(queue.jobs.snapshot(plain.id, 0).probe, sample.x_test[0])  # no drawing: MNIST's
