"""Handwritten digits as other pens, hands and scanners deliver them: the shipped model's third training set.

MNIST's digits all went through one pipeline: scanned in grey, size-normalised to 20 px, mid-width strokes.
Digits reaching the dashboard come through others — a bold marker or a hairline pen, a hand bending its strokes
further than MNIST's writers did, a form scanned at 32×32 in black and white with the digit filling the box, an
old scanner's handful of grey pixels, a form normalised by NIST's programs and counted into 8×8 blocks (UCI's).
Each real digit given here (MNIST's *training* digits, the styled strokes of ``training.styled_digits``) is
restyled by one or two pen or hand changes (``PEN_AND_HAND``), then delivered by one pipeline (``DELIVERIES``)
as a small picture of either polarity, and put through ``model.preprocess.to_model_input`` like any upload: the
network learns what such pictures look like *after* preprocessing, which is what it will see.

``python -m training.restyled_digits --data DIR --output PATH`` writes an .npz that ``training.train
--include-drawings`` mixes in (as it mixes users' labelled drawings); ``--styled PATH`` adds the styled digits
of that .npz to the sources. ``bench/styles.py`` scores such changes on MNIST's *test* digits, which nothing here
reads.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from model.preprocess import to_model_input
from training.data import add_data_arguments, load_mnist
from training.drawings import load_drawings, save_drawings

Change = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""(28×28 float32 ink in [0, 255], rng) → the changed ink, any size, in [0, 255]."""

ROOM = 10
"""Pixels of black added around a digit before it is bent, slanted or rotated, so none of it leaves the frame."""


def _padded(image: np.ndarray) -> np.ndarray:
    return np.pad(image, ROOM)


