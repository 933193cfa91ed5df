"""Recognition core: preprocessing, the CNN, the predictor and the model store (no Streamlit here)."""
