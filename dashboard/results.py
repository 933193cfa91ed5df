"""How a prediction is shown: the Prediction metric, all ten probabilities, and what the model saw.

Shared by the Draw and Inspect pages so a digit reads the same everywhere.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.charts import digit_bars
from dashboard.pictures import boxes_on, enlarge, png_data_url
from model.inference import Prediction
from model.number import NumberReading
from model.preprocess import NoDigit


def show_prediction(prediction: Prediction | None, prompt: str, show_input: bool = True) -> None:
    """The answer first (it is what people look at), then the evidence: the ten probabilities and (unless
    the page shows it elsewhere, as Inspect does) the 28×28 input. No digit → the prompt only."""
    if prediction is None or prediction.digit is None:
        reason = prediction.no_digit if prediction is not None else None
        if reason in (NoDigit.SPECKS, NoDigit.DOT):  # say what was seen
            prompt = f"{reason.seen.capitalize()}: that is not a digit yet. {prompt}"
        elif reason is NoDigit.FAINT:
            prompt = f"{reason.seen.capitalize()}: darken it, or raise the picture's contrast. {prompt}"
        st.info(prompt, icon=":material/draw:")
        return
    st.metric("Prediction", str(prediction.digit), delta=f"{prediction.confidence:.1%} confident",
              delta_color="off", delta_arrow="off")
    if prediction.is_unsure:
        top = ", ".join(f"{d} ({p:.0%})" for d, p in prediction.top(3))
        st.warning(f"Not sure — the three most likely: {top}.", icon=":material/help:")
    digit_bars(prediction.probabilities, "probability", height=220, percent=True)
    if show_input:
        st.image(png_data_url(enlarge(prediction.preprocessed.image, 112)), width=112,
                 caption="What the model saw: the 28×28 input after preprocessing")


def show_number(reading: NumberReading | None, source: np.ndarray | None, prompt: str) -> None:
    """The number read, then how: the ink cut into boxes with each digit's reading, and each digit's 28×28
    input with its confidence. No ink → the prompt only."""
    if reading is None or reading.number is None or source is None:
        st.info(prompt, icon=":material/draw:")
        return
    st.metric("Number", reading.number)
    labels = [f"{d.prediction.digit} · {d.prediction.confidence:.0%}" for d in reading.digits]
    st.image(boxes_on(source, [d.piece.box for d in reading.digits], labels),
             caption="Where each digit was read, with its reading and confidence")
    unsure = [str(i + 1) for i, d in enumerate(reading.digits) if d.prediction.is_unsure]
    if unsure:
        st.warning(f"Not sure about digit {', '.join(unsure)} (counting from the left).", icon=":material/help:")
    for column, digit in zip(st.columns(max(len(reading.digits), 8)), reading.digits):
        column.image(png_data_url(enlarge(digit.prediction.preprocessed.image, 56)), width=56,
                     caption=f"{digit.prediction.digit} ({digit.prediction.confidence:.0%})")
