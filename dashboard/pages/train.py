"""Train page (coming next): retrain the CNN with adjustable hyperparameters."""

import streamlit as st

st.title("Train")
st.info("Coming soon: retrain the CNN with your own hyperparameters and watch it learn. Until then, "
        "`python -m training.train --help` trains from the command line.", icon=":material/construction:")
