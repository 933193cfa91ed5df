"""Is this ``.keras`` file a digit classifier we can load without running anyone's code? Checked before Keras
reads it.

A ``.keras`` file is a zip archive of ``config.json`` (the network as JSON), ``metadata.json`` and
``model.weights.h5``. Keras's safe mode refuses to unpickle a Python lambda, but a config can still name
other Python objects (a ``Lambda`` layer around a named function, a custom class from any module) that
deserialising would import and call. So before Keras sees the file, ``check_model_file`` reads the archive's
directory and config with the standard library alone and refuses:

- files over ``MAX_MODEL_BYTES`` (from the file's size, before reading it), archives that are not zips or
  hold other entries, entries that unpack past ``MAX_UNPACKED_BYTES`` or compress suspiciously well (a zip
  bomb), a config over ``MAX_CONFIG_BYTES``;
- anything that is not a built-in Keras object: every ``module`` in the config must be Keras's own, and
  ``Lambda`` / ``TFSMLayer`` (which run or load arbitrary code) are refused by name;
- networks of more than ``MAX_LAYERS`` layers or with absurd sizes (a number over ``MAX_SIZE`` where a
  size goes), and inputs other than 28×28 (×1).

``check_loaded`` then checks what Keras built: the input shape and ten outputs. ``model/store.py``'s loader
runs both for every model it opens (command lines, pages, API); an upload is also loaded once in a child
process with a memory and time limit (``python -m model.model_file FILE``) before the server opens it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_MODEL_BYTES = 50 * 2**20
"""Larger files are refused unread: ten times the shipped model; an upload is capped at the same size."""
MAX_UNPACKED_BYTES = 200 * 2**20
MAX_RATIO = 50
"""Weights barely compress (float noise); an entry that shrank 50-fold is padding or a zip bomb."""
MAX_CONFIG_BYTES = 2 * 2**20
MAX_LAYERS = 300
MAX_SIZE = 1_000_000
"""No unit count, filter count, kernel or shape entry of a digit classifier comes near this."""
ENTRIES = {"config.json", "metadata.json", "model.weights.h5"}
REFUSED_LAYERS = {"Lambda": "a Lambda layer (it would run Python code from the file)",
                  "TFSMLayer": "a TFSMLayer (it would load a TensorFlow SavedModel from disk)"}
SIZE_KEYS = {"units", "filters", "kernel_size", "pool_size", "strides", "dilation_rate", "batch_shape", "shape",
             "target_shape", "size", "input_dim", "output_dim", "cropping", "padding", "dims"}
CHECK_MEMORY_BYTES = 3 * 2**30
CHECK_SECONDS = 120
_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"BM": "a BMP image",
          b"\x89HDF": "an HDF5 file (a Keras 2 .h5 model: save it again with model.save('name.keras'))",
          b"%PDF": "a PDF document"}


class UnsafeModelFile(ValueError):
    """A file refused before Keras read it; the message says what was found, in a user's words."""


@dataclass(frozen=True)
class ModelFacts:
    """What the child process that loaded an upload found (``python -m model.model_file``)."""

    parameters: int
    layers: int
    input_shape: tuple[int, ...]


def _what_it_is(head: bytes) -> str:
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return "not a zip archive"


