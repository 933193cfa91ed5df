"""Test-set scores (training/metrics.py): what the evaluate CLI prints and uploaded or averaged models record."""

from __future__ import annotations

import numpy as np

from training.metrics import evaluate_on_test


def test_the_test_score_is_the_model_s_own_reading_of_every_test_digit(predictor, sample):
    evaluation = evaluate_on_test(predictor, sample)
    # Independently: Keras's own predict on the raw test digits scaled to [0, 1].
    read = predictor.model.predict(sample.x_test[..., None] / 255.0, batch_size=500, verbose=0).argmax(axis=1)
    assert evaluation.count == len(sample.y_test) == 2000
    assert abs(evaluation.accuracy - (read == sample.y_test).mean()) <= 1 / len(sample.y_test)  # a float tie at most
    assert np.array(evaluation.confusion).sum(axis=1).tolist() == np.bincount(sample.y_test, minlength=10).tolist()
    assert 0.98 < evaluation.accuracy < 1.0
