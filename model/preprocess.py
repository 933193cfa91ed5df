"""Turn any picture of one digit into the model's MNIST-style input, keeping every stage.

One function, ``to_model_input``, serves the canvas, uploads, the command line and the Inspect page.
It reproduces how MNIST itself was made, so the network sees drawings the way it saw its training data:

1. **load** — canvas RGBA array, RGB/grey array (of bytes, fractions or UCI's 0–16 counts), or an image file
   of any format and size (EXIF-rotated, first frame, 16-bit scaled). A picture of fewer than 28 pixels on its
   long side — counting a picture blown up by repeating each pixel as the small one it was — is enlarged
   smoothly to 28 (``at_reading_size``).
2. **ink** — ink strength per pixel, 0..1. With a transparent background the alpha channel is the ink;
   otherwise the background colour is the paper's colour along the picture's border (``paper_level``; where
   the border is mostly ink, the colour in more pieces) and ink is the largest per-channel difference from it,
   which handles dark-on-light, light-on-dark and coloured ink alike. Contrast is stretched and faint
   paper texture suppressed. No ink → the result says so instead of inventing an input.
3. **mask and bounding box** of the ink (ignoring the faintest 0.1 % of ink mass at each side, so a
   speck of dust does not stretch the box).
4. **crop** to that box.
5. **stroke width** — very thin strokes would vanish when a large digit shrinks to 20 px, and a thick pen
   on a small digit would blot it out, so strokes are thickened or thinned to MNIST's typical 2.1–3.3 px.
6. **fit** the longer side to 20 px keeping the aspect ratio, with area-averaging anti-aliasing.
7. **pad** to 28×28, box centred.
8. **shift** so the centre of mass sits at (14, 14) as in MNIST, never pushing ink off the frame.

Four of these stages can be switched off (``skip=``, a set of ``Stage``) to see what each one is for — the
Experiment page does. Everything else calls ``to_model_input`` with none skipped.
"""

from __future__ import annotations

import io
import math
import os
import struct
import sys
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

# libspng carries its own zlib. TensorFlow, loaded with RTLD_GLOBAL, exports its zlib's symbols to every library
# loaded after it, and libspng's calls would go to that build, 2.3× slower (430 against 185 µs a canvas PNG):
# deep binding keeps libspng on its own, whichever of the two a process imports first.
_flags = sys.getdlopenflags()
sys.setdlopenflags(_flags | getattr(os, "RTLD_DEEPBIND", 0))
import pyspng  # noqa: E402, I001 (after the flags above)
sys.setdlopenflags(_flags)

