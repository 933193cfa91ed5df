"""Model store: atomic saves, listing, the active model, and the shipped model's protection."""

from __future__ import annotations

import json
import os

import pytest

from model.store import (
    SHIPPED_ID,
    SHIPPED_MODEL,
    ModelFileError,
    ModelStore,
    load_keras_model,
    output_problem,
    save_model_atomic,
)
from training.hyperparams import Hyperparams


@pytest.fixture(scope="module")
def tiny_model():
    from model.network import build_classifier

    return build_classifier(Hyperparams(conv_blocks=1, filters=4, dense_units=8).network)


def test_shipped_model_is_listed_first_and_loads():
    store = ModelStore()
    assert store.all()[0].id == SHIPPED_ID
    assert store.active_id() == SHIPPED_ID
    assert store.shipped().test_accuracy >= 0.995
    assert load_keras_model(SHIPPED_MODEL).output_shape == (None, 10)


def test_save_list_activate_delete(tiny_model):
    store = ModelStore()
    info = store.save_run(tiny_model, {"test": {"accuracy": 0.5}}, name="my run!")
    assert [r.id for r in store.runs()] == [info.id] and info.id.endswith("my-run")
    assert json.loads((info.path.parent / "run.json").read_text())["id"] == info.id
    store.set_active(info.id)
    assert store.active_id() == info.id
    store.delete_run(info.id)
    assert store.runs() == [] and store.active_id() == SHIPPED_ID
    assert not list(store.runs_dir.iterdir()), "no leftovers after delete"


def test_a_failed_save_leaves_nothing_behind(tiny_model, monkeypatch):
    store = ModelStore()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(tiny_model), "save", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save_run(tiny_model, {})
    assert store.runs() == [] and not list(store.runs_dir.iterdir())


def test_atomic_file_save_keeps_the_old_model_when_saving_fails(tiny_model, tmp_path, monkeypatch):
    target = tmp_path / "model.keras"
    save_model_atomic(tiny_model, target, {"version": 1})
    before = target.read_bytes()
    monkeypatch.setattr(type(tiny_model), "save", lambda *a, **k: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError):
        save_model_atomic(tiny_model, target, {"version": 2})
    assert target.read_bytes() == before
    assert json.loads(target.with_suffix(".json").read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.keras"]


def test_shipped_model_cannot_be_deleted_and_bad_ids_are_refused():
    store = ModelStore()
    with pytest.raises(ModelFileError, match="cannot be deleted"):
        store.delete_run(SHIPPED_ID)
    with pytest.raises(ModelFileError, match="not a valid run id"):
        store.get("../../etc")
    with pytest.raises(ModelFileError, match="no saved run"):
        store.set_active("20990101-nothing")


def test_damaged_files_give_clear_errors_and_a_safe_fallback(tmp_path):
    store = ModelStore()
    (store.root / "active.json").write_text("{not json")
    assert store.active_id() == SHIPPED_ID
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 this is not a whole zip")
    with pytest.raises(ModelFileError, match="broken.keras: damaged"):
        load_keras_model(broken)
    with pytest.raises(ModelFileError, match="not found"):
        load_keras_model(tmp_path / "absent.keras")


def test_where_a_model_cannot_be_written_is_said_before_any_work(tiny_model, tmp_path):
    assert "must end in .keras" in output_problem(tmp_path / "model.h5")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "cannot make its folder" in output_problem(blocker / "sub" / "model.keras")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    writable = output_problem(locked / "model.keras")
    fine = tmp_path / "new" / "deeper" / "model.keras"
    assert output_problem(fine) is None and fine.parent.is_dir()
    save_model_atomic(tiny_model, fine, {"test": None})
    assert fine.is_file()
    if os.geteuid() != 0:  # root writes anywhere: CI runs as root
        assert "cannot be written to" in writable
