"""My drawings: the digits people labelled on the Draw page, to review, fix, export and learn from."""

import numpy as np
import streamlit as st

from dashboard import session
from dashboard.charts import digit_bars
from dashboard.pictures import enlarge

PER_PAGE = 24
COLUMNS = 6

st.title("My drawings")
st.caption("Every drawing you marked **Right** or corrected with **Wrong — it's a …** on the Draw page, with "
           "its true label. Fix a label, delete a drawing, export them all, or let the model learn from them "
           "on the **Train** page.")
store = session.feedback()
samples = store.samples()
if not samples:
    st.info("No labelled drawings yet: draw on the **Draw** page and tell the model whether it was right.",
            icon=":material/draw:")
    st.stop()

images = np.stack([s.image for s in samples]).astype(np.float32)[..., None] / 255
predicted = session.predictor().probabilities(images).argmax(axis=1)
labels = np.array([s.label for s in samples])
cols = st.columns([1, 1, 2])
cols[0].metric("Drawings", len(samples))
cols[1].metric(f"{session.current_model_id()} gets right", f"{(predicted == labels).mean():.0%}")
digit_bars(np.bincount(labels, minlength=10), "drawings", height=160, where=cols[2])
cols[0].download_button("Export .npz", store.export_npz(), file_name="my-drawings.npz", icon=":material/download:",
                        help="MNIST layout: uint8 x_train (N, 28, 28) white on black, y_train labels")

pages = max(1, -(-len(samples) // PER_PAGE))
page = st.number_input("Page", 1, pages, 1, key="drawings_page") if pages > 1 else 1
shown = range((page - 1) * PER_PAGE, min(page * PER_PAGE, len(samples)))
for row_start in range(shown.start, shown.stop, COLUMNS):
    for column, i in zip(st.columns(COLUMNS), range(row_start, min(row_start + COLUMNS, shown.stop))):
        sample = samples[i]
        verdict = "read right" if predicted[i] == sample.label else f"model reads {predicted[i]}"
        column.image(enlarge(sample.image, 112), caption=f"#{sample.id}: a {sample.label} · {verdict}", width=112)
        label = column.selectbox("Label", range(10), index=sample.label, key=f"label-{sample.id}",
                                 label_visibility="collapsed")
        if label != sample.label:
            store.relabel(sample.id, label)
            st.rerun()
        if column.button("Delete", key=f"delete-{sample.id}", icon=":material/delete:"):
            store.delete(sample.id)
            st.rerun()
