"""Experiment page: test the network on your drawing — why preprocessing and convolutions matter, and how little
it takes to fool it. Everything shown is computed by model/ (legacy, preprocess, attack) and training/ (sweeps)."""

import time

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import session
from dashboard.charts import digit_bars, line_chart
from dashboard.chosen_input import ChosenInput, your_drawing
from dashboard.pictures import colourise, enlarge, tile_grid
from dashboard.user_text import literal
from dashboard.wording import a_digit
from model.attack import Adversarial, Attacker, Norm
from model.inference import Prediction
from model.legacy import legacy_input
from model.preprocess import ImageError, Stage, images_to_input, to_model_input
from model.store import ModelFileError
from training.runs import hyperparams_of
from training.sweeps import Sweep, accuracy_sweep, probability_sweep, transformed_steps

PICTURE_PX = 140
TEST_DIGITS = (200, 500, 1000, 2000)  # how many MNIST test digits a sweep can run over here (the CLI takes all)
SWEPT_KEY = "experiment_swept"  # the test-digit sweeps this session asked for: (sweep, count) pairs
MODELS_SHOWN = 3
Version = tuple[str, str, float]


# ---------------------------------------------------------------- cached computations, once per model
@st.cache_data(max_entries=64, show_spinner=False)
def test_sweep(version: Version, sweep: Sweep, count: int) -> tuple[list[float], float]:
    """One model's accuracy at each step over the first ``count`` MNIST test digits, and the seconds it took."""
    data, start = session.mnist(), time.perf_counter()
    inputs = images_to_input(data.x_test[:count])
    accuracy = accuracy_sweep(session.predictor_of(version), inputs, data.y_test[:count], sweep)
    return accuracy, time.perf_counter() - start


@st.cache_resource(max_entries=4, show_spinner=False)
def attacker(version: Version) -> Attacker:
    return Attacker(session.predictor_of(version).model)


@st.cache_data(max_entries=32, show_spinner="Attacking…")
def attack(version: Version, image: np.ndarray, target: int, norm: Norm, budget: float, steps: int,
           only_add_ink: bool) -> Adversarial:
    return attacker(version).attack(image[None], [target], norm, budget, steps, only_add_ink)[0]


@st.cache_data(max_entries=32, show_spinner=False)
def smallest_budget(version: Version, image: np.ndarray, target: int, norm: Norm, only_add_ink: bool) -> float | None:
    return attacker(version).smallest_budgets(image[None], [target], norm, only_add_ink=only_add_ink)[0]


# ---------------------------------------------------------------- the input and the models
def the_drawing() -> tuple[ChosenInput, Prediction] | None:
    """The session's current digit, taken as Inspect takes it, and the session's model's reading of it."""
    chosen = your_drawing("Nothing drawn yet: draw a digit on the **Draw** page (or upload one there), then come "
                          "back.", key="experiment_digit")
    if chosen is None:
        return None
    try:
        prediction = session.predictor().predict(chosen.image)
    except ImageError as exc:
        st.error(f"That image can't be used: {exc}", icon=":material/block:")
        return None
    if prediction.digit is None:
        st.info(f"No digit to experiment on ({prediction.no_digit.seen}): draw one on the **Draw** page.",
                icon=":material/draw:")
        return None
    return chosen, prediction


def model_name(version: Version) -> str:
    """A model as the charts and tables name it: its id and architecture."""
    try:
        meta = session.store().get(version[0]).meta
    except ModelFileError:
        return version[0]
    if meta.get("uploaded"):  # trained elsewhere: its architecture is not on record
        return f"{version[0]} (uploaded)"
    if "hyperparams" not in meta:
        return version[0]
    return f"{version[0]} ({hyperparams_of(meta).architecture})"


def chosen_models(key: str) -> list[Version]:
    """The saved models to compare (the session's own first), by their cache keys."""
    ids = [info.id for info in session.store().all()]
    own = session.current_model_id()
    default = [own] + [i for i in ids if i != own][:MODELS_SHOWN - 1]
    picked = st.multiselect("Models to compare", ids, default=default, key=key,
                            help="Train an MLP and LeNet-5 on the **Train** page to see why convolutions matter.")
    return [session.model_version_of(i) for i in picked if session.store().exists(i)]


