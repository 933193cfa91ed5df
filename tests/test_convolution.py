"""The hand-done convolution of the sliding-kernel view and its sandbox."""

from __future__ import annotations

import numpy as np
import pytest

from model.convolution import (
    PRESETS,
    KernelError,
    convolve,
    format_kernel,
    output_size,
    parse_kernel,
    step,
)
from model.explain import Explainer, conv_kernels
from model.network import NetworkConfig, build_classifier
from model.preprocess import images_to_input


@pytest.mark.parametrize(("n", "k", "s", "p"), [(28, 3, 1, 1), (28, 3, 1, 0), (28, 5, 2, 2), (28, 4, 3, 0),
                                                (7, 7, 1, 0)])
def test_output_size_is_the_formula_and_the_map(n, k, s, p):
    image = np.random.default_rng(0).uniform(size=(n, n))
    out = convolve(image, np.ones((k, k)), stride=s, padding=p)
    assert out.shape == (output_size(n, k, s, p),) * 2 == (((n + 2 * p - k) // s) + 1,) * 2


def test_every_step_is_one_pixel_of_the_map():
    rng = np.random.default_rng(1)
    image, kernel = rng.uniform(size=(28, 28)), rng.normal(size=(5, 5))
    out = convolve(image, kernel, stride=2, padding=1, bias=0.5)
    side = out.shape[0]
    for position in (0, 1, side, side * side - 1):
        s = step(image, kernel, position, stride=2, padding=1, bias=0.5)
        assert (s.row, s.col) == divmod(position, side)
        assert s.value == pytest.approx(out[s.row, s.col]) and s.total == pytest.approx(s.products.sum())
        np.testing.assert_allclose(s.products, s.window * kernel)
    corner = step(image, kernel, 0, stride=2, padding=1)
    assert (corner.top, corner.left) == (-1, -1) and (corner.window[0] == 0).all()  # the padding row
    with pytest.raises(KernelError, match="past the last"):
        step(image, kernel, side * side, stride=2, padding=1)


def test_presets_do_what_they_say():
    image = np.zeros((28, 28))
    image[:, 14:] = 1.0  # a vertical edge
    vertical = convolve(image, PRESETS["Vertical edges (Sobel)"], padding=1)
    horizontal = convolve(image, PRESETS["Horizontal edges (Sobel)"], padding=1)
    assert np.abs(vertical[5:-5, 13:15]).min() > 3 and np.abs(horizontal[5:-5, 5:-5]).max() == 0
    np.testing.assert_allclose(convolve(image, PRESETS["Identity"], padding=1), image)
    assert convolve(image, PRESETS["Blur (box)"], padding=1).sum() == pytest.approx(image.sum(), rel=0.1)


@pytest.mark.parametrize("architecture", ["cnn", "lenet5"])
def test_a_models_own_kernel_reproduces_its_first_layer(architecture, sample):
    model = build_classifier(NetworkConfig(2, 4, 1, 5, 16, 0.0, False, architecture))
    x = images_to_input(sample.x_test[:1])
    name, kernels = conv_kernels(model)[0]
    bias = model.get_layer(name).bias.numpy()
    keras_map = Explainer(model).layer_inputs(x)[model.layers[model.layers.index(model.get_layer(name)) + 1].name]
    k = kernels.shape[0]
    for channel in range(kernels.shape[-1]):
        mine = convolve(x[0, :, :, 0], kernels[:, :, 0, channel], padding=(k - 1) // 2, bias=float(bias[channel]))
        np.testing.assert_allclose(mine, keras_map[:, :, channel], rtol=1e-4, atol=1e-5)


def test_typed_kernels():
    np.testing.assert_allclose(parse_kernel("1/9 1/9 1/9\n1/9, 1/9, 1/9\n\n1/9 1/9 1/9"), PRESETS["Blur (box)"])
    np.testing.assert_allclose(parse_kernel(format_kernel(PRESETS["Sharpen"])), PRESETS["Sharpen"])
    for text, message in [("", "type the kernel"), ("1 2\n3", "square"), ("1 x\n2 3", "write numbers"),
                          ("1/0", "write numbers"), ("inf", "finite"), ("1e308", "between −1,000,000 and"),
                          ("\n".join(["1 " * 10] * 10), "at most")]:
        with pytest.raises(KernelError, match=message):
            parse_kernel(text)
    with pytest.raises(KernelError, match="does not fit"):
        convolve(np.zeros((3, 3)), np.zeros((5, 5)))
    with pytest.raises(KernelError, match="stride"):
        convolve(np.zeros((3, 3)), np.zeros((3, 3)), stride=0)
