"""A public server: visitors and the admin on the pages (AppTest), the judged flow in Chromium, and the
attack list — each attack gets its clear message and nothing is lost."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request

import numpy as np
import pytest

from dashboard import access
from dashboard.session import INPUT_KEY, MODEL_KEY, CurrentInput
from harness.browser import running_app
from harness.synthetic_drawings import PLACES, stroke_digit
from model.store import SHIPPED_ID, ModelStore
from training.drawings import DrawingStore
from training.hyperparams import Hyperparams

VISITOR = "visitor-browser-0001"
_passwords = itertools.count()


@pytest.fixture
def password(monkeypatch) -> str:
    """A fresh admin password for each test (wrong tries are counted per password, per server process)."""
    value = f"pw-{next(_passwords)}-correct horse battery"
    monkeypatch.setenv(access.PASSWORD_ENV, value)
    return value


@pytest.fixture(scope="module")
def tiny_model():
    from model.network import build_classifier

    return build_classifier(Hyperparams(conv_blocks=1, filters=4, dense_units=8).network)


def train_page(open_page):
    at = open_page("train", run=False)
    at.session_state["browser_id"] = VISITOR  # (no cookie under AppTest: the session's id stands in)
    at.run()
    assert not at.exception
    return at


def button(at, label: str):
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, f"one {label!r} button expected, found {len(found)}"
    return found[0]


def type_password(at, text: str):
    [field] = [t for t in at.text_input if t.label == "Admin password"]
    field.input(text).run()
    return at


def test_a_visitor_cannot_set_the_default_or_delete_until_the_password_is_typed(open_page, password, tiny_model):
    store = ModelStore()
    run = store.save_run(tiny_model, {}, name="someone-elses")
    at = train_page(open_page)
    assert button(at, "Set as default").disabled and button(at, "Delete").disabled  # (Streamlit also ignores
    # a forged click on a disabled widget, server-side, and the actions check the role again)
    assert store.active_id() == SHIPPED_ID and [m.id for m in store.runs()] == [run.id]
    type_password(at, password)
    assert not at.exception and not [t for t in at.text_input if t.label == "Admin password"]
    assert not button(at, "Set as default").disabled and not button(at, "Delete").disabled
    assert password not in json.dumps({k: str(at.session_state[k]) for k in at.session_state})
    button(at, "Set as default").click().run()
    assert store.active_id() == run.id
    button(at, "Lock").click().run()
    assert button(at, "Set as default").disabled


def test_wrong_passwords_get_slower(open_page, password):
    at = train_page(open_page)
    messages = [type_password(at, f"guess {i}").error[0].value for i in range(4)]
    assert messages[0] == "Wrong password."
    assert messages[2].startswith("Wrong password. Try again in")
    assert messages[3].startswith("Too many wrong passwords: try again in")
    type_password(at, password)  # still within the wait: refused even though it is right
    assert button(at, "Set as default").disabled


def test_a_visitor_deletes_their_own_run_but_not_the_shipped_model(open_page, password, tiny_model):
    store = ModelStore()
    mine = store.save_run(tiny_model, {"owner": VISITOR, "visitor": True}, name="mine")
    at = train_page(open_page)
    assert at.selectbox(key="model_actions").value == mine.id
    assert not button(at, "Delete").disabled
    [table] = [d.value for d in at.dataframe if "by" in d.value.columns]
    assert table.loc[table["model"] == mine.id, "by"].item() == "you"
    store.set_active(mine.id)  # made everyone's default by the admin: no longer the visitor's to delete
    at.run()
    assert button(at, "Delete").disabled and "server's default" in button(at, "Delete").help
    store.set_active("default")
    at.run()
    button(at, "Delete").click().run()
    assert store.runs() == [] and not at.exception
    assert at.selectbox(key="model_actions").value == SHIPPED_ID and button(at, "Delete").disabled


def test_a_visitor_s_big_run_is_refused_with_the_limit_and_nothing_is_queued(open_page, password):
    at = train_page(open_page)
    at.segmented_control(key="train_preset").set_value("Best").run()
    at.button[[b.label for b in at.button].index("Start training")].click().run()
    assert any("visitors may train on 60,000 per run" in e.value for e in at.error)
    from training.queue import TrainingQueue

    assert TrainingQueue().jobs.active() == []


def test_without_a_password_a_remote_visitor_is_locked_out_and_told_how_to_unlock(open_page, monkeypatch, tiny_model):
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    monkeypatch.setattr(access, "client_is_local", lambda: False)  # as if the browser were on another machine
    ModelStore().save_run(tiny_model, {}, name="a-run")
    at = train_page(open_page)
    assert button(at, "Set as default").disabled and button(at, "Delete").disabled
    assert any(access.PASSWORD_ENV in i.value for i in at.info)


def test_on_its_own_machine_without_a_password_everything_is_allowed(open_page, monkeypatch, tiny_model):
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    ModelStore().save_run(tiny_model, {}, name="a-run")
    at = train_page(open_page)
    assert not button(at, "Set as default").disabled and not button(at, "Delete").disabled
    assert not [e for e in at.expander if e.label.startswith("Admin")]


def my_drawings_with_someone_else_s(open_page):
    """My drawings as the visitor, with one drawing of theirs and one of another browser's in the store."""
    store = DrawingStore()
    store.add(np.zeros((28, 28)), 1, owner=VISITOR)
    store.add(np.zeros((28, 28)), 2, owner="somebody-else-00001")
    at = open_page("drawings", run=False)
    at.session_state["browser_id"] = VISITOR
    at.run()
    return at, store