IMAGE_TYPES = ("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp")
"""File types offered for upload (Pillow decodes more; these are what people have)."""
MAX_FILE_BYTES = 10 * 2**20
"""Larger image files are refused unread: the same limit as the pages' uploads (.streamlit/config.toml
maxUploadSize), and the API refuses larger request bodies before reading them."""
MAX_PIXELS = 40_000_000
"""Larger images are refused before decoding (a 10,000×10,000 upload would take ~400 MB of RAM)."""
FIT = 20
SIDE = 28
CENTRE = SIDE / 2
"""MNIST puts the centre of mass at (14, 14) (measured: mean 13.98, 14.01 over its test set)."""
WORK_SIDE = 4 * FIT
"""Stroke width is adjusted at 4× the final resolution: fine enough to be exact, small enough to be fast."""
STROKE_RANGE = (2.1, 3.3)
"""Stroke width (px, at 20-px digit height) is brought into this range: MNIST's inter-quartile range is
2.3–3.2 (median 2.7), so a fixed pen gives the same input whether the digit is drawn small or large."""
MIN_CONTRAST = 0.08
FAINT_FROM = 0.03
"""Ink that differs from the paper by FAINT_FROM to MIN_CONTRAST of the full scale is too faint to read, and
the answer says so rather than "blank": a PNG of UCI's raw 0–16 counts is such a picture (its contrast 16 of
255). A blank page's sensor and JPEG noise stays under it."""
INK_THRESHOLD = 0.25
BOX_TRIM = 0.001
AMBIGUOUS_RING = 0.25
"""When this share of the border ring or more is ink, the ring may be mostly ink instead (a digit fitted to its
box, a tight crop), and ink is told from paper by which of the two is in clearly fewer pieces."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_RGB, PNG_RGBA = 2, 6
"""PNG colour types (IHDR) the fast decoder takes."""

ImageSource = np.ndarray | Image.Image | str | Path | bytes | BinaryIO


class ImageError(ValueError):
    """The input is not a usable image; the message says why in words a user understands."""


class ImageTooLarge(ImageError):
    """The file or the image is over the size limits (``MAX_FILE_BYTES``, ``MAX_PIXELS``)."""


class Stage(StrEnum):
    """A stage that can be skipped, and what is done instead (the value is its name on the Experiment page)."""

    CROP = "crop to the ink"
    """Skipped: the whole frame is kept, so the digit stays where it was drawn, at its size in the frame."""
    STROKE = "stroke normalisation"
    """Skipped: strokes keep the width the pen gave them."""
    FIT = "fit to 20 px"
    """Skipped: the crop keeps its size relative to the frame (the frame's long side becomes 28 px)."""
    CENTRE = "centre of mass"
    """Skipped: the box stays centred (after a crop) or where it was drawn (without one); no shift."""


class NoDigit(StrEnum):
    """Why a usable image gives no model input. The value is the message (CLI, API, Inspect); ``seen``
    is what was there, for a prompt such as "Just a dot: that is not a digit yet"."""

    BLANK = "no ink", "the image is blank"
    FAINT = "no ink", "ink too faint to tell from the paper"
    SPECKS = "no ink", "only a few specks"
    DOT = "no digit", "just a dot"

    def __new__(cls, verdict: str, seen: str) -> NoDigit:
        member = str.__new__(cls, f"{verdict}: {seen}")
        member._value_ = f"{verdict}: {seen}"
        member.seen = seen
        return member


@dataclass(frozen=True)
class Preprocessed:
    """Every stage of one preprocessing run. Stages after ``ink`` are None when there is no ink."""

    source: np.ndarray
    """The input as loaded, uint8 RGBA (H, W, 4), for display."""
    ink: np.ndarray
    """Ink strength (H, W) float32 in [0, 1]: grey level with the polarity decided."""
    polarity: str
    """How ink was told from background, in words."""
    empty_reason: NoDigit | None
    """Why there is no model input; None when there is one."""
    mask: np.ndarray | None = None
    bbox: tuple[int, int, int, int] | None = None
    """(top, left, bottom, right) of the ink in ``source``, bottom/right exclusive (the whole frame when the crop
    is skipped)."""
    crop: np.ndarray | None = None
    stroke_px: float = 0.0
    """Estimated stroke width at 20-px digit height before adjustment."""
    stroke_adjust_px: int = 0
    """Pixels (at 4× resolution) by which strokes were thickened (>0) or thinned (<0)."""
    stroked: np.ndarray | None = None
    fitted: np.ndarray | None = None
    padded: np.ndarray | None = None
    centre_of_mass: tuple[float, float] | None = None
    """(row, col) of the ink's centre of mass in ``padded``, before the shift."""
    shift: tuple[int, int] = (0, 0)
    image: np.ndarray | None = None
    """Final (28, 28) float32 in [0, 1], white digit on black."""
    skipped: frozenset[Stage] = frozenset()
    """The stages switched off for this run (none, except on the Experiment page)."""
    received: tuple[int, int] | None = None
    """(height, width) of the picture as received, when it was small and ``source`` is its enlargement; else None."""

    @property
    def is_empty(self) -> bool:
        return self.image is None

    def source_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box (top, left, bottom, right; bottom/right exclusive) of the 28×28 input traced back through
        every stage to the pixels of ``source`` it came from (a unit's receptive field on the canvas)."""
        if self.image is None:
            raise ValueError(f"no model input: {self.empty_reason}")
        grow = max(self.stroke_adjust_px, 0)  # thickening padded the work image by this much on each side
        edges = []
        for axis, (low, high) in enumerate(((box[0], box[2]), (box[1], box[3]))):
            work = self.stroked.shape[axis] - 2 * grow
            to_stroked = self.stroked.shape[axis] / self.fitted.shape[axis]
            to_crop = self.crop.shape[axis] / work
            offset = (SIDE - self.fitted.shape[axis]) // 2 + self.shift[axis]
            start, size = self.bbox[axis], self.source.shape[axis]
            low, high = (((edge - offset) * to_stroked - grow) * to_crop + start for edge in (low, high))
            edges.append((int(np.clip(math.floor(low), 0, size)), int(np.clip(math.ceil(high), 0, size))))
        (top, bottom), (left, right) = edges
        return top, left, bottom, right

    @property
    def model_input(self) -> np.ndarray:
        """The batch of one the model takes: float32 (1, 28, 28, 1)."""
        if self.image is None:
            raise ValueError(f"no model input: {self.empty_reason}")
        return self.image[None, :, :, None]


def images_to_input(images: np.ndarray) -> np.ndarray:
    """MNIST-layout uint8 images (N, 28, 28) → float32 model inputs (N, 28, 28, 1) in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., None]


# ---------------------------------------------------------------- 1. load

def file_too_large(size: int) -> ImageTooLarge:
    """The error for a file (or request body) of ``size`` bytes over MAX_FILE_BYTES."""
    return ImageTooLarge(f"file too large ({size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES / 2**20:.0f} MB)")


def _image_too_large(width: int, height: int, name: str = "") -> ImageTooLarge:
    return ImageTooLarge(f"{name}image too large ({width:,}×{height:,} = {width * height / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS / 1e6:.0f}). Crop or shrink it to the digit.")


def _decode_plain_png(data: bytes) -> np.ndarray | None:
    """An 8-bit RGBA or RGB PNG without interlacing, transparency key or EXIF orientation — what canvases, the
    browser and screenshots save — decoded by libspng into uint8 RGBA, in a third of Pillow's time (every stroke
    and every API request decodes one). None for any other file: Pillow decodes those, with what they need."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or colour not in (PNG_RGB, PNG_RGBA) or interlace or width * height == 0:
        return None
    position = 8
    while position + 8 <= len(data):  # every chunk's header: a transparency key or EXIF needs Pillow
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind in (b"tRNS", b"eXIf"):
            return None
        position += 12 + length
    if width * height > MAX_PIXELS:
        raise _image_too_large(width, height)
    try:
        return pyspng.load(data, format="RGBA")
    except RuntimeError as exc:
        raise ImageError(f"the image is corrupt or truncated ({exc})") from None


def _decode_file(source: str | Path | bytes | BinaryIO) -> Image.Image:
    name = f"{source}: " if isinstance(source, (str, Path)) else ""  # uploads are named by the page
    size = (len(source) if isinstance(source, bytes)
            else Path(source).stat().st_size if name and Path(source).is_file() else None)
    if size is not None and size > MAX_FILE_BYTES:
        raise ImageTooLarge(f"{name}{file_too_large(size)}")
    if size == 0:
        raise ImageError(f"{name}the file is empty (0 bytes)")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        img = Image.open(source)
    except FileNotFoundError:
        raise ImageError(f"{name}no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}is a folder, not an image") from None
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ImageError(f"{name}not an image file (PNG, JPEG, BMP, GIF, TIFF and WebP can be read)") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise _image_too_large(width, height, name)
    try:
        img.seek(0)
        img.load()
        return ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}the image is corrupt or truncated ({exc})") from None


