"""Draw page: draw (or upload) a digit and watch the prediction follow the pen."""

import hashlib

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard import session
from dashboard.identity import on_phone
from dashboard.monitoring import Source
from dashboard.results import show_number, show_prediction
from dashboard.stroke_gate import takes_turns
from dashboard.user_text import literal
from dashboard.wording import a_digit
from model.inference import Prediction
from model.preprocess import IMAGE_TYPES, ImageError, load_rgba
from training.limits import LimitExceeded

CANVAS_SIDE = 280
MODE_KEY, DIGIT, NUMBER = "read_mode", "A digit", "A number"
NUMBER_CANVAS, PHONE_NUMBER_CANVAS = (760, 220), (340, 150)  # (width, height) px; a phone's screen is ~358 px wide
# (ink, paper) colours. White paper is the canvas left transparent over the white page: the ink is then the
# drawing's alpha channel, the cheapest way through preprocessing on every stroke.
INK_STYLES = {"Black ink on white": ("#000000", ""), "White chalk on black": ("#ffffff", "#000000")}
PROMPT = "Draw a digit on the canvas — the prediction follows your pen."
NUMBER_PROMPT = "Write a number on the canvas — it is read whole as you write, each digit boxed with its reading."
# This session's canvas state (not widget keys: those are dropped when the user visits another page).
# (Comments, not docstrings: Streamlit's magic would show a bare string on the page.)
STROKES_KEY = "canvas_strokes"  # the strokes drawn so far (the canvas's JSON), restored on coming back
INITIAL_KEY = "canvas_initial"  # what a (re)mounted canvas starts from: saved strokes, or empty after Clear
CLEARED_KEY = "canvas_cleared"  # Clear presses: each empty initial drawing is new, so the canvas empties in place
STALE_KEY = "canvas_stale"  # the strokes Clear removed, ignored until the browser sends the empty canvas
NUMBER_CLEARED_KEY = "number_canvas_cleared"  # Clear presses on the number canvas: part of its key (a new canvas)
# On a phone (Streamlit stacks the columns below 640 px) the answer would sit under the canvas, off screen:
# a one-line answer above the canvas, a smaller title and no intro keep canvas and answer in view together.
PHONE_CSS = """<style>
.st-key-phone_answer {display: none;}
@media (max-width: 640px) {
  .st-key-phone_answer {display: block;}
  .st-key-page_intro {display: none;}
  [data-testid=stMainBlockContainer] {padding-top: 4.5rem;}
  h1 {font-size: 1.75rem !important; padding: 0 !important;}
}
</style>"""
LABELLED_KEY = "labelled_drawing"  # {fingerprint: label} of the drawing last kept, so it is not offered twice
REFUSED_KEY = "labelling_refused"  # why the last Right/Wrong press was not kept (a visitor's rate limit)

st.html(PHONE_CSS)
st.title("Write a number" if st.session_state.get(MODE_KEY) == NUMBER else "Draw a digit")
st.container(key="page_intro").caption(
    ("Digits side by side, touching or apart, any size: the number reader reads the whole number at once and boxes "
     "each digit. Open **Inspect** to study any of them step by step." if st.session_state.get(MODE_KEY) == NUMBER
     else "Anywhere on the canvas, any size: the model reads it the way MNIST digits were prepared. Open "
          "**Inspect** to see every step.") + " The canvas's own toolbar has undo and an instant reset.")


def pen_and_ink(number: bool) -> tuple[int, str, str]:
    """(pen width, ink colour, paper colour), chosen in a toolbar above the canvas, with Clear.

    Outside the canvas's fragment: a stroke reruns only the fragment, and every element in it is rebuilt and sent
    to the browser again on every stroke, so what a stroke does not change stays out (changing the pen or pressing
    Clear reruns the page, which hands the fragment the new pen or the empty canvas)."""
    toolbar, _ = st.columns([3, 2], gap="large")
    pen, style, clear = toolbar.columns([3, 4, 2], vertical_alignment="bottom")
    width = pen.slider("Pen width", 4, 40, 18, key="pen_width")
    ink, paper = INK_STYLES[style.selectbox("Ink", list(INK_STYLES), key="ink_style")]
    clear.button("Clear", icon=":material/ink_eraser:", on_click=clear_number_canvas if number else clear_canvas,
                 width="stretch")
    st.space("small")  # the canvas's own toolbar floats just above it
    return width, ink, paper


def clear_canvas() -> None:
    """Empty the digit canvas in place: a new (empty) initial drawing does it (a new key would remount the
    component, which takes a second or two during which strokes are lost). The strokes it removes are ignored
    until the browser sends the empty canvas."""
    cleared = st.session_state.get(CLEARED_KEY, 0) + 1
    st.session_state[CLEARED_KEY] = cleared
    st.session_state[INITIAL_KEY] = {"objects": [], "cleared": cleared}
    st.session_state[STALE_KEY] = st.session_state.pop(STROKES_KEY, None)
    session.set_current_input(None)


def clear_number_canvas() -> None:
    """Empty the number canvas: a canvas under a new key, empty (its strokes are not kept across pages, so there is
    no initial drawing to replace as on the digit canvas)."""
    st.session_state[NUMBER_CLEARED_KEY] = st.session_state.get(NUMBER_CLEARED_KEY, 0) + 1
    session.set_current_input(None)


