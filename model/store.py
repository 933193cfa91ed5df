"""Models on disk: the shipped default, saved training runs, and which one is active.

Layout under the data directory (``$DIGITS_DATA_DIR``, default ``~/.digits-dashboard``)::

    runs/<run-id>/model.keras   a trained model (bare classifier, built-in layers only)
    runs/<run-id>/run.json      its hyperparameters, history and test metrics
    active.json                 {"model": "<run-id>" | "default"}: the server's default model

Every write is atomic — a temp file or folder next to the target, then ``os.replace`` — so a run is
either complete or absent, and a crash mid-save never damages what was there. The shipped model in
``model/weights/`` is read-only to this module: it cannot be deleted or overwritten through it, and it
is what every caller falls back to.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.model_file import UnsafeModelFile, as_project_network, check_loaded, check_model_file

WEIGHTS_DIR = Path(__file__).with_name("weights")
SHIPPED_MODEL = WEIGHTS_DIR / "default.keras"
SHIPPED_ID = "default"
if TYPE_CHECKING:
    import keras

_FILE_MODE = 0o644
"""mkstemp creates 0600 files; models must stay readable by the (possibly different) user serving them."""
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


class ModelFileError(RuntimeError):
    """A model file is missing or damaged; the message names the file."""


@dataclass(frozen=True)
class ModelInfo:
    """One model the user can pick: the shipped default or a saved run."""

    id: str
    path: Path
    meta: dict[str, Any]

    @property
    def is_shipped(self) -> bool:
        return self.id == SHIPPED_ID

    @property
    def test_accuracy(self) -> float | None:
        return (self.meta.get("test") or {}).get("accuracy")


def data_dir() -> Path:
    """Where runs and user data live: ``$DIGITS_DATA_DIR`` or ``~/.digits-dashboard``."""
    return Path(os.environ.get("DIGITS_DATA_DIR") or Path.home() / ".digits-dashboard").expanduser()


def load_keras_model(path: Path) -> keras.Model:
    """Load a ``.keras`` file in safe mode, without its optimizer state, after ``model/model_file.py`` has
    checked it holds only built-in Keras layers (no code from the file ever runs) and a 28×28 → 10 network."""
    import keras  # here, not at the top: paths and records need no TensorFlow, so a command line that only
    # checks its arguments (python -m training.train --epochs 0) answers in a blink instead of after 4 s

    if not Path(path).is_file():
        raise ModelFileError(f"{path}: model file not found")
    try:
        check_model_file(path)
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        check_loaded(model)
        return as_project_network(model)
    except UnsafeModelFile as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged zip/config/weights
        raise ModelFileError(f"{path}: damaged or not a Keras model file ({exc.__class__.__name__}: {exc})") from exc


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def output_problem(path: Path) -> str | None:
    """Why ``save_model_atomic`` could not write a model to ``path`` — not a ``.keras`` name, or a folder that cannot
    be made or written — or None. The command lines ask before training (which may take an hour), not after."""
    if path.suffix != ".keras":
        return f"{path}: a model's file name must end in .keras"
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{path}: cannot make its folder ({exc.strerror})"
    if not os.access(folder, os.W_OK):
        return f"{path}: its folder cannot be written to"
    return None


def save_model_atomic(model: keras.Model, path: Path, meta: dict[str, Any]) -> None:
    """Save ``model`` to ``path`` and its metadata to ``path.with_suffix('.json')``, each atomically.

    Used for the shipped model; the metadata is written last, so a JSON on disk always describes
    the model beside it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_json_atomic(path.with_suffix(".json"), meta)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def model_meta(path: Path) -> dict[str, Any]:
    """The JSON saved beside a model file: ``<name>.json`` (the shipped model, a CLI ``--output``) or the
    ``run.json`` of a run's folder; empty when there is none."""
    path = Path(path)
    for candidate in (path.with_suffix(".json"), path.with_name("run.json")):
        if candidate.is_file():
            return _read_json(candidate)
    return {}


def new_run_id(name: str = "run") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"
    return f"{stamp}-{slug}"


