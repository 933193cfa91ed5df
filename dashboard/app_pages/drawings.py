"""My drawings: the digits people labelled on the Draw page, to review, fix, export and learn from."""

import numpy as np
import streamlit as st

from dashboard import session
from dashboard.charts import digit_bars
from dashboard.pictures import enlarge
from dashboard.wording import a_digit
from model.preprocess import images_to_input
from training.drawings import DrawingStore

PER_PAGE = 24
COLUMNS = 6


def delete_all(store: DrawingStore, owner: str | None) -> None:
    """Two steps: a checkbox arms the button, so one stray click deletes nothing."""
    what = "every drawing on this server" if owner is None else "all my drawings"
    sure = st.checkbox(f"Yes, delete {what}", key="delete_all_sure")
    if st.button(f"Delete {what}", icon=":material/delete_forever:", disabled=not sure):
        store.delete_all(owner)
        st.session_state.pop("delete_all_sure")
        st.rerun()


st.title("My drawings")
owner = session.drawings_owner()
st.caption(("Every drawing labelled on this server" if owner is None else "Every drawing you")
           + " marked **Right** or corrected with **Wrong — it's a …** on the Draw page, with its true label. Fix a "
           "label, delete a drawing, export them, or let the model learn from them on the **Train** page. Drawings "
           "are stored only when someone presses one of those buttons.")
store = session.drawings()
drawings = store.all(owner)
if not drawings:
    st.info("No labelled drawings yet: draw on the **Draw** page and tell the model whether it was right.",
            icon=":material/draw:")
    st.stop()

predicted = session.predictor().classify(images_to_input(np.stack([d.image for d in drawings])))
labels = np.array([d.label for d in drawings])
cols = st.columns([1, 1, 2])
cols[0].metric("Drawings", len(drawings))
cols[1].metric(f"{session.current_model_id()} gets right", f"{(predicted == labels).mean():.0%}")
digit_bars(np.bincount(labels, minlength=10), "drawings", height=160, where=cols[2])
cols[0].download_button("Export .npz", store.export_npz(owner), file_name="my-drawings.npz",
                        icon=":material/download:",
                        help="MNIST layout: uint8 x_train (N, 28, 28) white on black, y_train labels")
with cols[0].popover("Delete all", icon=":material/delete_forever:"):
    delete_all(store, owner)

pages = max(1, -(-len(drawings) // PER_PAGE))
page = st.number_input("Page", 1, pages, 1, key="drawings_page") if pages > 1 else 1
shown = range((page - 1) * PER_PAGE, min(page * PER_PAGE, len(drawings)))
for row_start in range(shown.start, shown.stop, COLUMNS):
    for column, i in zip(st.columns(COLUMNS), range(row_start, min(row_start + COLUMNS, shown.stop))):
        drawing = drawings[i]
        verdict = "read right" if predicted[i] == drawing.label else f"model reads {predicted[i]}"
        column.image(enlarge(drawing.image, 112), caption=f"#{drawing.id}: {a_digit(drawing.label)} · {verdict}",
                     width=112)
        label = column.selectbox("Label", range(10), index=drawing.label, key=f"label-{drawing.id}",
                                 label_visibility="collapsed")
        if label != drawing.label:
            store.relabel(drawing.id, label, owner)
            st.rerun()
        if column.button("Delete", key=f"delete-{drawing.id}", icon=":material/delete:"):
            store.delete(drawing.id, owner)
            st.rerun()
