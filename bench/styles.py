"""Writing styles read right: accuracy per style and per digit on canvas drawings, two models side by side.

Three sources, so no one generator decides the score:
- **strokes** — ``training.styled_digits``' skeletons (a 1 with a flag and a foot, a crossed 7, an open 4,
  a 9 with a straight stem, …) drawn with a round pen from seeds the training set never used, one row per
  style: upright, slanted either way, thin or fat pen, a mouse's wobble, small anywhere, against the edge,
  narrow or wide, the continental hand, every skeleton; and every skeleton through UCI's forms pipeline (below);
- **fonts** — digits typed in the machine's TrueType fonts (sans, serif, mono, italic; never trained on),
  at random sizes and places; a font missing here is left out with a notice;
- **MNIST test digits, restyled** — other writers (never trained on) slanted, thickened, thinned and
  elastically distorted, or scanned coarsely in black and white (as they are, or stretched to fill their box),
  enlarged onto the canvas anywhere; or saved as another pipeline saves them and read as files: a form's 32×32
  box with a bold pen, cropped tight; an old scanner's 12–16 px grey picture; and UCI's forms pipeline, the
  32×32 box counted into 8×8 blocks of 4×4 pixels (17 grey levels), also shown blown up (each pixel repeated).

Every drawing goes through the canvas path (``to_model_input`` on a 280×280 picture) and both models.
Run: ``python -m bench.styles [--per-digit 50] [--model PATH] [--against PATH] [--data DIR] [--card]``
(``--model`` defaults to the shipped model; ``--against`` adds a second column, e.g. the model it replaces;
``--card`` writes ``--model``'s figures into its card, as the shipped model's were).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from harness.synthetic_drawings import mnist_digit
from model.inference import Predictor
from model.preprocess import to_model_input
from model.store import SHIPPED_MODEL
from training.data import load_mnist
from training.restyled_digits import form_counts
from training.runs import record_benchmark
from training.styled_digits import CANVAS, EUROPEAN, GLYPHS, Pen, as_canvas, draw, random_pen

SEED = 1_000_003
"""Far from the training set's seeds (``training.styled_digits --seed 0`` made the shipped model's)."""
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
FONTS = {
    "sans": ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "DejaVuSansCondensed.ttf"),
    "serif": ("DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "DejaVuSerifCondensed.ttf"),
    "mono": ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"),
    "italic": ("DejaVuSans-Oblique.ttf", "DejaVuSerif-Italic.ttf", "LiberationSans-Italic.ttf",
               "LiberationSerif-Italic.ttf"),
    "bold": ("DejaVuSans-Bold.ttf", "LiberationSerif-Bold.ttf", "LiberationSans-BoldItalic.ttf"),
}

Drawer = Callable[[int, np.random.Generator], np.ndarray]
"""(digit, rng) → the canvas picture (RGBA or RGB uint8)."""


def _strokes(glyph_of: Callable[[int, np.random.Generator], str], pen_of: Callable[[np.random.Generator], Pen]
             ) -> Drawer:
    return lambda digit, rng: as_canvas(draw(digit, glyph_of(digit, rng), pen_of(rng), rng))


def _first(digit: int, rng: np.random.Generator) -> str:
    return next(iter(GLYPHS[digit]))


def _any(digit: int, rng: np.random.Generator) -> str:
    return str(rng.choice(list(GLYPHS[digit])))


def _european(digit: int, rng: np.random.Generator) -> str:
    return EUROPEAN.get(digit, _first(digit, rng))


def _pen(**ranges: tuple[float, float]) -> Callable[[np.random.Generator], Pen]:
    """A random pen with some knobs drawn from the given ranges instead."""
    return lambda rng: replace(random_pen(rng), **{k: float(rng.uniform(*r)) for k, r in ranges.items()})


def _edge(rng: np.random.Generator) -> Pen:
    pen = replace(random_pen(rng), height=float(rng.uniform(0.45, 0.9)))
    return replace(pen, **{str(rng.choice(["x", "y"])): float(rng.choice([0.0, 1.0]))})


STROKE_STYLES: dict[str, Drawer] = {
    "upright, MNIST's forms": _strokes(_first, _pen(slant=(0, 0), wobble=(0, 0), rotation=(-3, 3))),
    "every form": _strokes(_any, random_pen),
    "continental (1 with foot, crossed 7, open 4, straight 9)": _strokes(_european, random_pen),
    "slanted right": _strokes(_any, _pen(slant=(0.35, 0.6))),
    "slanted left": _strokes(_any, _pen(slant=(-0.45, -0.2))),
    "thin pen": _strokes(_any, _pen(pen=(0.025, 0.045))),
    "fat pen": _strokes(_any, _pen(pen=(0.2, 0.3))),
    "mouse wobble": _strokes(_any, _pen(wobble=(0.015, 0.03))),
    "small, anywhere": _strokes(_any, _pen(height=(0.1, 0.22))),
    "against an edge": _strokes(_any, _edge),
    "narrow": _strokes(_any, _pen(width=(0.3, 0.45))),
    "wide": _strokes(_any, _pen(width=(0.85, 1.1))),
}


def _font_drawer(files: tuple[Path, ...]) -> Drawer:
    def drawer(digit: int, rng: np.random.Generator) -> np.ndarray:
        font = ImageFont.truetype(str(files[rng.integers(len(files))]), int(rng.uniform(0.15, 0.9) * CANVAS * 1.3))
        img = Image.new("L", (CANVAS, CANVAS), 0)
        paint = ImageDraw.Draw(img)
        left, top, right, bottom = paint.textbbox((0, 0), str(digit), font=font)
        x = rng.uniform(2, max(2, CANVAS - 2 - (right - left))) - left
        y = rng.uniform(2, max(2, CANVAS - 2 - (bottom - top))) - top
        paint.text((x, y), str(digit), fill=255, font=font)
        return as_canvas(np.asarray(img, np.float32) / 255.0)
    return drawer


def font_styles() -> tuple[dict[str, Drawer], list[str]]:
    """The font rows this machine can draw, and the names of fonts it lacks."""
    styles, missing = {}, []
    for name, files in FONTS.items():
        found = []
        for file in files:
            path = next((d / file for d in FONT_DIRS if (d / file).is_file()), None)
            if path is None:
                missing.append(file)
            else:
                found.append(path)
        if found:
            styles[f"font: {name}"] = _font_drawer(tuple(found))
    return styles, missing


def _shear(image: np.ndarray, amount: float) -> np.ndarray:
    """Slant a 28×28 digit by ``amount`` (x moves by amount × rows above the middle)."""
    matrix = np.array([[1.0, 0.0], [-amount, 1.0]])
    offset = np.array([0.0, amount * 14.0])
    return ndimage.affine_transform(image, matrix, offset=offset, order=1)


def _elastic(image: np.ndarray, rng: np.random.Generator, alpha: float = 34.0, sigma: float = 4.0) -> np.ndarray:
    """Simard et al.'s elastic distortion: a smooth random displacement field."""
    dy, dx = (ndimage.gaussian_filter(rng.uniform(-1, 1, image.shape), sigma) * alpha for _ in range(2))
    rows, cols = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    return ndimage.map_coordinates(image, [rows + dy, cols + dx], order=1)