def reading(where, title: str, image: np.ndarray, probabilities: np.ndarray) -> None:
    """A 28×28 input, what the model reads in it, and its ten probabilities."""
    digit = int(np.argmax(probabilities))
    where.image(enlarge(image, PICTURE_PX), caption=title, width=PICTURE_PX)
    where.markdown(f"Reads **{digit}** ({probabilities[digit]:.1%})")
    digit_bars(probabilities, "probability", height=140, where=where, percent=True)


# ---------------------------------------------------------------- 1 · preprocessing
def two_pipelines(image: np.ndarray | bytes, prediction: Prediction) -> None:
    st.subheader("1 · The replaced service's input and ours")
    squashed = legacy_input(image)
    left, right = st.columns(2)
    reading(left, "Squashed: the whole canvas to 28×28", squashed[0, :, :, 0],
            session.predictor().probabilities(squashed)[0])
    reading(right, "Ours: cropped, fitted to 20 px, centred", prediction.preprocessed.image, prediction.probabilities)
    st.caption("The same model reads both. The service this dashboard replaced squashed the whole canvas: a digit "
               "drawn small or near an edge became a few pixels somewhere in the frame, nothing like the centred, "
               "20-pixel digits MNIST is made of.")


def stages_switched_off(image: np.ndarray | bytes, prediction: Prediction) -> None:
    st.subheader("2 · Switch off a stage of our preprocessing")
    skipped = st.multiselect("Switch off", list(Stage), key="experiment_skip", format_func=str.capitalize,
                             placeholder="no stage: the full pipeline")
    pre = to_model_input(image, skip=skipped)
    left, right = st.columns(2)
    reading(left, "Every stage", prediction.preprocessed.image, prediction.probabilities)
    off = ", ".join(skipped) if skipped else "nothing"
    reading(right, f"Without: {off}", pre.image, session.predictor().predict(pre).probabilities)
    st.caption("Without the crop the digit keeps its place and size on the canvas; without the fit it keeps its "
               "share of the frame; without centring the box, not the ink's mass, sits at the centre; without stroke "
               "normalisation a thin or thick pen stays so.")


# ---------------------------------------------------------------- 3 · sweeps
def sweeps(prediction: Prediction) -> None:
    st.subheader("3 · Shift, scale, rotate, re-stroke: how far does it hold?")
    sweep = st.selectbox("Change", list(Sweep), key="experiment_sweep", format_func=str.capitalize)
    models = chosen_models("experiment_sweep_models")
    if not models:
        st.info("Choose at least one model.")
        return
    steps = transformed_steps(prediction.preprocessed.image, sweep)
    tiles = np.repeat((steps * 255 + 0.5).astype(np.uint8), 3, axis=3)
    st.image(tile_grid(tiles, [sweep.label(s) for s in sweep.steps], columns=len(steps), tile_px=56),
             caption=f"Your drawing's 28×28 input at each step ({sweep.unit}); not re-centred or re-fitted.")
    digit = prediction.digit
    curves = pd.DataFrame([{"step": s, f"probability of {digit}": p, "model": model_name(v)}
                           for v in models for s, p in zip(sweep.steps, probability_sweep(
                               session.predictor_of(v), prediction.preprocessed.image, digit, sweep))])
    axis = {"x_title": f"{sweep} ({sweep.unit})", "x_ticks": sweep.steps, "share": True}
    line_chart(curves, "step", f"probability of {digit}", height=260, color="model", **axis)
    count = st.select_slider("MNIST test digits", TEST_DIGITS, value=500, key="experiment_count")
    swept = st.session_state.setdefault(SWEPT_KEY, set())
    if st.button(f"Sweep {count:,} test digits", icon=":material/play_arrow:", key="experiment_run_sweep"):
        swept.add((sweep, count))
    if (sweep, count) not in swept:
        st.caption("Accuracy over test digits is computed once per model and then kept for everyone.")
        return
    with st.spinner(f"Sweeping {count:,} test digits with {len(models)} model(s), once per model…"):
        results = {model_name(v): test_sweep(v, sweep, count) for v in models}
    frame = pd.DataFrame([{"step": s, "accuracy": a, "model": name}
                          for name, (accuracy, _) in results.items() for s, a in zip(sweep.steps, accuracy)])
    line_chart(frame, "step", "accuracy", height=260, color="model", **axis)
    seconds = ", ".join(f"{name} {took:.0f} s" for name, (_, took) in results.items())
    st.caption(f"Accuracy on the first {min(count, len(session.mnist().y_test)):,} MNIST test digits at each step "
               f"(directions alternate from digit to digit). Computed once per model ({seconds}), then cached.")