def _to_uint8(values: np.ndarray, top: float) -> np.ndarray:
    return (np.clip(values.astype(np.float32) * (255.0 / top), 0, 255) + 0.5).astype(np.uint8)


def _with_alpha(image: np.ndarray) -> np.ndarray:
    """Grey (H, W) or RGB (H, W, 3) uint8 → opaque RGBA, written into one new array (np.dstack took ten times
    as long)."""
    rgba = np.empty((*image.shape[:2], 4), np.uint8)
    rgba[:, :, :3] = image[:, :, None] if image.ndim == 2 else image
    rgba[:, :, 3] = 255
    return rgba


def _pil_to_rgba(img: Image.Image) -> np.ndarray:
    """Any PIL mode → uint8 RGBA (H, W, 4); 16-bit and float greys are scaled from their full range."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        grey = np.asarray(img, dtype=np.float32)
        peak = grey.max(initial=0)
        return _with_alpha(_to_uint8(grey, 1.0 if img.mode == "F" and peak <= 1 else 65535.0 if peak > 255 else 255.0))
    if "A" in img.getbands() or "transparency" in img.info:
        return np.asarray(img.convert("RGBA"))
    return np.asarray(img.convert("RGB").convert("RGBA"))  # opaque: Pillow sets alpha to 255, in C


ARRAY_TOPS = (1.0, 16.0, 255.0)
"""The full scales a number array of pixels comes in: fractions, UCI's 8×8 block counts (0–16: scikit-learn's
``load_digits().images``), bytes."""


def _array_top(peak: float) -> float:
    """The full scale of a float or integer array whose largest value is ``peak``: the smallest of ARRAY_TOPS that
    holds it, or the peak itself past 255. An array carries no scale of its own, and read as bytes UCI's counts
    had a contrast of 16 in 255: every one of scikit-learn's 1,797 digits was "no digit"."""
    return next((top for top in ARRAY_TOPS if peak <= top), peak)


