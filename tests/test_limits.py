"""The rules of a public server without a browser: visitors' limits, pruning, ownership, retention, the
password gate and the API's rate limiter."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest

from dashboard.password import FREE_TRIES, PasswordGate
from dashboard.rate_limit import RateLimiter
from model.store import SHIPPED_ID, ModelFileError, ModelStore
from training.drawings import DrawingStore
from training.hyperparams import PRESETS, Hyperparams
from training.jobs import JobSpec, JobState
from training.limits import LimitExceeded, VisitorLimits, check_drawing, images_seen, prune_runs

QUICK = PRESETS["Quick"]


def visitor_job(owner: str = "browser-a", hyperparams: Hyperparams = QUICK, **kwargs) -> JobSpec:
    return JobSpec(hyperparams, "run", owner=owner, visitor=True, **kwargs)


def test_limits_come_from_the_environment_and_refuse_nonsense(monkeypatch):
    assert VisitorLimits.from_env() == VisitorLimits()
    monkeypatch.setenv("DIGITS_LIMIT_RUNS_PER_VISITOR", "5")
    assert VisitorLimits.from_env().runs_per_visitor == 5
    monkeypatch.setenv("DIGITS_LIMIT_API_PER_MINUTE", "lots")
    with pytest.raises(ValueError, match="DIGITS_LIMIT_API_PER_MINUTE must be a whole number"):
        VisitorLimits.from_env()


def test_twenty_jobs_from_one_visitor_queue_one_and_refuse_the_rest_clearly(queue):
    refused = []
    for _ in range(20):
        try:
            queue.submit(visitor_job())
        except LimitExceeded as exc:
            refused.append(str(exc))
    assert len(queue.jobs.active()) == 1 and len(refused) == 19
    assert "visitors may have 1 at a time" in refused[0]
    queue.submit(visitor_job(owner="browser-b"))  # another browser is not held up by the first one's run
    queue.submit(JobSpec(QUICK, "admin's"))  # nor is the admin (no visitor flag)
    queue.submit(JobSpec(QUICK, "admin's second"))
    assert len(queue.jobs.active()) == 4


def test_visitors_together_cannot_fill_the_queue_beyond_its_cap(queue):
    limits = VisitorLimits(visitor_jobs=3)
    for browser in "abc":
        queue.submit(visitor_job(owner=browser), limits)
    with pytest.raises(LimitExceeded, match="The training queue is full: 3 visitors' runs"):
        queue.submit(visitor_job(owner="d"), limits)
    queue.submit(JobSpec(QUICK, "admin's"), limits)
    assert len(queue.jobs.active()) == 4


def test_a_cancelled_or_finished_job_frees_the_visitor_s_place(queue):
    first = queue.submit(visitor_job())
    queue.cancel(first.id)
    assert queue.submit(visitor_job()).state == JobState.QUEUED


def test_runs_bigger_than_quick_are_refused_for_visitors_only(queue):
    best = PRESETS["Best"]
    assert images_seen(visitor_job(hyperparams=QUICK), 0) == 60_000
    with pytest.raises(LimitExceeded, match=r"would train on 1,200,000 images .* Quick preset fits"):
        queue.submit(visitor_job(hyperparams=best))
    assert queue.jobs.active() == []
    queue.submit(JobSpec(best, "admin's best"))
    assert len(queue.jobs.active()) == 1


def test_drawings_count_with_their_repeats(queue):
    store = DrawingStore(queue.root / "drawings.sqlite3")
    for _ in range(5):
        store.add(np.zeros((28, 28)), 3, owner="browser-a")
    spec = visitor_job(drawings_weight=10, drawings_owner="browser-a")
    assert images_seen(spec, 5) == 60_050
    with pytest.raises(LimitExceeded):
        queue.submit(spec)
    assert queue.submit(visitor_job(owner="browser-b", drawings_weight=10, drawings_owner="browser-b"))


def test_labelling_faster_than_the_limit_is_refused(tmp_path):
    limits = VisitorLimits(drawings_per_minute=20)
    store = DrawingStore(tmp_path / "drawings.sqlite3")
    kept = refused = 0
    for _ in range(100):  # 100 clicks within a second
        try:
            check_drawing(store.added_since("browser-a", 60), limits)
            store.add(np.zeros((28, 28)), 1, owner="browser-a")
            kept += 1
        except LimitExceeded as exc:
            refused += 1
            assert "visitors may label 20 a minute" in str(exc)
    assert (kept, refused) == (20, 80)
    assert store.count("browser-a") == 20 and store.added_since("browser-b", 60) == 0


def test_a_browser_sees_edits_and_deletes_only_its_own_drawings(tmp_path):
    store = DrawingStore(tmp_path / "drawings.sqlite3")
    mine = store.add(np.zeros((28, 28)), 1, owner="me")
    theirs = store.add(np.ones((28, 28)), 2, owner="them")
    assert [d.id for d in store.all("me")] == [mine] and store.count() == 2
    assert not store.delete(theirs, owner="me") and not store.relabel(theirs, 5, owner="me")
    assert store.all("them")[0].label == 2
    assert store.relabel(mine, 7, owner="me") and store.delete(mine, owner="me")
    assert store.count() == 1
    assert store.arrays("them")[1].tolist() == [2] and store.delete_all() == 1


def test_retention_deletes_old_drawings_when_the_store_opens(tmp_path, monkeypatch):
    path = tmp_path / "drawings.sqlite3"
    old = DrawingStore(path).add(np.zeros((28, 28)), 1)
    DrawingStore(path).add(np.zeros((28, 28)), 2)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE samples SET created = ? WHERE id = ?", (time.time() - 31 * 86400, old))
    assert DrawingStore(path).count() == 2  # no retention set: kept
    monkeypatch.setenv("DIGITS_DRAWINGS_RETENTION_DAYS", "30")
    assert [d.label for d in DrawingStore(path).all()] == [2]


def test_a_database_from_before_ownership_gains_the_column(tmp_path):
    path = tmp_path / "drawings.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, label INTEGER "
                   "NOT NULL, predicted INTEGER, probabilities BLOB, model TEXT, input BLOB NOT NULL, raw_png BLOB)")
        db.execute("INSERT INTO samples (created, label, input) VALUES (?, 4, ?)", (time.time(), bytes(784)))
    store = DrawingStore(path)
    assert [(d.label, d.owner) for d in store.all()] == [(4, None)] and store.count("someone") == 0


@pytest.fixture(scope="module")
def tiny_model():
    from model.network import build_classifier

    return build_classifier(Hyperparams(conv_blocks=1, filters=4, dense_units=8).network)


def test_visitors_runs_are_pruned_oldest_first_never_the_default_or_an_admin_s(tiny_model, tmp_path):
    store = ModelStore(tmp_path)
    admin_run = store.save_run(tiny_model, {"owner": "admin"}, name="admin")
    runs = [store.save_run(tiny_model, {"owner": "a", "visitor": True}, name=f"a{i}") for i in range(4)]
    store.set_active(runs[0].id)  # the oldest of a's, but the server's default
    other = store.save_run(tiny_model, {"owner": "b", "visitor": True}, name="b")
    pruned = prune_runs(store, VisitorLimits(runs_per_visitor=2))
    assert pruned == [runs[1].id]  # a keeps its 2 newest; the default is not counted against anyone
    left = {m.id for m in store.runs()}
    assert {admin_run.id, runs[0].id, runs[2].id, runs[3].id, other.id} == left
    size = sum(f.stat().st_size for f in runs[3].path.parent.iterdir())
    pruned = prune_runs(store, VisitorLimits(runs_per_visitor=2, runs_disk_mb=0))  # no room at all
    assert set(pruned) == {runs[2].id, runs[3].id, other.id} and size > 0
    assert {m.id for m in store.all()} == {SHIPPED_ID, admin_run.id, runs[0].id}


@pytest.mark.parametrize("model_id", ["../escape", "../../etc/passwd", "..", "a/../../b", "/etc", "run\x00", ""])
def test_model_ids_cannot_reach_outside_the_runs_folder(model_id, tmp_path):
    store = ModelStore(tmp_path)
    for action in (store.model_path, store.get, store.set_active, store.delete_run):
        with pytest.raises(ModelFileError, match="not a valid run id|no saved run"):
            action(model_id)
    assert store.active_id() == SHIPPED_ID and not (tmp_path / "active.json").exists()


def test_the_password_gate_slows_down_after_a_few_wrong_tries():
    gate = PasswordGate("correct horse")
    assert gate.check("10.0.0.1", "correct horse") and gate.wait_s("10.0.0.1") == 0
    for _ in range(FREE_TRIES - 1):
        assert not gate.check("10.0.0.2", "guess")
    assert gate.wait_s("10.0.0.2") == 0
    assert not gate.check("10.0.0.2", "guess")
    assert 0 < gate.wait_s("10.0.0.2") <= 1
    assert not gate.check("10.0.0.2", "correct horse"), "while it must wait, even the right password is refused"
    assert gate.check("10.0.0.3", "correct horse"), "other clients are not held up"
    time.sleep(gate.wait_s("10.0.0.2") + 0.01)
    assert not gate.check("10.0.0.2", "guess again")
    assert 1 < gate.wait_s("10.0.0.2") <= 2, "each further wrong try doubles the wait"


def test_the_rate_limiter_counts_per_client_per_minute():
    limiter = RateLimiter(per_minute=3)
    assert [limiter.wait_s("a") for _ in range(3)] == [0, 0, 0]
    assert 59 < limiter.wait_s("a") <= 60 and limiter.wait_s("b") == 0


def test_who_is_admin_follows_the_configured_credential(monkeypatch):
    """The mode table of README "On the internet", without a browser (the login itself needs an identity provider)."""
    from dashboard import access

    secrets: dict[str, object] = {}
    monkeypatch.setattr(access, "_secret", secrets.get)
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    monkeypatch.delenv(access.EMAILS_ENV, raising=False)
    monkeypatch.setattr(access, "client_is_local", lambda: True)
    assert access.mode() == access.Mode.LOCAL and not access.credential_configured()
    monkeypatch.setattr(access, "client_is_local", lambda: False)
    assert access.mode() == access.Mode.LOCKED
    secrets.update(auth={"client_id": "x"}, admin_emails=["Teacher@School.example", " "])
    assert access.mode() == access.Mode.LOGIN and access.admin_emails() == {"teacher@school.example"}
    assert access.credential_configured()
    monkeypatch.setenv(access.PASSWORD_ENV, "pw")
    assert access.mode() == access.Mode.PASSWORD
