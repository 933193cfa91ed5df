"""Inspect page (coming next): every preprocessing stage, feature maps, filters and saliency."""

import streamlit as st

st.title("Inspect")
st.info("Coming soon: your digit through every preprocessing stage, the feature maps of every conv layer, "
        "the learned filters and what the model looks at. Until then, the Draw page shows the 28×28 input "
        "the model sees.", icon=":material/construction:")
