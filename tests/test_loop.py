"""Real TensorFlow training on the bundled genuine MNIST sample: accuracy, progress, stop, NaN."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from training.hyperparams import PRESETS, HyperparamError, Hyperparams
from training.loop import learning_rate_schedule, train

ONE_EPOCH = Hyperparams(epochs=1, batch_size=32, seed=3)


def test_one_epoch_on_the_sample_beats_90_percent_with_progress_within_the_epoch(sample):
    reports = []
    result = train(ONE_EPOCH, sample, on_progress=reports.append)
    assert result.error is None and not result.stopped
    assert result.test.accuracy > 0.90
    within = [r for r in reports if not r.epoch_end]
    assert len(within) >= 10, "the Train page needs curves that move inside an epoch"
    assert all(0 < r.fraction < 1 for r in within)
    assert reports[-1].epoch_end and reports[-1].val_accuracy is not None
    assert np.isfinite(reports[-1].images_per_second) and reports[-1].images_per_second > 0
    assert result.model.output_shape == (None, 10)


def test_same_seed_same_run(sample):
    small = replace(ONE_EPOCH, train_size=1000, validation_fraction=0.1)
    first, second = train(small, sample), train(small, sample)
    assert first.test.accuracy == pytest.approx(second.test.accuracy, abs=0.005)


def test_stop_ends_the_run_within_one_batch(sample):
    stop = threading.Event()
    asked_at = []

    def on_progress(p):
        if not stop.is_set():
            asked_at.append(p.step)
            stop.set()

    result = train(replace(ONE_EPOCH, epochs=3), sample, on_progress=on_progress, stop=stop)
    assert result.stopped
    assert result.batches <= asked_at[0] + 1
    assert result.test is not None, "a stopped run is still scored so the user can decide to keep it"


def test_the_run_waits_between_any_two_batches_while_asked_to(sample):
    """The worker gives way to a class drawing through ``pause``: within a batch of the class queueing, not at the
    next progress report (3,000 images later in a Quick run on full MNIST, ~2 s of the worker's core)."""
    paused, reports = [], []

    def pause() -> None:
        paused.append(len(reports))
        if len(paused) == 5:
            threading.Event().wait(0.3)  # a class queueing: the run waits here

    result = train(replace(ONE_EPOCH, train_size=3000, validation_fraction=0.0), sample,
                   on_progress=reports.append, pause=pause)
    assert result.error is None and len(paused) == result.batches == 94
    assert len(reports) < len(paused) / 2, "progress reports alone would be too rare to give way in time"
    assert result.seconds >= 0.3, "the run went on while asked to wait"


def test_nan_loss_ends_the_run_with_a_clear_message(sample):
    poisoned = replace(sample, x_train=sample.x_train.astype(np.float32))
    poisoned.x_train[:, 0, 0] = np.nan  # every image: the first batch already diverges
    result = train(replace(ONE_EPOCH, epochs=2), poisoned)
    assert result.error is not None and "NaN" in result.error and "learning rate" in result.error
    assert result.batches == 1
    assert result.test is None


def test_impossible_settings_are_refused_before_training(sample):
    with pytest.raises(HyperparamError, match="learning_rate.*outside"):
        train(replace(ONE_EPOCH, learning_rate=5.0), sample)


def test_the_quick_preset_learns_the_sample_in_one_pass_with_one_cycle_and_label_smoothing(sample):
    reports = []
    result = train(PRESETS["Quick"], sample, on_progress=reports.append)
    assert result.error is None and result.hyperparams.epochs == 1
    assert result.test.accuracy > 0.93, "one pass over the 6,000 sample images"
    assert reports[-1].epoch_end and 0.8 < reports[-1].accuracy <= 1, "smoothed targets still report accuracy"
    assert result.batches * PRESETS["Quick"].batch_size >= len(sample.x_train), "every image seen once"


def test_the_one_cycle_schedule_warms_up_to_the_peak_then_anneals():
    schedule = learning_rate_schedule(replace(PRESETS["Quick"], learning_rate=0.02), total_steps=400)
    values = [float(schedule(step)) for step in (0, 50, 100, 250, 400)]
    assert values[0] == pytest.approx(0.02 / 25) and values[2] == pytest.approx(0.02, rel=1e-3)
    assert values[0] < values[1] < values[2] > values[3] > values[4]
    assert values[4] == pytest.approx(0.02 / 1000, rel=1e-2)
