"""A convolution done by hand, step by step, for the Inspect page's sliding kernel and its sandbox.

``convolve`` is what a conv layer computes before its bias and activation (a cross-correlation: the
kernel is not flipped, as in every deep-learning library), with a chosen stride and zero padding; ``step``
is one position of it with the window, the products and their sum. With a model's own first-layer kernel,
stride and padding it reproduces that layer exactly (tests hold them equal).

The output side is ⌊(n + 2p − k) / s⌋ + 1 for an n×n input, a k×k kernel, padding p and stride s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRESETS: dict[str, np.ndarray] = {
    "Vertical edges (Sobel)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64),
    "Horizontal edges (Sobel)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float64),
    "Outline (Laplacian)": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float64),
    "Blur (box)": np.full((3, 3), 1 / 9),
    "Blur (Gaussian)": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float64) / 16,
    "Sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float64),
    "Identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float64),
}
"""Classic image-processing kernels: what hand-designed filters did before networks learned their own."""
MAX_KERNEL = 9
"""Typed kernels up to 9×9: larger ones cover a third of a digit and teach nothing more."""
MAX_WEIGHT = 1_000_000
"""A typed kernel's largest number: 1e308 is finite, but its products overflow and the output map cannot be drawn."""


class KernelError(ValueError):
    """A typed kernel or a stride/padding that cannot be used; the message says why."""


@dataclass(frozen=True)
class Step:
    """The kernel at one output position: where it lies on the input, what it multiplies, what it gives."""

    row: int
    col: int
    top: int
    left: int
    """The window's top-left corner in input coordinates (negative over the padding)."""
    window: np.ndarray
    """(k, k) input values under the kernel, zeros over the padding."""
    products: np.ndarray
    """(k, k) window × kernel."""
    total: float
    bias: float
    value: float
    """total + bias: what the output map holds at (row, col)."""


def output_size(n: int, k: int, stride: int, padding: int) -> int:
    """⌊(n + 2p − k) / s⌋ + 1: how many positions the kernel takes along one side."""
    return (n + 2 * padding - k) // stride + 1


def check(n: int, k: int, stride: int, padding: int) -> None:
    """Raise KernelError unless a k×k kernel fits an n×n input with this padding and stride."""
    if stride < 1:
        raise KernelError("the stride must be at least 1")
    if padding < 0:
        raise KernelError("the padding cannot be negative")
    if k > n + 2 * padding:
        raise KernelError(f"a {k}×{k} kernel does not fit a {n}×{n} input padded by {padding}: "
                          f"(n + 2p − k) = {n + 2 * padding - k} < 0")


def _padded(image: np.ndarray, padding: int) -> np.ndarray:
    return np.pad(np.asarray(image, np.float64), padding)


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0,
             bias: float = 0.0) -> np.ndarray:
    """The output map of sliding ``kernel`` (k, k) over ``image`` (n, n): Σ window × kernel + bias per position."""
    k = kernel.shape[0]
    check(image.shape[0], k, stride, padding)
    padded = _padded(image, padding)
    side = output_size(image.shape[0], k, stride, padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k))[::stride, ::stride][:side, :side]
    return np.einsum("ijkl,kl->ij", windows, np.asarray(kernel, np.float64)) + bias


def step(image: np.ndarray, kernel: np.ndarray, position: int, stride: int = 1, padding: int = 0,
         bias: float = 0.0) -> Step:
    """The ``position``-th output (row by row, as the kernel slides) of ``convolve`` with the same arguments."""
    k = kernel.shape[0]
    side = output_size(image.shape[0], k, stride, padding)
    row, col = divmod(position, side)
    if not 0 <= row < side:
        raise KernelError(f"position {position} is past the last of {side * side}")
    window = _padded(image, padding)[row * stride:row * stride + k, col * stride:col * stride + k]
    products = window * kernel
    total = float(products.sum())
    return Step(row, col, row * stride - padding, col * stride - padding, window, products, total, bias, total + bias)


def parse_kernel(text: str) -> np.ndarray:
    """A typed kernel: one row per line, numbers separated by spaces or commas (fractions such as 1/9 too)."""
    rows = []
    for line in text.strip().splitlines():
        cells = line.replace(",", " ").split()
        if not cells:
            continue
        try:
            rows.append([_number(cell) for cell in cells])
        except (ValueError, ZeroDivisionError):
            raise KernelError(f"{line.strip()!r}: write numbers, such as -1 0 1 or 0.25 or 1/9") from None
    if not rows:
        raise KernelError("type the kernel's numbers, one row per line")
    if any(len(row) != len(rows) for row in rows):
        raise KernelError(f"a kernel is square: {len(rows)} rows need {len(rows)} numbers each "
                          f"(got {', '.join(str(len(row)) for row in rows)})")
    if len(rows) > MAX_KERNEL:
        raise KernelError(f"at most {MAX_KERNEL}×{MAX_KERNEL}")
    kernel = np.array(rows, np.float64)
    if not np.isfinite(kernel).all():
        raise KernelError("the numbers must be finite")
    if np.abs(kernel).max() > MAX_WEIGHT:
        raise KernelError(f"keep each number between −{MAX_WEIGHT:,} and {MAX_WEIGHT:,}: the products must stay "
                          "finite to be drawn (a learned kernel's weights are below 1)")
    return kernel


def format_kernel(kernel: np.ndarray) -> str:
    """The text ``parse_kernel`` reads back to the same kernel (to 4 decimals)."""
    return "\n".join(" ".join(f"{v:.4g}" for v in row) for row in kernel)


def _number(cell: str) -> float:
    if "/" in cell:
        numerator, denominator = cell.split("/", 1)
        return float(numerator) / float(denominator)
    return float(cell)