def _coarse_scan(image: np.ndarray, side: int) -> np.ndarray:
    """A scanner of another pipeline (16×16 like the US postal digits, 32×32 like UCI's forms): the digit at
    ``side``×``side`` pixels, black or white, blown back up."""
    small = np.asarray(Image.fromarray(image.astype(np.uint8)).resize((side, side), Image.Resampling.BOX)) > 80
    return np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((28, 28), Image.Resampling.NEAREST),
                      np.float32)


def _fill_box(image: np.ndarray) -> np.ndarray:
    """A pipeline that stretches every digit to fill a 32×32 box, black or white (a 1 comes out a broad bar)."""
    cols, rows = np.flatnonzero(image.max(axis=0) > 30), np.flatnonzero(image.max(axis=1) > 30)
    crop = Image.fromarray(image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.uint8))
    filled = (np.asarray(crop.resize((32, 32), Image.Resampling.BILINEAR)) > 100) * 255
    return np.asarray(Image.fromarray(filled.astype(np.uint8)).resize((28, 28), Image.Resampling.BOX), np.float32)


def _form_box(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A form's 32×32 box as a file: the digit fitted to the box, black and white with a marker's stroke, cropped
    tight — most of the picture can be ink — dark on paper or light on black."""
    cols, rows = np.flatnonzero(image.max(axis=0) > 30), np.flatnonzero(image.max(axis=1) > 30)
    crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = 32 / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    ink = ndimage.binary_dilation(np.asarray(Image.fromarray(crop.astype(np.uint8)).resize(size)) > 100)
    return np.where(ink, 0, 255).astype(np.uint8) if rng.random() < 0.5 else (ink * 255).astype(np.uint8)


def _few_grey_pixels(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An old scanner's 12–16 px grey picture as a file: the digit area-averaged into the box, 17 grey levels."""
    cols, rows = np.flatnonzero(image.max(axis=0) > 30), np.flatnonzero(image.max(axis=1) > 30)
    crop = Image.fromarray(image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.uint8))
    side = int(rng.integers(12, 17))
    scale = side / max(crop.size)
    small = np.asarray(crop.resize((max(1, round(crop.size[0] * scale)), max(1, round(crop.size[1] * scale))),
                                   Image.Resampling.BOX), np.float32)
    return np.pad((np.round(small / 255 * 16) * 255 / 16).astype(np.uint8), 1)


