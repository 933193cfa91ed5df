"""What the tests and the benchmarks share (they never import each other): where the project lives,
synthetic canvas drawings (``synthetic_drawings``), and starting the app and Chromium (``browser``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository: where ``python -m …`` and ``streamlit run`` are started from."""
APP = ROOT / "dashboard" / "streamlit_app.py"
"""The dashboard's entry script."""
