"""Feature maps, filters and saliency of the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from model.explain import Explainer, conv_kernels, feature_layers
from model.preprocess import images_to_input


@pytest.fixture(scope="module")
def explainer(predictor):
    return Explainer(predictor.model)


def test_feature_maps_match_every_conv_and_pool_output(explainer, sample):
    maps = explainer.feature_maps(images_to_input(sample.x_test[:1]))
    layers = feature_layers(explainer.model)
    convs = [layer for layer in explainer.model.layers if layer.name.startswith("conv") and "_" in layer.name
             and layer.name.count("_") == 1]
    assert [fl.label for fl in layers if not fl.label.startswith("pool")] == [c.name for c in convs]
    for fl in layers:
        assert maps[fl.label].shape == fl.shape == tuple(explainer.model.get_layer(fl.name).output.shape[1:])
        assert np.isfinite(maps[fl.label]).all() and maps[fl.label].min() >= 0  # after ReLU / max-pool
    assert any(fl.label.startswith("pool") for fl in layers)


def test_first_layer_kernels(explainer):
    name, kernel = conv_kernels(explainer.model)[0]
    assert name == "conv1_1" and kernel.shape[:3] == (3, 3, 1)


def _saliency_on_ink(explainer, sample, method: str) -> tuple[list[float], list[float]]:
    """Per test digit: share of the (positive) saliency mass on ink, and its density on ink over background."""
    mass, density = [], []
    for image, label in zip(sample.x_test[:30], sample.y_test[:30]):
        heat = getattr(explainer, method)(images_to_input(image[None]), int(label))
        assert heat.shape == (28, 28) and np.isfinite(heat).all()
        positive, ink = np.clip(heat, 0, None), image > 0.2 * 255
        mass.append(positive[ink].sum() / positive.sum())
        density.append(positive[ink].mean() / max(positive[~ink].mean(), 1e-12))
    return mass, density


def test_integrated_gradients_put_most_of_their_mass_on_ink(explainer, sample):
    mass, _ = _saliency_on_ink(explainer, sample, "integrated_gradients")
    assert np.mean(np.array(mass) > 0.5) >= 0.9


def test_gradcam_is_denser_on_ink_than_on_background(explainer, sample):
    """Grad-CAM lives on the 14×14 grid of the last conv layer, so it is blurrier: compare densities."""
    _, density = _saliency_on_ink(explainer, sample, "gradcam")
    assert np.mean(np.array(density) > 1.0) >= 0.8 and np.median(density) > 1.5
