"""The Streamlit dashboard: thin views over model/ and training/."""
