"""Inspect page: one input through every preprocessing stage, the conv layers, how one unit and one convolution
compute, the filters, saliency and the nearest training digits."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import chosen_input, session
from dashboard.arithmetic_views import convolution_step_by_step, how_a_unit_computes
from dashboard.charts import embedding_map
from dashboard.chosen_input import ChosenInput
from dashboard.pictures import (
    CYAN,
    RED,
    colourise,
    mark_points,
    mask_with_box,
    overlay,
    rgba_on_white,
    thumbnail,
    tile_grid,
)
from dashboard.results import show_prediction
from dashboard.user_text import literal
from dashboard.wording import a_digit
from model.explain import Explainer, conv_kernels, first_dense_templates, strongest_channels
from model.inference import Prediction
from model.preprocess import IMAGE_TYPES, ImageError, Preprocessed
from training.metrics import misclassified

SOURCES = ("Your drawing", "An MNIST test image", "Upload an image")
TEST_INDEX_KEY = "inspect_test_index"
STAGES_PER_ROW = 5
NEIGHBOURS = 8
SALIENCY_METHODS = ("Integrated gradients (pixels)", "Grad-CAM (last conv layer)")


# ---------------------------------------------------------------- the input
def your_drawing() -> ChosenInput | None:
    return chosen_input.your_drawing("Nothing drawn yet: draw a digit on the **Draw** page, or pick an MNIST test "
                                     "image.", key="inspect_digit")


def _pick_from(candidates: np.ndarray) -> None:
    """Show one of ``candidates`` (test-image indices) at random, never the one already shown (a press that
    showed the same image again looked like a button that does nothing)."""
    others = candidates[candidates != st.session_state.get(TEST_INDEX_KEY, 0)]
    if len(others):
        st.session_state[TEST_INDEX_KEY] = int(np.random.default_rng().choice(others))


def _class_chosen(labels: np.ndarray) -> None:
    """Choosing a class shows one of it at once; clearing the choice keeps the image shown."""
    digit = st.session_state.get("inspect_class")
    if digit is not None:
        _pick_from(np.flatnonzero(labels == digit))


def an_mnist_test_image() -> ChosenInput:
    """Pick one by index, at random, or among the ones the model gets wrong, of any class or of the one chosen."""
    data = session.mnist()
    wrong = misclassified(session.test_predictions(*session.model_version()), data.y_test)
    st.caption(data.notice + f" Through the same preprocessing as your drawings, the model gets **{len(wrong)}** "
               f"of {len(data.y_test):,} test images wrong.")
    st.session_state.setdefault(TEST_INDEX_KEY, 0)
    pick = st.columns([1.2, 1, 1.4, 1])
    digit = pick[0].selectbox("Of class", range(10), index=None, placeholder="any digit", key="inspect_class",
                              on_change=_class_chosen, args=(data.y_test,))
    of_class = np.arange(len(data.y_test)) if digit is None else np.flatnonzero(data.y_test == digit)
    wrong_here = wrong if digit is None else wrong[data.y_test[wrong] == digit]
    pick[1].button("Random" if digit is None else f"Random {digit}", icon=":material/casino:",
                   on_click=_pick_from, args=(of_class,))
    pick[2].button("A misclassified one" if digit is None else f"A misclassified {digit}", icon=":material/error:",
                   on_click=_pick_from, args=(wrong_here,), disabled=len(wrong_here) == 0,
                   help=None if len(wrong_here) else
                   f"The model reads every test image{'' if digit is None else ' of this class'} right.")
    index = pick[3].number_input("Index", 0, len(data.y_test) - 1, key=TEST_INDEX_KEY)
    return ChosenInput(data.x_test[index], f"MNIST test image #{index}", int(data.y_test[index]))


def an_upload() -> ChosenInput | None:
    upload = st.file_uploader("An image of one digit", key="inspect_upload", type=list(IMAGE_TYPES))
    return None if upload is None else ChosenInput(upload.getvalue(), upload.name)


def choose_input() -> ChosenInput | None:
    source = st.segmented_control("Input", SOURCES, default=SOURCES[0], key="inspect_source") or SOURCES[0]
    return {SOURCES[0]: your_drawing, SOURCES[1]: an_mnist_test_image, SOURCES[2]: an_upload}[source]()


# ---------------------------------------------------------------- the decision
def decision(prediction: Prediction, inspected: ChosenInput) -> None:
    st.subheader(f"The decision on {literal(inspected.origin)}")
    show_prediction(prediction, "No digit to read: draw one on the **Draw** page or pick another input.",
                    show_input=False)
    if prediction.digit is not None and inspected.true_label is not None:
        if inspected.true_label == prediction.digit:
            st.success(f"Right: labelled {inspected.true_label}", icon=":material/check:")
        else:
            st.error(f"Wrong: labelled {inspected.true_label}", icon=":material/close:")
    if prediction.digit is not None and inspected.read_in_number is not None:
        digit, confidence = inspected.read_in_number
        if digit != prediction.digit or prediction.is_unsure:
            reads = (f"reads {a_digit(prediction.digit)}" if digit != prediction.digit else
                     f"is less sure of it ({prediction.confidence:.0%})")
            st.info(f"In the whole number this digit was read as {a_digit(digit, bold=True)} ({confidence:.0%}): the "
                    "number reader sees it with its neighbours. Here the digit network reads only the ink inside its "
                    "box, which can cut strokes a digit shares with its neighbour or hold a sliver of one, and "
                    f"{reads}.",
                    icon=":material/info:")


# ---------------------------------------------------------------- 1 · preprocessing stages
def stages_of(pre: Preprocessed) -> list[tuple[np.ndarray, str, str]]:
    """(picture, title, explanation) for every stage the input went through."""
    display = pre.source if pre.source.shape[2] == 3 else rgba_on_white(pre.source)
    size = f"{pre.source.shape[1]}×{pre.source.shape[0]} px"
    received = (f"{size} as received." if pre.received is None else
                f"{pre.received[1]}×{pre.received[0]} px as received, fewer pixels of its own than the model's 28: "
                f"shown as read, enlarged smoothly to {size}.")
    stages = [(display[..., :3], "Raw input", received),
              (pre.ink, "Ink + polarity", f"{pre.polarity.capitalize()}: ink is white, background black.")]
    if pre.mask is not None and pre.bbox is not None:
        stages.append((mask_with_box(pre.mask, pre.bbox), "Ink mask + box",
                       "Pixels that are clearly ink; the red box bounds them (stray specks ignored)."))
    if pre.is_empty:
        return stages
    stroke = ("kept (MNIST-like)." if pre.stroke_adjust_px == 0 else
              f"{'thickened' if pre.stroke_adjust_px > 0 else 'thinned'} toward MNIST's 2–3 px.")
    return stages + [
        (pre.crop, "Crop", f"Cut to the box: {pre.crop.shape[1]}×{pre.crop.shape[0]} px; the digit's "
                           "position on the canvas no longer matters."),
        (pre.stroked, "Stroke width", f"Stroke ≈ {pre.stroke_px:.1f} px at 20 px; {stroke}"),
        (pre.fitted, "Fit 20 px", f"Longer side scaled to 20 px ({pre.fitted.shape[1]}×{pre.fitted.shape[0]}), "
                                  "aspect kept, anti-aliased; its size no longer matters."),
        (mark_points(pre.padded, [(13.5, 13.5, RED), (*np.subtract(pre.centre_of_mass, 0.5), CYAN)]),
         "Pad 28×28", "Box centred in 28×28. Red: the centre; cyan: the ink's centre of mass."),
        (mark_points(pre.image, [(13.5, 13.5, RED)]), "Centre of mass",
         f"Shifted by {pre.shift[0]:+d}, {pre.shift[1]:+d} px (rows, cols) so the mass sits at the centre, "
         "as in MNIST."),
        (colourise(pre.image, "viridis", 0.0, 1.0), "Model input",
         f"float32 28×28, values {pre.image.min():.2f}–{pre.image.max():.2f} (viridis: 0 dark, 1 yellow)."),
    ]


def preprocessing_stages(pre: Preprocessed) -> None:
    st.subheader("1 · Preprocessing, stage by stage")
    stages = stages_of(pre)
    for start in range(0, len(stages), STAGES_PER_ROW):
        for column, (picture, title, explanation) in zip(st.columns(STAGES_PER_ROW),
                                                         stages[start:start + STAGES_PER_ROW]):
            column.image(thumbnail(picture, 224, fill=None if title == "Raw input" else 0), caption=title,
                         width="stretch")
            column.caption(explanation)


# ---------------------------------------------------------------- 2 · feature maps
def feature_maps(explainer: Explainer, x: np.ndarray) -> None:
    st.subheader("2 · Feature maps: what each layer computes")
    if not explainer.layers:
        st.info("This model is a multi-layer perceptron: it has no convolutions, so there are no feature maps. "
                "Each unit of its first layer weighs all 784 pixels at once, with no idea which pixels are "
                "neighbours: a stroke moved by two pixels is a different input to it. Convolutions slide one small "
                "filter over the image instead, so a stroke is recognised wherever it is; compare the runs of "
                "each architecture on the Train page.", icon=":material/grid_off:")
        return
    shapes = {fl.label: fl.shape for fl in explainer.layers}
    cols = st.columns([2, 1])
    layer = cols[0].selectbox("Layer", list(shapes), key="inspect_layer",
                              format_func=lambda name: f"{name} — {shapes[name]}")
    strongest = cols[1].toggle("Strongest channels first", value=True, key="inspect_strongest")
    maps = explainer.feature_maps(x)[layer]
    channels = strongest_channels(maps) if strongest else np.arange(maps.shape[-1])
    high = float(maps.max()) or 1.0
    tiles = np.stack([colourise(maps[..., c], "magma", 0.0, high) for c in channels])
    st.image(tile_grid(tiles, [str(c) for c in channels], columns=16, tile_px=56),
             caption=f"{layer}: {maps.shape[-1]} channels of {maps.shape[0]}×{maps.shape[1]}, one colour scale "
                     f"for the layer (black 0 → yellow {high:.2f}); the number is the channel index.")


# ---------------------------------------------------------------- 3 · filters
def learned_filters(explainer: Explainer) -> None:
    st.subheader("5 · Learned filters")
    kernels = conv_kernels(explainer.model)
    if not kernels:
        first_layer_weights(explainer)
        return
    first_name, first = kernels[0]
    bound = float(np.abs(first).max())
    tiles = np.stack([colourise(first[:, :, 0, c], "RdBu_r", -bound, bound) for c in range(first.shape[-1])])
    st.image(tile_grid(tiles, [str(c) for c in range(first.shape[-1])], columns=16, tile_px=48),
             caption=f"{first_name}: {first.shape[-1]} kernels of {first.shape[0]}×{first.shape[1]} applied to the "
                     "input (red positive, blue negative): edge and stroke detectors.")
    st.dataframe(pd.DataFrame([{"layer": name, "kernel": "×".join(map(str, k.shape)), "weights": k.size,
                                "mean |w|": float(np.abs(k).mean()), "std": float(k.std())} for name, k in kernels]),
                 hide_index=True)


def first_layer_weights(explainer: Explainer) -> None:
    """An MLP's filters are its first layer's units: one 28×28 weight image each."""
    templates = first_dense_templates(explainer.model)
    shown = templates[:64]
    bound = float(np.abs(shown).max()) or 1.0
    tiles = np.stack([colourise(t, "RdBu_r", -bound, bound) for t in shown])
    st.image(tile_grid(tiles, [str(u) for u in range(len(shown))], columns=16, tile_px=56),
             caption=f"The first {len(shown)} of {len(templates)} units of the first dense layer, each as the 28×28 "
                     "weights it puts on the pixels (red positive, blue negative): whole-image templates, tied to "
                     "where ink falls, where a CNN learns small stroke detectors that work anywhere.")


# ---------------------------------------------------------------- 4 · saliency
def saliency(explainer: Explainer, prediction: Prediction) -> None:
    st.subheader("6 · What the model looks at")
    x, image = prediction.preprocessed.model_input, prediction.preprocessed.image
    cols = st.columns([1, 2])
    # Keyed by the prediction, so a new input starts from its own predicted digit rather than the last choice.
    target = cols[0].selectbox("Explain the score of digit", range(10), index=prediction.digit,
                               key=f"inspect_target_{prediction.digit}")
    methods = SALIENCY_METHODS if explainer.last_conv is not None else SALIENCY_METHODS[:1]  # Grad-CAM needs a conv
    method = cols[1].radio("Method", methods, horizontal=True, key="inspect_method")
    if method == SALIENCY_METHODS[1]:
        heat = explainer.gradcam(x, target)
        note = (f"Grad-CAM: where {explainer.last_conv.label}'s evidence for “{target}” lies "
                "(its channels weighted by their gradient).")
    else:
        heat = explainer.pixel_saliency(x, target)
        note = f"Integrated gradients: pixels whose ink raises the score of “{target}” (positive part)."
    pictures = st.columns(3)
    pictures[0].image(thumbnail(image, 168), caption="The 28×28 input", width=168)
    pictures[1].image(thumbnail(colourise(heat, "jet", 0.0, 1.0), 168), caption="Saliency", width=168)
    pictures[2].image(overlay(image, heat, 168), caption="Overlay", width=168)
    st.caption(note + f" The model gives “{target}” a probability of {prediction.probabilities[target]:.1%}.")


# ---------------------------------------------------------------- 5 · neighbours and the map
def neighbours_and_map(prediction: Prediction, origin: str) -> None:
    st.subheader("7 · Where the model puts it: nearest training digits and a map")
    index, the_map = session.embedding()
    x = prediction.preprocessed.model_input
    near = index.nearest(x, NEIGHBOURS)
    tiles = np.repeat(session.mnist().x_train[[n.index for n in near]][..., None], 3, axis=3)
    st.image(tile_grid(tiles, [f"{n.label} · {n.distance:.2f}" for n in near], columns=NEIGHBOURS, tile_px=72),
             caption=f"The {NEIGHBOURS} of {len(index.labels):,} MNIST training digits nearest to {origin} in the "
                     "model's last hidden layer (label · cosine distance): what the model considers alike.")
    votes = np.bincount([n.label for n in near], minlength=10)
    st.caption(f"Their labels: {', '.join(f'{d} ×{c}' for d, c in enumerate(votes) if c)}.")
    points = pd.DataFrame({"x": the_map.points[:, 0], "y": the_map.points[:, 1], "digit": the_map.labels.astype(str)})
    you = the_map.place(index.embed(x))[0]
    embedding_map(points, (float(you[0]), float(you[1])))
    st.caption(f"{len(points):,} MNIST test digits in the same space, flattened to its two main directions by PCA "
               f"({the_map.explained:.0%} of the variance), coloured by their true label; the black cross is "
               f"{origin}. PCA because it is a fixed projection: your digit lands exactly where its features put "
               "it, the same every time (UMAP would separate the clouds more, but only approximately place a new "
               "point).")


# ---------------------------------------------------------------- the page
st.html("<style>[data-testid=stImage] img {image-rendering: pixelated;}</style>")  # crisp pixels at any zoom
st.title("Inspect")
st.caption("See exactly how the network reads a digit: the preprocessing, what each layer computes, "
           "what it has learned, and where it looks.")
inspected = choose_input()
if inspected is None:
    st.stop()
try:
    prediction = session.predictor().predict(inspected.image)
except ImageError as exc:
    st.error(f"That image can't be used: {exc}", icon=":material/block:")
    st.stop()
decision(prediction, inspected)
preprocessing_stages(prediction.preprocessed)
if prediction.digit is None:
    st.stop()
explainer = session.explainer()
feature_maps(explainer, prediction.preprocessed.model_input)
how_a_unit_computes(explainer, prediction)
convolution_step_by_step(explainer, prediction)
learned_filters(explainer)
saliency(explainer, prediction)
neighbours_and_map(prediction, literal(inspected.origin))