class ModelStore:
    """Saved runs and the active-model pointer under one data directory."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else data_dir()
        self.runs_dir = self.root / "runs"

    # ---- reading
    def shipped(self) -> ModelInfo:
        return ModelInfo(SHIPPED_ID, SHIPPED_MODEL, _read_json(SHIPPED_MODEL.with_suffix(".json")))

    def runs(self) -> list[ModelInfo]:
        """Complete saved runs, newest first (half-written temp folders are never listed)."""
        if not self.runs_dir.is_dir():
            return []
        found = [ModelInfo(d.name, d / "model.keras", _read_json(d / "run.json"))
                 for d in self.runs_dir.iterdir()
                 if d.is_dir() and not d.name.startswith(".") and (d / "model.keras").is_file()]
        return sorted(found, key=lambda m: m.id, reverse=True)

    def all(self) -> list[ModelInfo]:
        return [self.shipped(), *self.runs()]

    def model_path(self, model_id: str) -> Path:
        """The model file of ``model_id``, checked to exist, without reading its description.

        Cheap enough for every stroke (the description of a run can be hundreds of lines of JSON).
        """
        if model_id == SHIPPED_ID:
            return SHIPPED_MODEL
        if not _RUN_ID.match(model_id):
            raise ModelFileError(f"{model_id!r} is not a valid run id")
        path = self.runs_dir / model_id / "model.keras"
        if not path.is_file():
            raise ModelFileError(f"no saved run {model_id!r} in {self.runs_dir}")
        return path

    def exists(self, model_id: str) -> bool:
        """Whether ``model_id`` is the shipped model or a complete saved run (a bad id is simply not there)."""
        try:
            self.model_path(model_id)
        except ModelFileError:
            return False
        return True

    def get(self, model_id: str) -> ModelInfo:
        path = self.model_path(model_id)
        if model_id == SHIPPED_ID:
            return self.shipped()
        return ModelInfo(model_id, path, _read_json(path.with_name("run.json")))

    def active_id(self) -> str:
        """The server's default model; falls back to the shipped one if the pointer is stale or damaged."""
        chosen = _read_json(self.root / "active.json").get("model", SHIPPED_ID)
        try:
            self.model_path(chosen)
            return chosen
        except ModelFileError:
            return SHIPPED_ID

    # ---- writing
    def _write_folder(self, model: keras.Model, meta: dict[str, Any], target: Path) -> None:
        """Write ``model.keras`` and ``run.json`` into a temp folder, then rename it to ``target`` in one step."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.runs_dir, prefix=f".{target.name}."))
        try:
            model.save(tmp / "model.keras")
            (tmp / "run.json").write_text(json.dumps(meta, indent=2))
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def save_run(self, model: keras.Model, meta: dict[str, Any], name: str = "run") -> ModelInfo:
        """Save a run as a folder that appears complete in one rename, or not at all."""
        run_id = new_run_id(name)
        self._write_folder(model, {**meta, "id": run_id}, self.runs_dir / run_id)
        return self.get(run_id)

    def _staged(self, key: str) -> Path:
        if not _RUN_ID.match(key):
            raise ModelFileError(f"{key!r} is not a valid staging key")
        return self.runs_dir / f".staged-{key}"

    def stage_run(self, model: keras.Model, meta: dict[str, Any], key: str) -> None:
        """Set a run aside, unlisted, until someone keeps or discards it (a stopped run's partial model).

        Written by the training worker; kept or discarded later by the web server, possibly another process.
        """
        staged = self._staged(key)
        shutil.rmtree(staged, ignore_errors=True)
        self._write_folder(model, meta, staged)

    def keep_staged(self, key: str, name: str = "run") -> ModelInfo:
        """Turn a staged run into a saved run (one rename)."""
        staged = self._staged(key)
        if not (staged / "model.keras").is_file():
            raise ModelFileError(f"there is no partial model {key!r} to keep (already kept or discarded?)")
        run_id = new_run_id(name)
        write_json_atomic(staged / "run.json", {**_read_json(staged / "run.json"), "id": run_id})
        os.replace(staged, self.runs_dir / run_id)
        return self.get(run_id)

    def discard_staged(self, key: str) -> None:
        shutil.rmtree(self._staged(key), ignore_errors=True)

    def set_active(self, model_id: str) -> None:
        """Make ``model_id`` the server's default (atomically; checked to exist first)."""
        write_json_atomic(self.root / "active.json", {"model": self.get(model_id).id})

    def delete_run(self, model_id: str) -> None:
        """Delete a saved run. The shipped model cannot be deleted; an active run falls back to it."""
        if model_id == SHIPPED_ID:
            raise ModelFileError("the shipped model cannot be deleted")
        run = self.get(model_id).path.parent
        if self.active_id() == model_id:
            self.set_active(SHIPPED_ID)
        trash = run.with_name(f".deleting.{run.name}")
        os.replace(run, trash)
        shutil.rmtree(trash, ignore_errors=True)