def mnist_styles(data) -> dict[str, Drawer]:
    """MNIST test digits restyled, then enlarged onto the canvas at a random place and size."""
    by_digit = [np.flatnonzero(data.y_test == d) for d in range(10)]

    def restyled(change: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Drawer:
        def drawer(digit: int, rng: np.random.Generator) -> np.ndarray:
            image = data.x_test[rng.choice(by_digit[digit])].astype(np.float32)
            changed = np.clip(change(image, rng), 0, 255).astype(np.uint8)
            cols, rows = np.flatnonzero(changed.max(axis=0) > 30), np.flatnonzero(changed.max(axis=1) > 30)
            aspect = (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)  # a slanted digit may be wide: keep it in
            size = rng.uniform(0.2, 0.9) / max(1.0, aspect)
            return mnist_digit(changed, place=str(rng.choice(PLACES)), size=float(size))
        return drawer

    def as_file(make: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Drawer:
        """A picture of the digit as another pipeline saves it, read as it is: not put on the canvas."""
        return lambda digit, rng: make(data.x_test[rng.choice(by_digit[digit])].astype(np.float32), rng)

    return {
        "MNIST test, slanted right": restyled(lambda im, rng: _shear(im, rng.uniform(0.3, 0.5))),
        "MNIST test, slanted left": restyled(lambda im, rng: _shear(im, rng.uniform(-0.4, -0.2))),
        "MNIST test, thick": restyled(lambda im, rng: ndimage.grey_dilation(im, size=(3, 3))),
        "MNIST test, thin": restyled(lambda im, rng: ndimage.grey_erosion(im, size=(2, 2))),
        "MNIST test, elastic": restyled(_elastic),
        "MNIST test, coarse binary scan": restyled(lambda im, rng: _coarse_scan(im, int(rng.integers(16, 33)))),
        "MNIST test, scanned to fill its box": restyled(lambda im, rng: _fill_box(im)),
        "MNIST test, a form's 32×32 box, bold, cropped tight (as a file)": as_file(_form_box),
        "MNIST test, 12–16 px grey scan (as a file)": as_file(_few_grey_pixels),
        "MNIST test, UCI's 32×32 form counted into 8×8 (as a file)":
            as_file(form_counts),
    }


def _strokes_as_block_counts(digit: int, rng: np.random.Generator) -> np.ndarray:
    """Any form (a 1 with a flag, a 9 with a straight stem, …) through UCI's forms pipeline: 8×8 block counts."""
    ink = draw(digit, _any(digit, rng), random_pen(rng), rng)
    return form_counts(np.round(ink * 255), rng)


def later_styles(data) -> dict[str, Drawer]:
    """Rows added after the others: last, so every earlier row keeps its seed (``SEED`` + its position)."""
    by_digit = [np.flatnonzero(data.y_test == d) for d in range(10)]

    def blown_up(digit: int, rng: np.random.Generator) -> np.ndarray:
        counts = form_counts(data.x_test[rng.choice(by_digit[digit])], rng)
        factor = int(rng.integers(4, 13))
        return np.kron(255 - counts, np.ones((factor, factor), np.uint8))  # shown dark on white, as a viewer does

    return {"strokes: every form, UCI's 32×32 form counted into 8×8 (as a file)": _strokes_as_block_counts,
            "MNIST test, UCI's 8×8 shown blown up, each pixel repeated 4–12× (as a file)": blown_up}


PLACES = ("centre", "top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right")


def drawings(drawer: Drawer, per_digit: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    for i in range(10 * per_digit):
        yield i % 10, drawer(i % 10, rng)


def score(models: list[Predictor], drawer: Drawer, per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(truth (N,), each model's predictions (M, N)): a drawing without a digit counts as wrong (-1)."""
    truth, inputs, readable = [], [], []
    for digit, picture in drawings(drawer, per_digit, seed):
        pre = to_model_input(picture)
        truth.append(digit)
        readable.append(not pre.is_empty)
        inputs.append(pre.model_input[0] if not pre.is_empty else np.zeros((28, 28, 1), np.float32))
    readable_mask = np.array(readable)
    predictions = np.stack([np.where(readable_mask, m.classify(np.stack(inputs)), -1) for m in models])
    return np.array(truth), predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=50, help="drawings of each digit per style (default 50)")
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="the model to score (default: the shipped one)")
    parser.add_argument("--against", help="a second model scored on the same drawings")
    parser.add_argument("--data", help="MNIST folder for the restyled test digits (default: the usual search)")
    parser.add_argument("--card", action="store_true",
                        help="also write the figures into --model's card (the .json beside it) under \"styles\"")
    args = parser.parse_args()
    paths = [args.model] + ([args.against] if args.against else [])
    models = [Predictor.load(p) for p in paths]
    data = load_mnist(args.data)
    fonts, missing = font_styles()
    styles = {**{f"strokes: {k}": v for k, v in STROKE_STYLES.items()}, **fonts, **mnist_styles(data),
              **later_styles(data)}
    names = [Path(p).name if i == 0 or Path(p).name != Path(paths[0]).name else str(p) for i, p in enumerate(paths)]
    print(f"{args.per_digit} drawings of each digit per style; MNIST test digits from {data.source}"
          + (f"; fonts not on this machine: {', '.join(missing)}" if missing else ""))
    width = max(map(len, styles))
    print(f"{'style':<{width}}" + "".join(f"{n[:22]:>24}" for n in names) + "   worst digit")
    per_digit = np.zeros((len(models), 10, 2))
    totals = np.zeros((len(models), 2))
    per_style = {}
    for k, (name, drawer) in enumerate(styles.items()):
        truth, predictions = score(models, drawer, args.per_digit, SEED + k)
        per_style[name] = round(float((predictions[0] == truth).mean()), 4)
        row = f"{name:<{width}}"
        for m, predicted in enumerate(predictions):
            right = predicted == truth
            row += f"{100 * right.mean():>23.2f}%"
            totals[m] += (right.sum(), len(right))
            for d in range(10):
                per_digit[m, d] += (right[truth == d].sum(), (truth == d).sum())
        worst = min(range(10), key=lambda d: (predictions[0][truth == d] == d).mean())
        print(row + f"   {worst}: {100 * (predictions[0][truth == worst] == worst).mean():.0f}%", flush=True)
    print(f"{'all styles':<{width}}" + "".join(f"{100 * t[0] / t[1]:>23.2f}%" for t in totals))
    print("per digit, all styles:")
    for m, name in enumerate(names):
        print(f"  {name[:40]:<40} " + " ".join(f"{d}:{100 * r / n:.1f}" for d, (r, n) in enumerate(per_digit[m])))
    if args.card:
        card = Path(args.model).with_suffix(".json")
        record_benchmark(card, "styles", {
            "command": "python -m bench.styles " + shlex.join(sys.argv[1:]),
            "right": int(totals[0, 0]), "digits": int(totals[0, 1]), "per_style": per_style,
            "per_digit": [round(float(r / n), 4) for r, n in per_digit[0]]})
        print(f"written into {card}")


if __name__ == "__main__":
    main()
