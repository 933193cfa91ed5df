"""The image a page studies: the session's drawing or upload — one digit of it when it is a number — or an MNIST
test image, with where it came from. Inspect and Experiment take the drawing the same way."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard import session
from dashboard.wording import a_digit
from model.number import read_number


@dataclass(frozen=True)
class ChosenInput:
    """The image under study, where it came from, and its true label when known (MNIST)."""

    image: np.ndarray | bytes
    origin: str
    true_label: int | None = None
    read_in_number: tuple[int, float] | None = None
    """A digit of a number: what the number reader read it as, and how surely, seeing the whole number."""


def your_drawing(nothing_yet: str, key: str) -> ChosenInput | None:
    """The session's current drawing or upload; for a number, the digit picked with a radio keyed ``key``.
    ``nothing_yet`` is the prompt when nothing has been drawn."""
    current = session.current_input()
    if current is None:
        st.info(nothing_yet, icon=":material/draw:")
        return None
    origin = "your drawing" if current.origin == "canvas" else current.origin
    if current.is_number:
        return one_digit_of(current.image, origin, key)
    return ChosenInput(current.image, origin)


def one_digit_of(number: np.ndarray | bytes, origin: str, key: str) -> ChosenInput | None:
    """A number is studied one digit at a time: the one picked, as it was cut out of the number."""
    reading = read_number(session.predictor(), number)
    if reading.number is None:
        st.info("No digits in your number yet: write one on the **Draw** page.", icon=":material/draw:")
        return None
    chosen = st.radio("Digit of your number", range(len(reading.digits)), horizontal=True, key=key,
                      format_func=lambda i: f"{i + 1}: {a_digit(reading.digits[i].prediction.digit)}")
    chosen = min(chosen or 0, len(reading.digits) - 1)
    digit = reading.digits[chosen]
    return ChosenInput(digit.piece.picture(), f"digit {chosen + 1} of {origin} {reading.number}",
                       read_in_number=(digit.prediction.digit, digit.prediction.confidence))