# ---------------------------------------------------------------- 4 · fooling it
def fool_the_network(prediction: Prediction) -> tuple[int, Norm, bool]:
    st.subheader("4 · Fool the network")
    original = prediction.digit
    controls = st.columns(4)
    target = controls[0].selectbox("Make it read a …", [d for d in range(10) if d != original], key="fool_target")
    norm = controls[1].radio("Budget measured as", list(Norm), key="fool_norm", format_func=lambda n: n.label,
                             help="L∞: the most any one pixel may change. L2: the length of all the changes together.")
    budget = controls[2].slider(f"Budget ({norm.label})", 0.0, norm.largest, norm.default_budget,
                                step=norm.largest / 100, key=f"fool_budget_{norm}")
    only_add_ink = controls[3].toggle("Only add ink", key="fool_add_only",
                                      help="Every change ≥ 0: what a pen could do to the paper.")
    steps = controls[3].number_input("Gradient steps", 10, 500, 100, step=10, key="fool_steps")
    version = session.model_version()
    result = attack(version, prediction.preprocessed.image, target, norm, budget, int(steps), only_add_ink)
    delta = result.perturbation
    peak = float(np.abs(delta).max()) or 1.0
    pictures = st.columns(3)
    pictures[0].image(enlarge(result.original, PICTURE_PX), caption=f"Original: reads {original}", width=PICTURE_PX)
    pictures[1].image(enlarge(colourise(delta, "RdBu_r", -peak, peak), PICTURE_PX), width=PICTURE_PX,
                      caption=f"The change, amplified ×{1 / peak:.1f} (red: ink added, blue: taken away)")
    now = int(np.argmax(result.after))
    pictures[2].image(enlarge(result.adversarial, PICTURE_PX), caption=f"Result: reads {now}", width=PICTURE_PX)
    if result.reached:
        st.success(f"Read as {a_digit(target, bold=True)} ({result.after[target]:.1%}) after {result.steps} steps.",
                   icon=":material/check:")
    else:
        st.warning(f"Not reached within the budget: it still reads **{now}** ({result.after[now]:.1%}); "
                   f"{target} has {result.after[target]:.1%}. Raise the budget or the steps.", icon=":material/block:")
    st.markdown(f"Changed: {norm.label} distance **{result.distance:.3f}** of a budget of {budget:.3f}; "
                f"the largest change to a pixel {float(np.abs(delta).max()):.3f}, "
                f"{result.pixels_changed} of 784 pixels changed.")
    bars = st.columns(2)
    bars[0].caption("Probabilities before")
    digit_bars(result.before, "probability", height=150, where=bars[0], percent=True)
    bars[1].caption("Probabilities after")
    digit_bars(result.after, "probability", height=150, where=bars[1], percent=True)
    return target, norm, only_add_ink


def how_hard_to_fool(prediction: Prediction, target: int, norm: Norm, only_add_ink: bool) -> None:
    st.subheader("5 · Which model is hardest to fool?")
    models = chosen_models("fool_models")
    how = " by only adding ink" if only_add_ink else ""
    st.caption(f"For each model: about the smallest {norm.label} budget within which it reads your drawing as a "
               f"{target}{how} (a search by halving, up to {norm.largest:g}).")
    if not models or not st.button("Compare the models", icon=":material/compare_arrows:", key="fool_compare"):
        return
    rows = []
    with st.spinner("Searching for each model's smallest budget…"):
        for version in models:
            found = smallest_budget(version, prediction.preprocessed.image, target, norm, only_add_ink)
            rows.append({"model": model_name(version), f"smallest {norm.label} budget":
                         f"{found:.3f}" if found is not None else f"not within {norm.largest:g}"})
    st.dataframe(pd.DataFrame(rows), hide_index=True)


# ---------------------------------------------------------------- the page
st.html("<style>[data-testid=stImage] img {image-rendering: pixelated;}</style>")  # crisp pixels at any zoom
st.title("Experiment")
st.caption("Test the network instead of looking at it: what the preprocessing is for, how far a shifted, scaled, "
           "rotated or re-stroked digit still reads, and how little it takes to make it read another digit.")
drawing = the_drawing()
if drawing is None:
    st.stop()
chosen, prediction = drawing
st.caption(f"On {literal(chosen.origin)}, read as {a_digit(prediction.digit)} by model {session.current_model_id()}.")
two_pipelines(chosen.image, prediction)
stages_switched_off(chosen.image, prediction)
sweeps(prediction)
how_hard_to_fool(prediction, *fool_the_network(prediction))