def _array_to_rgba(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or min(a.shape[:2]) < 1:
        raise ImageError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4); got shape {a.shape}")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise ImageTooLarge(f"image too large ({a.shape[1]:,}×{a.shape[0]:,}); "
                         f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels")
    if a.dtype == np.uint16:
        a = _to_uint8(a, 65535.0)
    elif a.dtype != np.uint8:
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ImageError(f"unsupported image array type {a.dtype}")
        if not np.isfinite(a).all():
            raise ImageError("the image array contains NaN or infinite values")
        a = _to_uint8(a, _array_top(float(a.max(initial=0))))
    return a if a.ndim == 3 and a.shape[2] == 4 else _with_alpha(a)


def load_rgba(source: ImageSource) -> np.ndarray:
    """Any supported input → uint8 RGBA (H, W, 4). Raises ImageError with a clear message."""
    if isinstance(source, np.ndarray):
        return _array_to_rgba(source)
    if isinstance(source, bytes) and len(source) <= MAX_FILE_BYTES:
        plain = _decode_plain_png(source)
        if plain is not None:
            return plain
    img = source if isinstance(source, Image.Image) else _decode_file(source)
    return _pil_to_rgba(img)


def _changes(lines: np.ndarray) -> np.ndarray:
    """Positions j where column j of the (N, L) ``lines`` differs from column j - 1 in any line."""
    return np.flatnonzero((lines[:, 1:] != lines[:, :-1]).any(axis=0)) + 1