def check_model_file(path: Path) -> dict:
    """Refuse (UnsafeModelFile) anything but a built-in-layers Keras archive of a 28×28 network; returns its
    config. Reads only the zip's directory and ``config.json``, never the weights."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise UnsafeModelFile(f"the file is {size / 2**20:.0f} MB; models up to {MAX_MODEL_BYTES // 2**20} MB are "
                              "accepted")
    with path.open("rb") as f:
        head = f.read(8)
    if not zipfile.is_zipfile(path) and head.startswith(b"PK"):
        raise UnsafeModelFile("damaged: it starts like a zip archive (as a .keras file is) but is truncated or "
                              "corrupt")
    if not zipfile.is_zipfile(path):
        raise UnsafeModelFile(f"not a Keras model file: a .keras file is a zip archive, this is {_what_it_is(head)}")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            if not {"config.json", "model.weights.h5"} <= names or not names <= ENTRIES:
                raise UnsafeModelFile("a zip archive, but not a Keras model: it holds "
                                      f"{', '.join(sorted(names)[:5]) or 'nothing'}, where a .keras file holds "
                                      f"{', '.join(sorted(ENTRIES))}")
            for entry in entries:
                if entry.file_size > MAX_UNPACKED_BYTES or entry.file_size > MAX_RATIO * max(entry.compress_size, 1) \
                        and entry.file_size > 2**20:
                    raise UnsafeModelFile(f"{entry.filename} would unpack to {entry.file_size / 2**20:,.0f} MB from "
                                          f"{entry.compress_size / 2**20:,.1f} MB: refused (a zip bomb?)")
            config_entry = archive.getinfo("config.json")
            if config_entry.file_size > MAX_CONFIG_BYTES:
                raise UnsafeModelFile(f"its config is {config_entry.file_size / 2**20:.0f} MB: no digit classifier "
                                      "needs that")
            config = json.loads(archive.read(config_entry))
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, KeyError) as exc:
        raise UnsafeModelFile(f"damaged: not a whole Keras archive ({exc})") from None
    _check_config(config)
    return config


def _check_config(config: dict) -> None:
    layers = 0

    def walk(node: object, key: str | None = None) -> None:
        nonlocal layers
        if isinstance(node, dict):
            module, name = node.get("module"), node.get("class_name")
            if isinstance(module, str):
                if not (module == "keras" or module.startswith("keras.")):
                    raise UnsafeModelFile(f"it uses {name or 'an object'} from {module!r}, not a built-in Keras "
                                          "object: only models of Keras's own layers are loaded (no code from files)")
                if name in REFUSED_LAYERS:
                    raise UnsafeModelFile(f"it contains {REFUSED_LAYERS[name]}: refused, nothing in it was run")
                if module == "keras.layers":
                    layers += 1
                    if layers > MAX_LAYERS:
                        raise UnsafeModelFile(f"it has more than {MAX_LAYERS} layers: no digit classifier needs "
                                              "that many")
            for k, value in node.items():
                walk(value, k)
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif isinstance(node, bool):
            return
        elif isinstance(node, int | float) and key in SIZE_KEYS and abs(node) > MAX_SIZE:
            raise UnsafeModelFile(f"it declares a {key} of {node:,}: absurd for a 28×28 digit classifier")

    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise UnsafeModelFile("its config.json does not describe a Keras model")
    walk(config)
    shape = _input_shape(config)
    if shape is not None and tuple(shape[1:]) not in ((28, 28), (28, 28, 1)):
        raise UnsafeModelFile(f"its input is {'×'.join(str(s) for s in shape[1:])}; a digit model takes 28×28 "
                              "(or 28×28×1) grey images, as MNIST")


def _input_shape(config: dict) -> list | None:
    """The declared batch shape of the model's input, from its first InputLayer (None when not declared)."""
    for layer in config["config"].get("layers") or []:
        if isinstance(layer, dict) and layer.get("class_name") == "InputLayer":
            return (layer.get("config") or {}).get("batch_shape")
    build = config.get("build_config") or {}
    return build.get("input_shape")


def check_loaded(model) -> None:
    """What Keras built must take 28×28 (×1) images and give ten outputs; UnsafeModelFile says what it found."""
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise UnsafeModelFile(f"it takes {len(inputs)} inputs; a digit model takes one 28×28 image")
    shape = tuple(inputs[0].shape[1:])
    if shape not in ((28, 28), (28, 28, 1)):
        raise UnsafeModelFile(f"its input is {'×'.join(map(str, shape))}; a digit model takes 28×28 (or 28×28×1) "
                              "grey images, as MNIST")
    outputs = getattr(model, "outputs", None) or []
    found = tuple(outputs[0].shape[1:]) if len(outputs) == 1 else None
    if found != (10,):
        what = f"{len(outputs)} outputs" if found is None else f"an output of shape {'×'.join(map(str, found))}"
        raise UnsafeModelFile(f"it has {what}; a digit model gives 10 (one per digit)")