@st.fragment
@takes_turns
def number_area(width: int, ink: str, paper: str) -> None:
    """A wide canvas for a whole number (as wide as a phone's screen, on a phone): the ink is cut into digits and
    each is read like a single one."""
    canvas_width, canvas_height = PHONE_NUMBER_CANVAS if on_phone() else NUMBER_CANVAS
    canvas = st_canvas(stroke_width=width, stroke_color=ink, background_color=paper, height=canvas_height,
                       width=canvas_width, return_image_data=True,
                       key=f"number-canvas-{paper or 'white'}-{st.session_state.get(NUMBER_CLEARED_KEY, 0)}")
    st.caption("Write a number of any length, digits side by side.")
    if canvas.image_bytes is not None:
        strokes = (canvas.json_data or {}).get("objects")
        session.set_current_input(canvas.image_bytes if strokes else None, "canvas", is_number=True)
    current = session.current_input()
    show_number(session.read_current_number(), None if current is None else load_rgba(current.image), NUMBER_PROMPT)


@st.fragment
@takes_turns
def drawing_area(width: int, ink: str, paper: str) -> None:
    """Canvas and answer in one fragment, so a stroke reruns only this, not the whole page."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        # On a phone the answer, one line above the canvas, stays in view (PHONE_CSS shows it on narrow screens);
        # other browsers are not sent it, as every element of the fragment costs each stroke.
        answer_line = st.container(key="phone_answer") if on_phone() else None
        key = f"canvas-{paper or 'white'}"
        if key not in st.session_state:  # a fresh canvas (first visit or back from another page): restore strokes
            st.session_state[INITIAL_KEY] = st.session_state.get(STROKES_KEY)
        canvas = st_canvas(stroke_width=width, stroke_color=ink, background_color=paper, height=CANVAS_SIDE,
                           width=CANVAS_SIDE, return_image_data=True,
                           initial_drawing=st.session_state[INITIAL_KEY], key=key)
    # The PNG the browser sent, kept as it came: preprocessing decodes it (libspng's fast path), and a session
    # holds a few kilobytes instead of the 300 KB of its pixels.
    png = canvas.image_bytes
    if png is not None and canvas.json_data != st.session_state.get(STALE_KEY):  # None before any stroke
        st.session_state.pop(STALE_KEY, None)
        strokes = (canvas.json_data or {}).get("objects")
        st.session_state[STROKES_KEY] = canvas.json_data if strokes else None
        session.set_current_input(png if strokes else None, "canvas")
    with right:
        current = session.current_input()
        if current is not None and current.origin != "canvas":
            st.caption(f"Showing your upload **{literal(current.origin)}** — draw to replace it.")
        prediction = session.predict_current()
        show_prediction(prediction, PROMPT)
        if prediction is not None and prediction.digit is not None:
            labelling_buttons(prediction)
    if answer_line is not None:
        answer_line.markdown(f"Prediction: **{prediction.digit}** ({prediction.confidence:.0%} confident)"
                             if prediction is not None and prediction.digit is not None
                             else "Draw a digit below: the answer appears here.")


def labelling_buttons(prediction: Prediction) -> None:
    """"Right" / "Wrong — it's a …": keep the drawing with its true label for the model to learn from."""
    pre = prediction.preprocessed
    fingerprint = hashlib.sha1(pre.image.tobytes()).hexdigest()
    wrong_key = f"wrong-{fingerprint}"
    saved = st.session_state.get(LABELLED_KEY, {})
    if fingerprint in saved:
        st.caption(f"Kept as {a_digit(saved[fingerprint], bold=True)} in **My drawings** — thank you.")
        return

    def keep(label: int) -> None:
        try:
            session.label_drawing(prediction, label)
            st.session_state[LABELLED_KEY] = {fingerprint: label}
        except LimitExceeded as exc:
            st.session_state[REFUSED_KEY] = str(exc)

    def keep_choice() -> None:
        keep(st.session_state[wrong_key])
        st.session_state[wrong_key] = None  # a refused choice can be pressed again

    refused = st.session_state.pop(REFUSED_KEY, None)
    if refused:
        st.warning(refused, icon=":material/timer:")
    st.button(f"Right, it's {a_digit(prediction.digit)}", icon=":material/thumb_up:", on_click=keep,
              args=(prediction.digit,), key="label_right")
    # What pressing does is the pills' tooltip, not a caption: one element less to send on every stroke.
    st.pills("Wrong — it's a…", [d for d in range(10) if d != prediction.digit], key=wrong_key,
             on_change=keep_choice, help="Your drawing is stored only when you press **Right** or a digit: it then "
                                         "appears in **My drawings**, where you can delete it.")


def upload_area(number: bool) -> None:
    """A photo or scan instead of the canvas, through the same preprocessing."""
    what = "a number" if number else "one digit"
    with st.expander(f"…or upload a photo or scan of {what}", icon=":material/upload_file:"):
        upload = st.file_uploader(f"Image of {what} (either polarity)", key="upload", type=list(IMAGE_TYPES))
        if upload is None:
            return
        try:
            if number:
                session.set_current_input(upload.getvalue(), upload.name, is_number=True)
                show_number(session.read_current_number(), load_rgba(upload.getvalue()),
                            "No digits found in this image.")
                return
            prediction = session.predict(upload.getvalue(), Source.UPLOAD)
        except ImageError as exc:
            st.error(f"That file can't be used: {exc}", icon=":material/block:")
            return
        session.set_current_input(upload.getvalue(), upload.name)
        cols = st.columns([1, 1], gap="large")
        cols[0].image(prediction.preprocessed.source, caption=upload.name, width=CANVAS_SIDE)  # captions are plain text
        with cols[1]:
            show_prediction(prediction, "No digit found in this image.")


number_mode = st.segmented_control("Read", [DIGIT, NUMBER], default=DIGIT, key=MODE_KEY,
                                   label_visibility="collapsed") == NUMBER
pen = pen_and_ink(number_mode)
if number_mode:
    number_area(*pen)
else:
    drawing_area(*pen)
upload_area(number_mode)
st.caption(f"Model: **{session.current_model_id()}**")
