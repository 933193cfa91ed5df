"""Shared fixtures. Tests run offline, without ../shared, and never touch the user's data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DIGITS_WORKER_IDLE_EXIT", "20")  # workers the app starts in tests do not outlive them long


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """Every test gets an empty data directory and no way to find or download a full MNIST."""
    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("DIGITS_MNIST_NO_DOWNLOAD", "1")
    monkeypatch.delenv("DIGITS_MNIST_DIR", raising=False)


@pytest.fixture(scope="session")
def sample():
    from training.data import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def predictor():
    from model.predictor import Predictor
    from model.store import SHIPPED_MODEL

    return Predictor.load(SHIPPED_MODEL)
