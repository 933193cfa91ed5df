"""Preprocessing: placement and size invariance, polarity, blank detection, file formats, bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from harness.synthetic_drawings import PLACES, SIZES, STYLES, stroke_digit
from model.legacy import legacy_input
from model.preprocess import MAX_PIXELS, ImageError, Stage, at_reading_size, load_rgba, paper_level, to_model_input
from training.restyled_digits import form_counts


def _png(array: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=save.pop("format", "PNG"), **save)
    return buf.getvalue()


@pytest.mark.parametrize("digit", [2, 4, 7])
def test_nine_places_and_three_sizes_give_near_identical_inputs(digit):
    reference = to_model_input(stroke_digit(digit)).image
    for place in PLACES:
        for size in SIZES:
            got = to_model_input(stroke_digit(digit, place, size)).image
            assert got is not None, (place, size)
            assert np.abs(got - reference).mean() < 0.08, (place, size)
            ink_rows = np.flatnonzero(got.max(axis=1) > 0.1)
            assert ink_rows[-1] - ink_rows[0] + 1 >= 18, "digit must be fitted to ~20 px whatever its size"


def test_centre_of_mass_lands_at_the_centre():
    pre = to_model_input(stroke_digit(7, "bottom-right", "small"))
    rows, cols = np.indices(pre.image.shape)
    total = pre.image.sum()
    assert abs((rows * pre.image).sum() / total - 14) <= 0.5  # where MNIST puts it
    assert abs((cols * pre.image).sum() / total - 14) <= 0.5


def test_three_ink_styles_are_told_apart_and_agree():
    results = {style: to_model_input(stroke_digit(5, style=style)) for style in STYLES}
    assert "transparent" in results["transparent"].polarity
    assert results["paper"].polarity.startswith("dark ink on a light")
    assert results["chalk"].polarity.startswith("light ink on a dark")
    for style in ("paper", "chalk"):
        assert np.abs(results[style].image - results["transparent"].image).mean() < 0.02


def test_a_bold_digit_cropped_tight_keeps_its_polarity(sample):
    """A scanned form's box: the digit fills the frame and its ink covers more than half the picture, so the
    picture's median colour is the ink's. The paper still shows along the border."""
    zero = sample.x_test[np.flatnonzero(sample.y_test == 0)[0]]
    rows, cols = np.flatnonzero(zero.max(axis=1) > 40), np.flatnonzero(zero.max(axis=0) > 40)
    tight = np.asarray(Image.fromarray(zero[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]).resize((32, 32))) > 60
    bold = ndimage.binary_dilation(np.pad(tight, 1), iterations=2)  # a marker pen, the box's edge just clear
    assert bold.mean() > 0.5, "the set-up: more ink than paper"
    for ink, paper, polarity in ((0, 255, "dark ink on a light"), (255, 0, "light ink on a dark")):
        pre = to_model_input(np.where(bold, ink, paper).astype(np.uint8))
        assert pre.polarity.startswith(polarity)
        assert pre.image[14, 14] < 0.2, "the 0's hole stays empty: the paper is not taken for ink"


def test_the_paper_is_found_when_the_digit_touches_its_frame(sample):
    """With ink and grey edges on up to half of the border ring, the ring's median fell between paper and ink:
    the paper became faint ink and the digit a smudge filling its box (47 % of the model input inked, against
    26 % for a typical digit), and where the ring was mostly ink the polarity came out reversed."""
    for digit in sample.x_test[:300]:
        pre = to_model_input(form_counts(digit))
        assert pre.polarity.startswith("light ink on a dark"), "ink taken for paper"
        assert (pre.image > 0.1).mean() < 0.42, "the paper smudged in as ink"


def test_a_picture_blown_up_by_repeating_its_pixels_is_read_as_the_small_one(sample):
    """Shown blown up, an 8×8 scan used to be read as hard squares (2,000 MNIST test digits: 96.7 % right against
    97.4 % for the 8×8 pictures themselves)."""
    for digit in sample.x_test[:50]:
        small = form_counts(digit)
        small_read = to_model_input(small)
        blown_up = {24: np.kron(small, np.ones((3, 3), np.uint8)),  # every pixel 3×3
                    80: np.kron(small, np.ones((10, 10), np.uint8)),
                    28: np.asarray(Image.fromarray(small).resize((28, 28), Image.Resampling.NEAREST)),  # 3 or 4
                    100: np.asarray(Image.fromarray(small).resize((100, 100), Image.Resampling.NEAREST)),
                    37: small[np.arange(37) * 8 // 37][:, np.arange(37) * 8 // 37]}  # OpenCV's way: left edges
        for side, picture in blown_up.items():
            read = to_model_input(picture)
            np.testing.assert_array_equal(read.image, small_read.image)
            assert read.received == (side, side)
        smooth = to_model_input(np.asarray(Image.fromarray(small).resize((80, 80), Image.Resampling.BILINEAR)))
        assert smooth.received is None, "a smooth enlargement has no cells to find"


def test_a_blown_up_picture_is_found_when_its_digit_misses_the_lines_looked_at_first():
    small = np.full((27, 27), 255, np.uint8)
    small[:6, :6] = np.random.default_rng(0).integers(0, 200, (6, 6))  # clear of rows and columns 6, 13 and 20
    picture, received = at_reading_size(load_rgba(np.kron(small, np.ones((4, 4), np.uint8))))
    assert received == (108, 108) and picture.shape == (28, 28, 4)
    np.testing.assert_array_equal(picture, at_reading_size(load_rgba(small))[0])


def test_small_pictures_are_enlarged_smoothly_to_28_pixels_first(sample):
    small = to_model_input(form_counts(sample.x_test[1]))
    assert small.received == (8, 8) and small.source.shape == (28, 28, 4)
    assert len(np.unique(small.source[..., 0])) > 17, "smooth, not 17 levels in squares"
    wide = to_model_input(np.pad(form_counts(sample.x_test[1]), ((0, 0), (2, 2))))
    assert wide.received == (8, 12) and wide.source.shape == (19, 28, 4)
    for as_drawn in (stroke_digit(3), stroke_digit(3, style="paper"), sample.x_test[1]):
        pre = to_model_input(as_drawn)
        assert pre.received is None and pre.source.shape[:2] == as_drawn.shape[:2]



def test_number_arrays_are_read_on_their_own_scale(sample):
    """scikit-learn's ``load_digits().images`` are floats 0–16 (UCI's block counts): read as bytes they had a
    contrast of 16 in 255 and every digit was "no digit"."""
    drawing = stroke_digit(4, style="paper")[..., 0]
    as_bytes = to_model_input(drawing).image
    for scaled in (drawing / 255.0, drawing.astype(np.float32), drawing.astype(np.int64)):
        np.testing.assert_allclose(to_model_input(scaled).image, as_bytes, atol=1e-6)
    for digit in sample.x_test[:20]:
        counts = form_counts(digit) // 16  # 0..15 here, 16 where a block is full ink
        counts[counts == 15] = 16
        byte_read = to_model_input((counts * (255 / 16)).round().astype(np.uint8)).image
        for array in (counts.astype(np.float64), counts.astype(np.int64)):
            pre = to_model_input(array)
            assert not pre.is_empty
            np.testing.assert_allclose(pre.image, byte_read, atol=1e-6)

def test_paper_level_is_the_papers_side_of_the_ring():
    ring = np.array([0] * 14 + [40, 90, 130] * 2 + [255] * 8, np.uint8)  # half paper, grey edges, ink
    assert paper_level(ring) == 0
    assert paper_level(255 - ring) == 255
    assert paper_level(np.full(30, 200, np.uint8)) == 200


def test_coloured_ink_on_a_coloured_background():
    drawing = stroke_digit(3, style="paper")
    mask = drawing[..., 0] < 128
    coloured = np.empty_like(drawing)
    coloured[...] = (240, 220, 160)  # yellowish paper
    coloured[mask] = (30, 60, 200)  # blue ink
    got = to_model_input(coloured).image
    assert np.abs(got - to_model_input(drawing).image).mean() < 0.03


@pytest.mark.parametrize("pen, size, adjustment", [(3, "large", 1), (18, "medium", 0), (40, "medium", -1)])
def test_thin_and_thick_pens_end_up_with_mnist_like_strokes(pen, size, adjustment):
    pre = to_model_input(stroke_digit(8, size=size, pen=pen))
    reference = to_model_input(stroke_digit(8)).image
    assert np.sign(pre.stroke_adjust_px) == adjustment  # thickened, kept, thinned
    ink_fraction = (pre.image > 0.5).mean()
    assert 0.08 < ink_fraction < 0.35, ink_fraction
    assert np.abs(pre.image - reference).mean() < 0.12


@pytest.mark.parametrize("picture, reason", [
    (np.zeros((280, 280, 4), np.uint8), "blank"),  # untouched transparent canvas
    (np.full((280, 280, 3), 255, np.uint8), "blank"),  # white paper
    (np.full((280, 280, 3), 7, np.uint8), "blank"),  # blackboard
    (np.random.default_rng(0).integers(118, 122, (280, 280, 3), dtype=np.uint8), "blank"),  # flat noisy grey
    (np.kron(np.eye(8, dtype=np.uint8) * 16, np.ones((10, 10), np.uint8)), "too faint"),  # UCI's raw counts as bytes
])
def test_blank_images_have_no_ink(picture, reason):
    pre = to_model_input(picture)
    assert pre.is_empty and reason in pre.empty_reason
    with pytest.raises(ValueError, match="no model input"):
        _ = pre.model_input


def test_a_speck_or_a_single_tap_is_not_a_digit():
    speck = np.zeros((280, 280, 4), np.uint8)
    speck[100:102, 50:52, 3] = 255
    assert "specks" in to_model_input(speck).empty_reason
    tap = np.zeros((280, 280, 4), np.uint8)
    yy, xx = np.ogrid[:280, :280]
    tap[(yy - 140) ** 2 + (xx - 140) ** 2 <= 9 ** 2, 3] = 255
    assert "dot" in to_model_input(tap).empty_reason


def test_file_formats_agree_with_the_array():
    drawing = stroke_digit(6, style="paper")
    reference = to_model_input(drawing).image
    grey16 = (drawing[..., 0].astype(np.uint16) * 257)
    files = {
        "png": _png(drawing), "jpeg": _png(drawing, format="JPEG", quality=85), "bmp": _png(drawing, format="BMP"),
        "grey": _png(drawing[..., 0]), "png16": _png(grey16),
        "palette": _png_palette(drawing), "gif": _gif_two_frames(drawing),
        "rgba-opaque": _png(np.dstack([drawing, np.full(drawing.shape[:2], 255, np.uint8)])),
    }
    for name, data in files.items():
        got = to_model_input(data).image
        assert got is not None, name
        assert np.abs(got - reference).mean() < 0.03, name


def _png_palette(drawing):
    buf = io.BytesIO()
    Image.fromarray(drawing).convert("P").save(buf, format="PNG")
    return buf.getvalue()


def _gif_two_frames(drawing):
    """Only the first frame counts; the second is blank and must be ignored."""
    buf = io.BytesIO()
    first, blank = Image.fromarray(drawing), Image.new("RGB", drawing.shape[1::-1], "white")
    first.save(buf, format="GIF", save_all=True, append_images=[blank])
    return buf.getvalue()


def test_plain_png_bytes_decode_as_pillow_decodes_them(monkeypatch):
    """The canvas's and the API's PNGs (8-bit RGBA or RGB) take libspng's fast path: the same pixels as Pillow's,
    and every other kind of PNG still goes through Pillow."""
    import model.preprocess as preprocess

    canvas = stroke_digit(4)  # transparent RGBA, as the canvas sends it
    plain = {"rgba": _png(canvas), "rgb": _png(stroke_digit(4, style="paper"))}
    others = {"grey": _png(canvas[..., 3]), "palette": _png_palette(stroke_digit(4, style="paper")),
              "grey16": _png(canvas[..., 3].astype(np.uint16) * 257)}
    for name, data in plain.items():
        fast = preprocess.load_rgba(data)
        assert fast.dtype == np.uint8 and fast.shape == (280, 280, 4)
        assert np.array_equal(fast, np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))), name
    pillow = []
    monkeypatch.setattr(preprocess, "_pil_to_rgba", lambda img: pillow.append(img.mode) or np.asarray(
        img.convert("RGBA")))
    for data in plain.values():
        preprocess.load_rgba(data)
    assert pillow == [], "plain PNGs never reach Pillow"
    for data in others.values():
        preprocess.load_rgba(data)
    assert len(pillow) == len(others), "grey, palette and 16-bit PNGs are Pillow's"


def test_a_plain_png_that_is_corrupt_or_huge_is_refused():
    good = _png(stroke_digit(1))
    with pytest.raises(ImageError, match="corrupt or truncated"):
        to_model_input(good[: len(good) // 2])
    huge_header = bytearray(good)
    huge_header[16:24] = (10_000).to_bytes(4, "big") * 2  # IHDR claims 10,000×10,000
    with pytest.raises(ImageError, match=r"too large .*10,000×10,000"):
        to_model_input(bytes(huge_header))


def test_huge_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("L", (10_000, 10_000), 255).save(path)
    with pytest.raises(ImageError, match=r"too large .*10,000×10,000"):
        to_model_input(path)
    with pytest.raises(ImageError, match="too large"):
        to_model_input(np.zeros((MAX_PIXELS // 1000 + 1, 1000), np.uint8))


def test_corrupt_png_and_non_image_files_give_clear_errors(tmp_path):
    good = _png(stroke_digit(1, style="paper"))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        to_model_input(truncated)
    text = tmp_path / "notes.txt"
    text.write_text("this is not a picture of a digit")
    with pytest.raises(ImageError, match="not an image"):
        to_model_input(text)
    with pytest.raises(ImageError, match="no such file"):
        to_model_input(tmp_path / "missing.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for nothing in (empty, b""):  # a file saved before anything was written to it, an upload of 0 bytes
        with pytest.raises(ImageError, match=r"the file is empty \(0 bytes\)"):
            to_model_input(nothing)
    with pytest.raises(ImageError, match="shape"):
        to_model_input(np.zeros((28, 28, 2)))
    with pytest.raises(ImageError, match="NaN"):
        to_model_input(np.full((28, 28), np.nan))


def test_mnist_digits_pass_through_almost_unchanged(sample):
    """MNIST was made by this very procedure, so re-preprocessing an MNIST digit changes little."""
    diffs = [np.abs(to_model_input(img).image - img / 255.0).mean() for img in sample.x_test[:200]]
    assert np.median(diffs) < 0.04


@pytest.mark.parametrize("place", ["centre", "top-left", "bottom-right"])
@pytest.mark.parametrize("size", ["small", "large"])
def test_a_box_of_the_input_traces_back_to_the_canvas(place, size):
    """The whole digit's box in 28×28 lands on the ink's box on the canvas; a corner box on its corner."""
    pre = to_model_input(stroke_digit(4, place=place, size=size))
    rows, cols = np.nonzero(pre.image > 0.05)
    whole = pre.source_box((rows.min(), cols.min(), rows.max() + 1, cols.max() + 1))
    top, left, bottom, right = pre.bbox
    slack = 0.1 * max(bottom - top, right - left) + 3
    assert np.abs(np.subtract(whole, pre.bbox)).max() <= slack, (whole, pre.bbox)
    corner = pre.source_box((rows.min(), cols.min(), rows.min() + 3, cols.min() + 3))
    assert abs(corner[0] - top) <= slack and abs(corner[1] - left) <= slack
    assert corner[2] - corner[0] < (bottom - top) / 2 and corner[3] - corner[1] < (right - left) / 2


def _ink_rows(image: np.ndarray) -> np.ndarray:
    return np.flatnonzero(image.max(axis=1) > 0.1)


def test_skipping_nothing_is_the_one_pipeline():
    drawing = stroke_digit(2, "top-left", "small")
    assert np.array_equal(to_model_input(drawing, skip=()).image, to_model_input(drawing).image)
    assert to_model_input(drawing).skipped == frozenset()


def test_without_the_crop_and_the_fit_a_small_corner_digit_stays_small_in_its_corner():
    drawing = stroke_digit(7, "bottom-right", "small")
    pre = to_model_input(drawing, skip={Stage.CROP, Stage.FIT, Stage.CENTRE})
    rows = _ink_rows(pre.image)
    assert pre.bbox == (0, 0, 280, 280) and pre.shift == (0, 0)
    assert rows[-1] - rows[0] + 1 <= 11 and rows[0] >= 17  # a quarter of the height, at the bottom
    assert np.abs(pre.image - legacy_input(drawing)[0, :, :, 0]).mean() < 0.05  # the replaced service's input
    assert pre.source_box((0, 0, 28, 28)) == (0, 0, 280, 280)


def test_without_the_fit_a_small_digit_keeps_its_share_of_the_frame():
    small = stroke_digit(4, size="small")
    rows = _ink_rows(to_model_input(small, skip={Stage.FIT}).image)
    assert rows[-1] - rows[0] + 1 <= 11
    assert len(_ink_rows(to_model_input(small).image)) >= 18


def test_without_centring_the_mass_is_where_the_box_put_it():
    drawing = stroke_digit(7)  # a 7's mass sits high in its box
    pre = to_model_input(drawing, skip={Stage.CENTRE})
    assert pre.shift == (0, 0) and np.array_equal(pre.image, pre.padded)
    assert abs(pre.centre_of_mass[0] - 14) > 1
    assert to_model_input(drawing).shift != (0, 0)


def test_without_stroke_normalisation_a_thick_pen_stays_thick():
    thick = stroke_digit(1, pen=40)
    pre = to_model_input(thick, skip={Stage.STROKE})
    assert pre.stroke_adjust_px == 0 and pre.stroke_px > 3.3
    assert pre.image.sum() > 1.2 * to_model_input(thick).image.sum()


def test_the_replaced_pipeline_squashes_the_whole_canvas():
    drawing = stroke_digit(3, "top-left", "small")
    squashed = legacy_input(drawing)
    assert squashed.shape == (1, 28, 28, 1) and squashed.dtype == np.float32
    rows = _ink_rows(squashed[0, :, :, 0])
    assert rows[0] <= 1 and rows[-1] <= 9  # where and as small as it was drawn
