"""How a prediction is shown: the Prediction metric, all ten probabilities, and what the model saw.

Shared by the Draw and Inspect pages so a digit reads the same everywhere.
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import digit_bars
from dashboard.pictures import enlarge, png_data_url
from model.inference import Prediction
from model.preprocess import NoDigit


def show_prediction(prediction: Prediction | None, prompt: str, show_input: bool = True) -> None:
    """The answer first (it is what people look at), then the evidence: the ten probabilities and (unless
    the page shows it elsewhere, as Inspect does) the 28×28 input. No digit → the prompt only."""
    if prediction is None or prediction.digit is None:
        reason = prediction.no_digit if prediction is not None else None
        if reason in (NoDigit.SPECKS, NoDigit.DOT):  # say what was seen
            prompt = f"{reason.seen.capitalize()}: that is not a digit yet. {prompt}"
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