def bold(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A marker: strokes up to 1 px fatter each side (a grey dilation), small loops closing as they do."""
    return ndimage.grey_dilation(_padded(image), size=(int(rng.integers(2, 4)),) * 2)


def hairline(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fine pen: strokes eaten away by an erosion or a high threshold, some breaking where MNIST's were faint."""
    if rng.random() < 0.5:
        return ndimage.grey_erosion(image, size=(2, 2))
    return (image > rng.uniform(170, 235)) * 255.0


def bent(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hand bending strokes more than MNIST's writers did: Simard's elastic field, stronger than training's warp."""
    padded = _padded(image)
    sigma, alpha = rng.uniform(3.5, 5.5), rng.uniform(20, 45)
    dy, dx = (ndimage.gaussian_filter(rng.uniform(-1, 1, padded.shape), sigma) * alpha for _ in range(2))
    rows, cols = np.indices(padded.shape, dtype=np.float32)
    return ndimage.map_coordinates(padded, [rows + dy, cols + dx], order=1)


def slanted(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Written leaning left or right, further than most of MNIST."""
    padded = _padded(image)
    amount = rng.choice([-1, 1]) * rng.uniform(0.25, 0.6)
    middle = padded.shape[0] / 2
    return ndimage.affine_transform(padded, np.array([[1.0, 0.0], [-amount, 1.0]]), offset=(0.0, amount * middle),
                                    order=1)


def turned(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page (or the hand) turned by up to 20°."""
    return ndimage.rotate(_padded(image), rng.uniform(-20, 20), reshape=False, order=1)


PEN_AND_HAND: dict[str, Change] = {"bold": bold, "hairline": hairline, "bent": bent, "slanted": slanted,
                                   "turned": turned}


def _crop(image: np.ndarray, level: float = 40) -> np.ndarray:
    rows, cols = np.flatnonzero(image.max(axis=1) > level), np.flatnonzero(image.max(axis=0) > level)
    if len(rows) == 0:
        return image
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _resized(image: np.ndarray, height: int, width: int, method: Image.Resampling) -> np.ndarray:
    grey = Image.fromarray(np.clip(image, 0, 255).astype(np.float32), mode="F")
    return np.asarray(grey.resize((max(1, width), max(1, height)), method), np.float32)


def _in_box(crop: np.ndarray, side: int, stretch: bool, method: Image.Resampling) -> np.ndarray:
    """The crop scaled into a ``side``-px box: its longer side to the box keeping the aspect ratio, or (``stretch``)
    filling the box both ways, as some pipelines normalise every digit (a 1 becomes a broad bar)."""
    h, w = crop.shape
    if stretch:
        return _resized(crop, side, side, method)
    scale = side / max(h, w)
    return _resized(crop, round(h * scale), round(w * scale), method)


def as_picture(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey scan: the digit as it is, cropped with a margin of 0–4 px."""
    return np.pad(_crop(image, 10), int(rng.integers(0, 5)))


def binary_scan(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A form scanned in black and white, the digit normalised into a 12–32 px box (a third of them stretched
    to fill it), sometimes with the scanner's fat pixels, cropped tight."""
    box = _in_box(_crop(image), int(rng.integers(12, 33)), rng.random() < 0.33, Image.Resampling.BILINEAR)
    ink = box > rng.uniform(60, 150)
    if rng.random() < 0.2:
        ink = ndimage.binary_dilation(ink)
    return np.pad(ink * 255.0, int(rng.integers(0, 3)))


def few_pixels(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An old scanner's handful of grey pixels: the digit area-averaged into a 10–16 px box, 17 grey levels."""
    box = _in_box(_crop(image), int(rng.integers(10, 17)), rng.random() < 0.33, Image.Resampling.BOX)
    return np.pad(np.round(box / 255 * 16) * (255 / 16), int(rng.integers(0, 2)))


FORM_BOX, FORM_WIDTH, FORM_BLOCK = 32, 20, 4
"""NIST's normalised bitmap (32×32), the widest a digit is made in it, and the side of the blocks UCI counts. Read
off UCI's own digits (scikit-learn's 1,797): every one fills all 8 rows, none reaches the first or last column."""
FORM_INK = (0.305, 0.03)
"""The share of the box that is ink after NIST's stroke-width normalisation (mean, spread): UCI's digits hold
25–36 % ink (5th–95th percentile), whatever the digit — a 1 as much as an 8."""


def _to_ink_share(box: np.ndarray, share: float) -> np.ndarray:
    """The pen made bolder (dilations, cross then square) or finer (erosions) until the ink share is nearest
    ``share``: the stroke-width normalisation that gives a 1 the ink of an 8."""
    target = share * box.size
    candidates, bolder, finer = [box], box, box
    while bolder.sum() < target and len(candidates) < 12:
        bolder = ndimage.binary_dilation(bolder, structure=np.ones((3, 3)) if len(candidates) % 2 == 0 else None)
        candidates.append(bolder)
    for _ in range(3):
        finer = ndimage.binary_erosion(finer)
        if finer.any():
            candidates.append(finer)
    return min(candidates, key=lambda c: abs(c.sum() - target))


def form_counts(image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """A digit as UCI's set of handwritten forms saves it, NIST's normalisation then UCI's counting: stretched to
    the 32×32 box's height and at most 20 px wide (a wide digit squeezed, a narrow one keeping its shape), black
    and white, its pen bolder or finer until about 30 % of the box is ink (a share drawn from ``FORM_INK``; its
    mean without ``rng``), then each 4×4 block's ink pixels counted — 8×8 pixels of 17 levels (uint8, 16 → 255),
    the digit touching the top and bottom rows. ``image``: light ink on dark, any size, in [0, 255]."""
    crop = _crop(np.asarray(image, np.float32))
    height, width = crop.shape
    width = min(FORM_WIDTH, max(1, round(width * FORM_BOX / height)))
    box = np.zeros((FORM_BOX, FORM_BOX), bool)
    left = (FORM_BOX - width) // 2
    box[:, left:left + width] = _resized(crop, FORM_BOX, width, Image.Resampling.BILINEAR) > 100
    mean, spread = FORM_INK
    box = _to_ink_share(box, mean if rng is None else float(rng.normal(mean, spread)))
    cells = FORM_BOX // FORM_BLOCK
    counts = box.reshape(cells, FORM_BLOCK, cells, FORM_BLOCK).sum(axis=(1, 3))
    return np.round(counts * (255 / FORM_BLOCK**2)).astype(np.uint8)


DELIVERIES: dict[str, Change] = {"picture": as_picture, "binary scan": binary_scan, "few pixels": few_pixels,
                                 "block counts": form_counts}
DELIVERY_SHARE = (0.45, 0.45, 0.1, 0.0)
"""How often each delivery is chosen when none is named: most such pictures are scans of some resolution. Block
counts only when asked for (``--delivery``): the shipped model's first two sets were made without them, and a
share of 0 at the end leaves the random draws of the others as they were."""


def restyle(image: np.ndarray, rng: np.random.Generator, delivery: str | None = None) -> np.ndarray:
    """One digit (28×28 uint8, white on black) changed by one or two pen or hand changes, then delivered by
    ``delivery`` (a name in DELIVERIES; None: one drawn by DELIVERY_SHARE): a small uint8 picture, dark ink on
    light paper or the other way round."""
    ink = image.astype(np.float32)
    for name in rng.choice(list(PEN_AND_HAND), size=int(rng.integers(1, 3)), replace=False):
        ink = np.clip(PEN_AND_HAND[str(name)](ink, rng), 0, 255)
    delivered = DELIVERIES[delivery or str(rng.choice(list(DELIVERIES), p=DELIVERY_SHARE))](ink, rng)
    picture = np.clip(delivered, 0, 255).astype(np.uint8)
    return 255 - picture if rng.random() < 0.5 else picture


def training_set(sources: np.ndarray, labels: np.ndarray, count: int, seed: int, delivery: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` restyled digits as (28×28 uint8 model inputs, labels), each from a source drawn at random and
    delivered by ``delivery`` (None: the mix); a restyle that leaves no readable digit (a hairline pen on a faint
    digit) is drawn again."""
    rng = np.random.default_rng(seed)
    images, out_labels = np.zeros((count, 28, 28), np.uint8), np.zeros(count, np.uint8)
    made = 0
    while made < count:
        k = int(rng.integers(len(sources)))
        pre = to_model_input(restyle(sources[k], rng, delivery))
        if pre.is_empty:
            continue
        images[made], out_labels[made] = np.round(pre.image * 255).astype(np.uint8), labels[k]
        made += 1
    return images, out_labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.restyled_digits", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--styled", type=Path, help="also restyle the styled digits of this .npz "
                                                    "(python -m training.styled_digits --output …)")
    parser.add_argument("--count", type=int, default=60_000, help="digits to make (default 60,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delivery", choices=list(DELIVERIES),
                        help="deliver every digit this way (default: the mix of DELIVERY_SHARE)")
    parser.add_argument("--output", type=Path, required=True, help="the .npz to write (x_train, y_train: MNIST layout)")
    args = parser.parse_args(argv)
    data = load_mnist(args.data, args.download)
    print(data.notice, flush=True)
    sources, labels = data.x_train, data.y_train
    if args.styled is not None:
        styled, styled_labels = load_drawings(args.styled)
        sources, labels = np.concatenate([sources, styled]), np.concatenate([labels, styled_labels])
    save_drawings(args.output, *training_set(sources, labels, args.count, args.seed, args.delivery))
    print(f"{args.count:,} restyled digits from {len(sources):,} (seed {args.seed}) → {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
