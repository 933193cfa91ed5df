"""TensorFlow imported without its start-up chatter, for the server and the command lines alike.

TensorFlow 2.21 writes some 16 lines to stderr as it loads (cpu_feature_guard, XLA, the TFLite converter's
notes) — above a command line's one line of JSON, or the server's URL. ``TF_CPP_MIN_LOG_LEVEL=2`` keeps its
C++ INFO and WARNING lines off, but absl's banner and the oneDNN notice are logged before absl is initialised,
whatever the level, once per library: those are dropped here while TensorFlow loads. Anything else it writes
is passed on unchanged. Call ``import_tensorflow_quietly()`` before anything imports TensorFlow or Keras."""

from __future__ import annotations

import os
import re
import sys
import tempfile

_BEFORE_ABSL_INIT = re.compile(rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written "
                               rb"to STDERR|I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*")
"""What TensorFlow 2.21 writes while it loads whatever TF_CPP_MIN_LOG_LEVEL says. (TF_ENABLE_ONEDNN_OPTS=0
silences it too, but changes Inspect's feature maps and saliency in the sixth decimal.)"""


def import_tensorflow_quietly() -> None:
    """Import TensorFlow now, its C++ INFO and WARNING lines off (unless TF_CPP_MIN_LOG_LEVEL says otherwise) and
    the lines of ``_BEFORE_ABSL_INIT`` dropped from what it writes to stderr meanwhile. Once TensorFlow is loaded,
    does nothing."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    with tempfile.TemporaryFile() as written:
        os.dup2(written.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            written.seek(0)
            for line in written.read().splitlines(keepends=True):
                if not _BEFORE_ABSL_INIT.fullmatch(line.rstrip(b"\r\n")):
                    os.write(2, line)
