"""What the tests and the benchmarks share (they never import each other): where the project lives,
synthetic canvas drawings (``synthetic_drawings``), running a command line (``run_module``), and starting the
app and Chromium (``browser``)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository: where ``python -m …`` and ``streamlit run`` are started from."""
APP = ROOT / "dashboard" / "streamlit_app.py"
"""The dashboard's entry script."""


def run_module(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` from the repository, as a user runs the command lines; output captured as text."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