def as_project_network(model):
    """The network rebuilt, where needed, into the project's shape: a functional chain from a (28, 28, 1) input.

    Many networks trained elsewhere take 28×28 images without a channel axis (a Reshape is put in front), and a
    loaded ``Sequential`` model's layers hang off two graphs (Inspect's probes need one). Both are rebuilt from
    fresh copies of their layers, with their weights; this project's own functional models are returned as they
    are. A branching network is kept whole behind the reshape."""
    import keras

    from model.arithmetic import UnitError, chain

    takes_channel = tuple(model.inputs[0].shape[1:]) == (28, 28, 1)
    if takes_channel and not isinstance(model, keras.Sequential):
        return model
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs if takes_channel else keras.layers.Reshape((28, 28), name="drop_channel")(inputs)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not isinstance(model, keras.Sequential):
        try:
            chain(model)
        except UnitError:
            return keras.Model(inputs, model(x), name=model.name)
    copies = []
    for layer in layers:
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        copies.append((copy, layer))
    for copy, layer in copies:
        copy.set_weights(layer.get_weights())
    return keras.Model(inputs, x, name=model.name)


# ---------------------------------------------------------------- the sandboxed first load of an upload

def _limit_child() -> None:  # runs in the child before it starts Python: memory and CPU time caps
    resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY_BYTES, CHECK_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHECK_SECONDS, CHECK_SECONDS))


def check_in_child(path: Path) -> ModelFacts:
    """Load ``path`` in a separate process capped in memory and time, and run it once: a file that would
    exhaust the server (absurd shapes, a deep graph) only kills the child. Raises UnsafeModelFile."""
    check_model_file(path)
    try:
        done = subprocess.run([sys.executable, "-m", "model.model_file", str(path)], capture_output=True, text=True,
                              timeout=CHECK_SECONDS, preexec_fn=_limit_child,
                              cwd=Path(__file__).resolve().parents[1],
                              env={"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin",
                                   "HOME": str(Path.home())})
    except subprocess.TimeoutExpired:
        raise UnsafeModelFile(f"loading it took over {CHECK_SECONDS} s: refused") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        reason = json.loads(lines[-1]).get("error") if lines else None
        raise UnsafeModelFile(reason or f"it could not be loaded within {CHECK_MEMORY_BYTES // 2**30} GB of memory "
                                        f"and {CHECK_SECONDS} s")
    facts = json.loads(lines[-1])
    return ModelFacts(facts["parameters"], facts["layers"], tuple(facts["input_shape"]))


def main(argv: list[str] | None = None) -> int:
    """The child's side: load in safe mode, check, run one batch; one JSON line (facts, or the error)."""
    path = Path((argv or sys.argv[1:])[0])
    try:
        check_model_file(path)
        import keras
        import numpy as np

        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        check_loaded(model)
        shape = tuple(model.inputs[0].shape[1:])
        out = np.asarray(model(np.zeros((2, *shape), np.float32), training=False))
        if not np.isfinite(out).all():
            raise UnsafeModelFile("its output on a blank image is not finite")
        if out.min() < 0 or not np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
            raise UnsafeModelFile("its ten outputs are not probabilities (they must be ≥ 0 and add up to 1): "
                                  "end the network with a softmax")
        print(json.dumps({"parameters": int(model.count_params()), "layers": len(model.layers),
                          "input_shape": list(shape)}))
        return 0
    except UnsafeModelFile as exc:
        print(json.dumps({"error": str(exc)}))
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged or impossible file
        print(json.dumps({"error": f"Keras could not load it ({exc.__class__.__name__}: {str(exc)[:300]})"}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