def test_my_drawings_shows_a_visitor_only_their_own_and_the_admin_everyone_s(open_page, password):
    at, _ = my_drawings_with_someone_else_s(open_page)
    assert at.metric[0].value == "1"
    at.session_state[access.ADMIN_KEY] = True
    at.run()
    assert at.metric[0].value == "2"


def test_a_model_id_with_dots_and_slashes_falls_back_to_the_shipped_model(open_page):
    at = open_page("draw", run=False)
    at.session_state[MODEL_KEY] = "../../../etc/passwd"
    at.session_state[INPUT_KEY] = CurrentInput(stroke_digit(3), "canvas")
    at.run()
    assert not at.exception
    assert any("is not a valid run id" in w.value for w in at.warning)
    assert at.metric[0].value == "3" and at.session_state[MODEL_KEY] == SHIPPED_ID


def test_labelling_a_hundred_times_a_second_keeps_only_the_visitor_s_allowance(open_page, password):
    at = open_page("draw", run=False)
    at.session_state["browser_id"] = VISITOR
    warnings = set()
    for i in range(100):
        drawing = stroke_digit(i % 10, place=list(PLACES)[i % len(PLACES)])
        at.session_state[INPUT_KEY] = CurrentInput(drawing, "canvas")
        at.run()
        for right in [b for b in at.button if b.key == "label_right"]:  # (absent for a drawing just kept)
            warnings |= {w.value for w in right.click().run().warning}
    assert DrawingStore().count(VISITOR) == 20
    assert len(warnings) == 1 and "visitors may label 20 a minute" in warnings.pop()


# ---------------------------------------------------------------- the real server and Chromium
@pytest.fixture(scope="module")
def public_url(tmp_path_factory):
    env = {"DIGITS_DATA_DIR": str(tmp_path_factory.mktemp("public-data")),
           access.PASSWORD_ENV: "let me in, please", "DIGITS_LIMIT_API_PER_MINUTE": "5"}
    with running_app(env) as url:
        yield url


def test_chromium_visitor_then_admin_on_the_train_page(browser, public_url):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(f"{public_url}/train")
    default = page.get_by_role("button", name="Set as default")
    expect(default).to_be_disabled(timeout=60_000)
    expect(page.get_by_role("button", name="Delete", exact=True)).to_be_disabled()
    cookie = [c for c in context.cookies() if c["name"] == "digits_browser"]
    assert cookie and cookie[0]["httpOnly"], "the browser got its id, out of reach of page scripts"
    field = page.get_by_label("Admin password", exact=True)
    expect(field).to_have_attribute("type", "password")
    field.fill("not it")
    field.press("Enter")
    expect(page.get_by_text("Wrong password.")).to_be_visible(timeout=30_000)
    page.get_by_label("Admin password", exact=True).fill("let me in, please")
    page.get_by_label("Admin password", exact=True).press("Enter")
    expect(default).to_be_enabled(timeout=30_000)
    assert "please" not in page.url
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()


def test_the_api_answers_too_many_requests_with_retry_after(public_url):
    def post() -> tuple[int, dict, str | None]:
        request = urllib.request.Request(f"{public_url}/api/predict", data=b"not an image", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read()), None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers.get("Retry-After")

    answers = [post() for _ in range(6)]
    assert [a[0] for a in answers] == [422] * 5 + [429]
    assert "at most 5 per minute per client" in answers[5][1]["error"] and int(answers[5][2]) >= 1


def test_a_visitor_s_delete_all_takes_only_their_own_drawings(open_page, password):
    at, store = my_drawings_with_someone_else_s(open_page)
    assert button(at, "Delete all my drawings").disabled, "armed by the checkbox first"
    at.checkbox(key="delete_all_sure").check().run()
    button(at, "Delete all my drawings").click().run()
    assert not at.exception
    assert [d.owner for d in store.all()] == ["somebody-else-00001"]


def test_a_visitor_sees_their_own_last_run_not_someone_else_s(open_page, password):
    from training.jobs import JobOutcome, JobSpec, JobState, JobStore
    from training.metrics import Evaluation

    jobs, test = JobStore(), Evaluation(0.9, 0.3, [0.9] * 10, np.eye(10, dtype=int).tolist(), 10)
    for owner, name in ((VISITOR, "mine"), ("somebody-else-00001", "theirs")):  # theirs ends last
        job = jobs.add(JobSpec(Hyperparams(), name, owner=owner, visitor=True))
        jobs.claim(job.id, "test")
        jobs.end(job.id, JobState.FINISHED, JobOutcome(test, 1.0, 100.0, 1, saved="20260101-000000-gone"))
    at = train_page(open_page)
    assert [h.value for h in at.subheader if h.value.startswith("Run ")] == ["Run “mine”: finished"]
    assert any("has since been deleted" in i.value for i in at.info)