def _cells(changes: np.ndarray, length: int) -> np.ndarray | None:
    """A pixel in the middle of each cell, when ``length`` pixels whose values change only at ``changes`` are a
    nearest-neighbour enlargement of fewer than SIDE cells (the coarsest such grid), else None. A cell of s px
    starts where each pixel is sampled from the cell under its centre (Pillow, np.kron) or its left edge (OpenCV):
    within half a pixel before to a pixel after a multiple of s."""
    gaps = np.diff(changes, prepend=0, append=length)
    if len(changes) == 0 or gaps.min() < 2:  # blank, or a change from one pixel to the next: no cells
        return None
    for cells in range(max(2, length // (int(gaps.min()) + 1)), min(SIDE, length // 2 + 1)):
        size = length / cells
        off = changes - np.round(changes / size) * size
        if ((off >= -0.5 - 1e-9) & (off < 1 - 1e-9)).all():
            return np.floor((np.arange(cells) + 0.5) * size).astype(np.intp)
    return None


def _own_pixels(rgba: np.ndarray) -> np.ndarray | None:
    """The small picture that ``rgba`` is a nearest-neighbour enlargement of, if it is one of fewer than SIDE
    pixels a side (each cell one colour: the rows, and the columns, change only at the cells' edges); else None.
    Three rows and three columns are looked at first: a photo's or a drawing's anti-aliased edges change from
    one pixel to the next there, and the whole frame is then never compared."""
    height, width = rgba.shape[:2]
    packed = np.ascontiguousarray(rgba).view(np.uint32)[..., 0]  # one number per pixel
    across = packed[[height // 4, height // 2, 3 * height // 4]]
    down = packed[:, [width // 4, width // 2, 3 * width // 4]].T
    for lines, length in ((across, width), (down, height)):
        changes = _changes(lines)
        if len(changes) and _cells(changes, length) is None:  # (blank lines tell nothing: the frame decides)
            return None
    columns, rows = _cells(_changes(packed), width), _cells(_changes(packed.T), height)
    if columns is None or rows is None:
        return None
    return rgba[rows][:, columns]


def at_reading_size(rgba: np.ndarray) -> tuple[np.ndarray, tuple[int, int] | None]:
    """A picture whose own pixels are fewer than SIDE on its long side, enlarged smoothly (bicubic) to SIDE
    first, with the (height, width) it came as; any other picture as it is, with None.

    Such a picture is a scan of a few pixels: UCI's forms are 8×8 block counts, the US postal digits 16×16 —
    often shown blown up, each pixel repeated (nearest-neighbour), which counts as the small picture it was.
    Read as they come, their ink is found, cropped and measured in whole cells, and blown-up ones as hard
    squares. Enlarged first (``bench.styles``, 2,000 MNIST test digits through UCI's pipeline): 97.65 → 98.30 %
    read right, and 96.40 → 98.50 % when shown blown up 4–12×."""
    height, width = rgba.shape[:2]
    # A canvas (its corner transparent) is drawn at its own size: no need to look for repeated pixels.
    own = _own_pixels(rgba) if min(height, width) >= 4 and rgba[0, 0, 3] >= 250 else None  # 2 cells of 2 px
    small = rgba if own is None else own
    if max(small.shape[:2]) >= SIDE:
        return rgba, None
    scale = SIDE / max(small.shape[:2])
    size = (max(1, round(small.shape[1] * scale)), max(1, round(small.shape[0] * scale)))
    enlarged = Image.fromarray(np.ascontiguousarray(small), "RGBA").resize(size, Image.Resampling.BICUBIC)
    return np.asarray(enlarged), (height, width)


# ---------------------------------------------------------------- 2. ink

def _k_largest(levels: np.ndarray, k: int) -> int:
    """The k-th largest of uint8 ``levels``: a peak that ignores up to k-1 outlier pixels.

    Counted from a 256-bin histogram: a tenth of the time of partitioning the pixels.
    """
    from_top = np.cumsum(np.bincount(levels.ravel(), minlength=256)[::-1])
    return 255 - int(np.searchsorted(from_top, min(max(k, 1), levels.size)))


def _quantiles(levels: np.ndarray, *shares: float) -> list[int]:
    """The levels below which each ``share`` of the uint8 ``levels`` lie (the lower one at a tie), counted from
    one 256-bin histogram in a fifth of the time of sorting them."""
    below = np.cumsum(np.bincount(levels.ravel(), minlength=256))
    ranks = [int(share * (levels.size - 1)) + 1 for share in shares]
    return np.searchsorted(below, ranks).tolist()


def paper_level(ring: np.ndarray) -> int:
    """The paper's level in one channel, from the picture's border ring: the ring's quartile on its median's
    side — the side of the paper, which covers at least half of the ring.

    Not the median itself: a digit that touches its frame (a form's box counted into 8×8 blocks, a tight
    crop) puts ink and grey edges on up to half of the ring, and the median then lands between paper and ink.
    Measured from such a grey, the paper itself became faint ink everywhere and the digit a smudge filling
    its picture. The quartile on the paper's side is paper as long as three quarters of that side are.
    """
    low, lower, middle, upper, high = _quantiles(ring, 0.02, 0.25, 0.5, 0.75, 0.98)
    return lower if middle - low <= high - middle else upper


def _border(channel: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels. The paper shows there even when the digit is cropped tight and bold enough
    to cover most of the picture (a scanned form's 32×32 box, a marker on a sticky note), where the median of
    the whole picture is the ink's colour and the polarity comes out reversed."""
    if min(channel.shape) <= 2:
        return channel.ravel()
    return np.concatenate([channel[0], channel[-1], channel[1:-1, 0], channel[1:-1, -1]])


def _contrast(rgb: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Each pixel's largest per-channel difference from the background colour as uint8 levels (any ink colour on
    any paper colour), the peak contrast (0..1, ignoring a few outliers), and the pixels over half of it."""
    # Channel by channel in uint8 (max - min): int16 arithmetic on the strided RGB took seven times as long,
    # and this runs on every stroke.
    levels = np.zeros(rgb.shape[:2], np.uint8)
    for channel, paper in zip(np.moveaxis(rgb, 2, 0), background):
        np.maximum(levels, np.maximum(channel, paper) - np.minimum(channel, paper), out=levels)
    peak = _k_largest(levels, int(levels.size * 0.0005)) / 255
    return levels, peak, as_ink(levels) > 0.5 * peak


def _pieces(mask: np.ndarray) -> int:
    """Connected pieces of ``mask`` (touching at corners too), ignoring specks under a thousandth of the frame."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return 0
    return int((np.bincount(labels.ravel())[1:] >= max(1, mask.size // 1000)).sum())


def _paper_colour(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """An opaque picture's paper colour (3,) uint8, with ``_contrast``'s levels, peak and strong pixels from it."""
    background = np.array([paper_level(_border(channel)) for channel in np.moveaxis(rgb, 2, 0)], np.uint8)
    levels, peak, strong = _contrast(rgb, background)
    if strong.any() and _border(strong).mean() >= AMBIGUOUS_RING and _pieces(strong) >= _pieces(~strong) + 2:
        # What the ring called ink is in at least two more pieces than what it called paper: the ring was mostly
        # ink (a digit fitted to its box touches all four sides), and the pieces are the paper it leaves free in
        # the corners and its loops. (A digit's own strokes are in one piece or two, a hairline broken once.)
        background = np.array([_quantiles(channel[strong], 0.5)[0] for channel in np.moveaxis(rgb, 2, 0)], np.uint8)
        levels, peak, strong = _contrast(rgb, background)
    return background, levels, peak, strong


def ink_levels(rgba: np.ndarray, paper_from: np.ndarray | None = None) -> tuple[np.ndarray, str, float]:
    """Ink strength per pixel as uint8 levels (H, W) before contrast stretch, the polarity in words, and the peak
    contrast (0..1). The levels stay uint8 so the later stages can convert only the part of the frame with ink.

    ``paper_from``: the picture as received, when ``rgba`` is its enlargement (``at_reading_size``): its own
    pixels tell paper from ink, not the grey edges the enlargement adds (on 2,000 digits through UCI's 8×8
    pipeline, the enlargements alone reversed the polarity 6 times, the pictures as received 3)."""
    alpha = rgba[:, :, 3]
    if alpha[0, 0] < 250 or alpha.min() < 250:  # a canvas's corner is transparent: no need to look further
        peak = float(np.float32(alpha.max()) * np.float32(1 / 255))  # as the float32 ink's maximum
        return alpha, "ink on a transparent background (alpha channel)", peak
    rgb = rgba[:, :, :3]
    judged = rgb if paper_from is None else paper_from[:, :, :3]
    background, levels, peak, strong = _paper_colour(judged)
    lighter = strong.any() and judged[strong].mean() > background.mean()
    if paper_from is not None:  # the levels of the picture that is read
        levels, peak, _ = _contrast(rgb, background)
    shade = "light" if background.mean() >= 128 else "dark"
    polarity = f"{'light' if lighter else 'dark'} ink on a {shade} background"
    return levels, polarity, peak


def as_ink(levels: np.ndarray) -> np.ndarray:
    """uint8 levels → ink strength float32 in [0, 1]."""
    return levels.astype(np.float32) * (1 / 255)


def extract_ink(rgba: np.ndarray) -> tuple[np.ndarray, str, float]:
    """Ink strength (H, W) float32 before contrast stretch, the polarity in words, and the peak contrast."""
    levels, polarity, peak = ink_levels(rgba)
    return as_ink(levels), polarity, peak


def ink_window(levels: np.ndarray, peak: float) -> tuple[slice, slice]:
    """The rows and columns holding every level that survives the contrast stretch (above 10 % of the peak; one
    level of slack either way): outside it the stretched ink is exactly zero, so the stages that look at every
    pixel need look only here — on a canvas, a digit covers a small part of the frame."""
    floor = max(int(0.1 * peak * 255) - 1, 0)
    rows = np.flatnonzero(levels.max(axis=1) > floor)  # maxima along rows, then across the band they span: no
    if len(rows) == 0:  # frame-sized boolean array
        return slice(0, 0), slice(0, 0)
    cols = np.flatnonzero(levels[rows[0]:rows[-1] + 1].max(axis=0) > floor)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def stretch_ink(ink: np.ndarray, peak: float) -> np.ndarray:
    """Map [10 % of peak, peak] to [0, 1]: suppresses paper texture and JPEG noise, equalises faint pens."""
    floor = 0.1 * peak
    return np.clip((ink - floor) / (peak - floor), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- 3–5. box, crop, stroke width

def _trimmed_span(mass: np.ndarray) -> tuple[int, int]:
    """Indices [start, stop) holding all but BOX_TRIM of the mass at each end."""
    cumulative = np.cumsum(mass)
    total = cumulative[-1]
    start = int(np.searchsorted(cumulative, total * BOX_TRIM, side="right"))
    stop = int(np.searchsorted(cumulative, total * (1 - BOX_TRIM), side="left")) + 1
    return start, max(stop, start + 1)


def ink_bbox(ink: np.ndarray, mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the masked ink, trimmed of stray specks."""
    weighted = ink * mask
    top, bottom = _trimmed_span(weighted.sum(axis=1))
    left, right = _trimmed_span(weighted.sum(axis=0))
    return top, left, bottom, right


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-averaging when shrinking (the anti-aliasing MNIST used), bilinear when enlarging."""
    shrinking = height < image.shape[0] or width < image.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(image, mode="F").resize((width, height), method), dtype=np.float32)


def _scaled_shape(shape: tuple[int, int], long_side: int) -> tuple[int, int]:
    scale = long_side / max(shape)
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels: twice the ink area over its boundary length (exact for long strokes)."""
    mask = image > 0.5
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), bool)
    padded[1:-1, 1:-1] = mask
    interior = mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = max(area - int(interior.sum()), 1)
    return 2.0 * area / boundary


def _rank_filter(image: np.ndarray, radius: int, grow: bool) -> np.ndarray:
    """Square grey dilation (grow) or erosion over a (2·radius + 1)² window, the frame counting as blank paper."""
    rank = ndimage.maximum_filter if grow else ndimage.minimum_filter
    return rank(image, size=2 * radius + 1, mode="constant", cval=0.0)


def normalise_stroke(work: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Bring the stroke width (measured at 20-px height) into STROKE_RANGE.

    ``work`` is the crop scaled to WORK_SIDE px on its long side. Returns the adjusted image, the width
    before adjustment (at 20 px) and the radius applied (positive: thickened, negative: thinned).
    """
    to_final = FIT / max(work.shape)
    width = stroke_width(work)
    final_width = width * to_final
    low, high = STROKE_RANGE
    if final_width < low:
        radius = max(1, round((low / to_final - width) / 2))
        padded = np.pad(work, radius)
        return _rank_filter(padded, radius, grow=True), final_width, radius
    if final_width > high:
        radius = min(round((width - high / to_final) / 2), math.floor(width * 0.3))
        if radius >= 1:
            return _rank_filter(work, radius, grow=False), final_width, -radius
    return work, final_width, 0


# ---------------------------------------------------------------- 6–8. fit, pad, centre

def fit_box(image: np.ndarray, long_side: int = FIT) -> np.ndarray:
    """Longer side to ``long_side`` px keeping the aspect ratio; brightest pixel rescaled to 1."""
    fitted = np.clip(_resize(image, *_scaled_shape(image.shape, long_side)), 0.0, 1.0)
    top = fitted.max(initial=0)
    return fitted / top if top > 0 else fitted


def pad_centred(fitted: np.ndarray) -> np.ndarray:
    out = np.zeros((SIDE, SIDE), np.float32)
    h, w = fitted.shape
    top, left = (SIDE - h) // 2, (SIDE - w) // 2
    out[top:top + h, left:left + w] = fitted
    return out


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    rows, cols = np.arange(image.shape[0]), np.arange(image.shape[1])
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def shift_to_centre(padded: np.ndarray) -> tuple[np.ndarray, tuple[float, float], tuple[int, int]]:
    """Move the centre of mass to the frame's centre by whole pixels, clamped so no ink leaves the frame."""
    com = centre_of_mass(padded)
    shift = []
    for axis, c in enumerate(com):
        occupied = np.flatnonzero(padded.any(axis=1 - axis))
        wanted = round(CENTRE - c)
        shift.append(int(np.clip(wanted, -occupied[0], SIDE - 1 - occupied[-1])))
    return np.roll(padded, shift, axis=(0, 1)), com, (shift[0], shift[1])


# ---------------------------------------------------------------- the one entry point

def _is_dot(mask: np.ndarray, bbox: tuple[int, int, int, int]) -> bool:
    """A single tap: its box is no longer than about twice its own stroke width."""
    top, left, bottom, right = bbox
    region = mask[top:bottom, left:right].astype(np.float32)
    return max(bottom - top, right - left) < 2.0 * stroke_width(region)


def to_model_input(source: ImageSource, skip: Collection[Stage] = ()) -> Preprocessed:
    """Preprocess one image of one digit; see the module docstring for the stages. ``skip``: stages to switch
    off (see ``Stage`` for what happens instead); telling a digit from a blank, specks or a dot is never skipped.

    Raises ImageError for inputs that are not usable images. A usable image without a digit (blank,
    a few specks, a single dot) is not an error: the result has ``empty_reason`` and no ``image``.
    """
    skip = frozenset(skip)
    as_received = load_rgba(source)
    rgba, received = at_reading_size(as_received)
    levels, polarity, peak = ink_levels(rgba, paper_from=None if received is None else as_received)
    if peak < MIN_CONTRAST:
        reason = NoDigit.FAINT if peak >= FAINT_FROM else NoDigit.BLANK
        return Preprocessed(rgba, as_ink(levels), polarity, reason, received=received)
    rows, cols = ink_window(levels, peak)
    ink, mask = np.zeros(levels.shape, np.float32), np.zeros(levels.shape, bool)
    ink[rows, cols] = stretch_ink(as_ink(levels[rows, cols]), peak)
    mask[rows, cols] = ink[rows, cols] > INK_THRESHOLD
    if mask[rows, cols].sum() < max(4, mask.size * 0.0001):
        return Preprocessed(rgba, ink, polarity, NoDigit.SPECKS, mask, received=received)
    top, left, bottom, right = ink_bbox(ink[rows, cols], mask[rows, cols])
    bbox = (top + rows.start, left + cols.start, bottom + rows.start, right + cols.start)
    if _is_dot(mask, bbox):
        return Preprocessed(rgba, ink, polarity, NoDigit.DOT, mask, bbox, received=received)
    if Stage.CROP in skip:
        bbox = (0, 0, *ink.shape)
    top, left, bottom, right = bbox
    crop = ink[top:bottom, left:right]
    work = _resize(crop, *_scaled_shape(crop.shape, WORK_SIDE))
    if Stage.STROKE in skip:
        stroked, width, adjust = work, stroke_width(work) * FIT / max(work.shape), 0
    else:
        stroked, width, adjust = normalise_stroke(work)
    # Without the fit the crop keeps its share of the frame: the frame's long side maps to 28 px.
    long_side = FIT if Stage.FIT not in skip else min(SIDE, max(1, round(max(crop.shape) * SIDE / max(ink.shape))))
    fitted = fit_box(stroked, long_side)
    padded = pad_centred(fitted)
    if Stage.CENTRE in skip:
        shifted, com, shift = padded, centre_of_mass(padded), (0, 0)
    else:
        shifted, com, shift = shift_to_centre(padded)
    return Preprocessed(rgba, ink, polarity, None, mask, bbox, crop, width, adjust, stroked, fitted, padded,
                        com, shift, shifted.astype(np.float32), skip, received)
