"""Train page: retrain the network with your own settings, watch it learn, keep and compare what you trained."""

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import access, session, snapshots
from dashboard.charts import digit_bars, line_chart
from dashboard.hyperparam_widgets import ARCHITECTURE_NAMES, hyperparam_inputs
from dashboard.identity import browser_id
from dashboard.pictures import tile_grid
from dashboard.user_text import literal
from model.model_file import MAX_MODEL_BYTES
from model.store import ModelFileError, ModelInfo
from training import finetune
from training.class_signal import ClassSignal
from training.drawings import REPEAT
from training.hyperparams import PRESETS, HyperparamError, Hyperparams
from training.jobs import JobError, JobRecord, JobSpec, JobState
from training.limits import LimitExceeded
from training.loop import Progress, learning_curve
from training.runs import MAX_MNIST_DROP_TEXT, FineTuneReport, RunRecord, hyperparams_of
from training.snapshots import encode_probe
from training.uploads import add_uploaded_model

ADMIN_ONLY = "Only the admin can change the server's default (see Admin at the top of the page)"
OTHERS_RUN = "Someone else's run: only they or the admin can change it"
UPLOADED_KEY = "train_uploaded"  # the message for a model just added, shown where it was uploaded
MESSAGE_KEY = "train_message"  # a (kind, text) message for the next run of the page, left by a button's callback
ARCHITECTURE_HELP = ("MLP: dense layers only, it sees 784 unrelated pixels. LeNet-5: the classic 1998 convolutional "
                     "network. CNN: this project's conv blocks (the shipped model). Train one of each on the same "
                     "settings and compare them below.")
PROBE_NOTE = ("Watch it learn follows the digit last drawn or uploaded in this browser as the run learns (it is kept "
              "with the run, and everyone watching the run sees it), else an MNIST test digit.")
PRESET_NOTES = {
    "Quick": "Quick: one pass over the 60,000 MNIST training images with a one-cycle learning rate and label "
             "smoothing — 99.2–99.4 % test accuracy on full MNIST in about 40 seconds in the training worker of a "
             "2-core server (which leaves a core to drawing; about 22 s from the command line).",
    "Best": "Best: the settings the shipped model was first trained with (about 40 minutes on a 2-core CPU).",
}

GIVING_WAY = (":material/pause_circle: Giving way to a class drawing on this server: the run pauses while "
              "strokes queue for an answer, and goes on by itself when they clear.")
GIVING_WAY_WHY = ("Drawing comes first: with hundreds of students on one small server, training between their strokes "
                  "makes every answer slower.")

queue = session.training_queue()
data = session.mnist()
active_at_start = queue.jobs.active()
admin = access.is_admin()
me = browser_id()


def mine(owner: str | None) -> bool:
    """May this session stop, cancel, keep or delete what ``owner`` made? The admin may, for anyone's."""
    return access.is_admin() or (owner is not None and owner == me)


def submit(spec: JobSpec) -> None:
    """Queue a run as this browser's, watched through this session's drawing if it has one; a visitor's is held to
    the visitors' limits."""
    drawing = session.current_model_input()
    try:
        queue.submit(replace(spec, owner=me, visitor=not access.is_admin(), drawings_owner=session.drawings_owner(),
                             probe=None if drawing is None else encode_probe(drawing)), access.limits())
    except (HyperparamError, LimitExceeded) as exc:
        st.session_state[MESSAGE_KEY] = ("error", str(exc))


def act_on_job(action, job: JobRecord) -> None:
    """Stop, cancel, keep or discard; someone else (or a double click) may have got there first: say so."""
    if not mine(job.spec.owner):
        st.session_state[MESSAGE_KEY] = ("error", "Only the admin can change someone else's run.")
        return
    try:
        action(job.id)
    except (JobError, ModelFileError) as exc:
        st.session_state[MESSAGE_KEY] = ("warning", str(exc))


# ---------------------------------------------------------------- settings
def whose_drawings() -> str:
    return "everyone's drawings" if access.is_admin() and access.mode() != access.Mode.LOCAL else "my drawings"


def settings(drawing_count: int) -> None:
    """The preset, every knob, a name and whether to mix in the drawings: Start queues a run."""
    with st.expander("Settings", icon=":material/tune:", expanded=not active_at_start):
        preset_col, architecture_col = st.columns(2)
        preset = preset_col.segmented_control("Preset", list(PRESETS), default="Quick", key="train_preset") or "Quick"
        architecture = architecture_col.segmented_control(
            "Architecture", list(ARCHITECTURE_NAMES), default="cnn", key="train_architecture",
            format_func=ARCHITECTURE_NAMES.get, help=ARCHITECTURE_HELP) or "cnn"
        st.caption(PRESET_NOTES[preset])
        limits = access.limits()
        if limits is not None:
            st.caption(f"As a visitor you can have {limits.jobs_per_visitor} run at a time of up to "
                       f"{limits.images_per_run:,} training images (epochs × images: the Quick preset); your "
                       f"{limits.runs_per_visitor} newest runs are kept.")
        with st.form("train_form", border=False, enter_to_submit=False):  # Enter in a field must not start a run
            values = hyperparam_inputs(replace(PRESETS[preset], architecture=architecture), key_prefix=f"hp-{preset}",
                                       most={"train_size": len(data.x_train)})
            name_col, include_col, weight_col = st.columns([2, 2, 1])
            name = name_col.text_input("Run name", "run", max_chars=40, key="train_name") or "run"
            include = include_col.toggle(f"Include {whose_drawings()} ({drawing_count})", key="train_include",
                                         disabled=drawing_count == 0,
                                         help="Mix the drawings labelled on the Draw page into the training set")
            weight = weight_col.number_input("Repeat each", 1, 100, REPEAT, key="train_weight",
                                             help="How many times each drawing is shown per epoch")
            label = "Add to the queue" if active_at_start else "Start training"
            submitted = st.form_submit_button(label, icon=":material/play_arrow:", type="primary")
            st.caption(PROBE_NOTE)
        if submitted:
            submit(JobSpec(Hyperparams(**values), name, drawings_weight=weight if include else None))
            st.rerun()


def fine_tuning(drawing_count: int) -> None:
    """Fine-tune the model this browser uses on the labelled drawings."""
    with st.expander(f"Learn from {whose_drawings()} ({drawing_count})", icon=":material/school:"):
        base = session.store().get(session.current_model_id())
        st.markdown(f"Fine-tune **{base.id}** (the model this browser uses) for {finetune.EPOCHS} epochs on "
                    f"{whose_drawings()} (each repeated ×{REPEAT}) mixed with {finetune.MNIST_IMAGES:,} MNIST images. "
                    "A quarter of the drawings is held out to show what it learned; MNIST test accuracy shows what "
                    "it cost.")
        if drawing_count < 4:
            st.caption("Label at least 4 drawings on the Draw page first (Right / Wrong — it's a …).")
        elif st.button("Fine-tune on my drawings", icon=":material/auto_fix_high:"):
            submit(JobSpec(hyperparams_of(base.meta), f"{base.id[:24]}-fine-tuned", drawings_weight=REPEAT,
                           fine_tune_from=base.id))
            st.rerun()


def pending_message() -> None:
    kind, text = st.session_state.pop(MESSAGE_KEY, (None, None))
    if kind:
        getattr(st, kind)(text)


# ---------------------------------------------------------------- live progress and the queue
def curves(progress: list[Progress], metric: str) -> pd.DataFrame:
    return pd.DataFrame(learning_curve(progress, metric), columns=["epoch", metric, "curve"])


def show_progress(progress: list[Progress]) -> None:
    if not progress:
        st.progress(0.0, text="Preparing the data and the network…")
        return
    latest = progress[-1]
    eta = f"{latest.eta_s // 60:.0f} min {latest.eta_s % 60:.0f} s" if np.isfinite(latest.eta_s) else "—"
    st.progress(min(latest.fraction, 1.0), text=f"Epoch {latest.epoch}/{latest.epochs} · batch {latest.step}/"
                f"{latest.steps_per_epoch} · {latest.images_per_second:,.0f} images/s · ETA {eta}")
    for column, metric in zip(st.columns(2), ("loss", "accuracy")):
        line_chart(curves(progress, metric), "epoch", metric, height=240, color="curve", where=column)


def show_running(job: JobRecord) -> None:
    st.subheader(f"Run “{literal(job.spec.name)}”: {job.state}")
    show_progress(queue.jobs.progress(job.id))
    if ClassSignal(queue.root).busy():
        st.caption(GIVING_WAY, help=GIVING_WAY_WHY)
    snapshots.live(queue.jobs, job)
    if job.stop_requested:
        st.info("Stopping after the current batch…", icon=":material/stop_circle:")
    else:
        st.button("Stop", icon=":material/stop:", on_click=act_on_job, args=(queue.stop, job), key=f"stop-{job.id}",
                  disabled=not mine(job.spec.owner), help=None if mine(job.spec.owner) else OTHERS_RUN)


def show_waiting(waiting: list[JobRecord]) -> None:
    """The queue, in the order it will run, each with its place and a Cancel button."""
    st.markdown(f"**Waiting in the queue ({len(waiting)})**")
    for place, job in enumerate(waiting, start=1):
        text, cancel = st.columns([6, 1], vertical_alignment="center")
        hp = job.spec.hyperparams
        text.markdown(f"Place {place}: **{literal(job.spec.name)}** — {hp.epochs} epoch(s) × {hp.train_size:,} images"
                      + (", fine-tuning" if job.spec.fine_tune_from else ""))
        cancel.button("Cancel", key=f"cancel-{job.id}", on_click=act_on_job, args=(queue.cancel, job),
                      disabled=not mine(job.spec.owner), help=None if mine(job.spec.owner) else OTHERS_RUN)


@st.fragment(run_every=1.0 if active_at_start else 3.0)
def live() -> None:
    """What the worker is doing now, read from the job records: every second while anything is queued or
    running, every few seconds otherwise (so a run started by someone else shows up here too)."""
    active = queue.jobs.active()
    running = [job for job in active if job.state == JobState.RUNNING]
    waiting = [job for job in active if job.state == JobState.QUEUED]
    for job in running:
        show_running(job)
    if waiting:
        show_waiting(waiting)
        if not running:
            st.caption("Waiting for the training worker to start…")
            queue.ensure_worker()
    if [job.id for job in active] != [job.id for job in active_at_start]:
        st.rerun()  # a run started, ended or left the queue: redraw the whole page (settings, results)


# ---------------------------------------------------------------- results of the last run
def show_results(job: JobRecord) -> None:
    st.subheader(f"Run “{literal(job.spec.name)}”: {job.state}")
    if job.state == JobState.FAILED:
        st.error(f"The run failed: {job.error}", icon=":material/error:")
        return
    outcome = job.outcome
    if outcome is None:
        return
    test = outcome.test
    cols = st.columns(4)
    cols[0].metric("Test accuracy", f"{test.accuracy:.2%}")
    cols[1].metric("Test loss", f"{test.loss:.4f}")
    cols[2].metric("Training time", f"{outcome.seconds:.0f} s")
    cols[3].metric("Speed", f"{outcome.images_per_second:,.0f} img/s")
    if outcome.report is not None:
        show_fine_tuning_report(outcome.report)
    if job.state == JobState.STOPPED:
        ask_keep_or_discard(job)
    elif outcome.saved is not None and session.store().exists(outcome.saved):
        st.success(f"Saved as **{outcome.saved}** — pick it in the table below to use it.", icon=":material/save:")
    elif outcome.saved is not None:
        st.info(f"It was saved as **{outcome.saved}**, which has since been deleted.", icon=":material/delete:")
    snapshots.replay(queue.jobs, job)
    left, right = st.columns(2)
    left.markdown("**Per-class test accuracy**")
    digit_bars(test.per_class_accuracy, "accuracy", height=260, where=left, percent=True)
    right.markdown("**Confusion matrix** (rows: true digit, columns: predicted)")
    confusion = pd.DataFrame(test.confusion, index=range(10), columns=range(10))
    right.dataframe(confusion.style.background_gradient(cmap="Blues", axis=None), height=390,
                    column_config={str(d): st.column_config.NumberColumn(width=40) for d in range(10)})
    if outcome.mistakes and outcome.test_images == len(data.y_test):  # the worker's MNIST is the page's
        shown = outcome.mistakes[:48]
        tiles = np.repeat(data.x_test[[i for i, _ in shown]][..., None], 3, axis=3)
        st.image(tile_grid(tiles, [f"{data.y_test[i]}>{p}" for i, p in shown], columns=16, tile_px=56),
                 caption=f"Misclassified test digits (true>predicted), {len(shown)} of {len(outcome.mistakes)}")


def show_fine_tuning_report(report: FineTuneReport) -> None:
    st.markdown("**Fine-tuning: before → after**")
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame([
        {"measured on": f"held-out drawings ({report.held_out})", "before": report.drawings_before,
         "after": report.drawings_after},
        {"measured on": "MNIST test set", "before": report.mnist_before, "after": report.mnist_after},
    ]), hide_index=True, column_config={"before": percent, "after": percent})
    if report.flagged:
        st.warning(f"MNIST test accuracy fell by more than {MAX_MNIST_DROP_TEXT}: this model reads your style "
                   "better but MNIST worse. It is saved, but will only become the default if you confirm.",
                   icon=":material/warning:")


def ask_keep_or_discard(job: JobRecord, named: bool = False) -> None:
    """A stopped run's partial model waits, unlisted, until someone keeps or discards it."""
    run = f"“{literal(job.spec.name)}” was stopped after" if named else "Stopped after"
    st.warning(f"{run} {job.outcome.epochs_completed} full epoch(s) ({job.outcome.test.accuracy:.2%} test accuracy). "
               "Keep the partial model?", icon=":material/pause_circle:")
    keep, discard = st.columns([1, 6])
    allowed = mine(job.spec.owner)
    keep.button("Keep it", on_click=act_on_job, args=(queue.keep_partial, job), type="primary", key=f"keep-{job.id}",
                disabled=not allowed)
    discard.button("Discard", on_click=act_on_job, args=(queue.discard_partial, job), key=f"discard-{job.id}",
                   disabled=not allowed)


def results() -> None:
    """The last run that ended (a visitor's own), and a Keep/Discard for runs stopped while others waited."""
    owner = None if access.is_admin() else me
    latest = queue.jobs.latest(owner)
    if latest is not None:
        show_results(latest)
    for earlier in queue.jobs.stopped(owner):  # the worker moved on, the decision did not
        if latest is None or earlier.id != latest.id:
            ask_keep_or_discard(earlier, named=True)


# ---------------------------------------------------------------- saved models
def models_table(models: list[ModelInfo], records: dict[str, RunRecord]) -> None:
    """Every saved model, one row each; what was not measured for a model is a dash."""
    active, in_use = session.store().active_id(), session.current_model_id()
    frame = pd.DataFrame([{
        "model": m.id,
        "by": "you" if records[m.id].owner == me else "",
        "status": ", ".join(s for s, on in (("server default", m.id == active), ("in use here", m.id == in_use)) if on),
        "architecture": f"uploaded: {records[m.id].uploaded}" if records[m.id].uploaded
                        else ARCHITECTURE_NAMES[records[m.id].hyperparams.architecture],
        "test accuracy": m.test_accuracy,
        # beside the accuracy: a run on the bundled sample is tested on its 2,000 test images, not MNIST's 10,000
        "MNIST": None if records[m.id].data is None else "full" if records[m.id].data.full_mnist else "sample",
        "writing styles": records[m.id].benchmark_accuracy("styles"),
        "other writers": records[m.id].benchmark_accuracy("uci_digits"),
        "epochs": records[m.id].epochs_completed,
        "parameters": records[m.id].parameters,
        "training s": records[m.id].train_seconds,
        "created": records[m.id].created,
    } for m in models])
    shares = ["test accuracy", "writing styles", "other writers"]
    formats = {column: "{:.2%}" for column in shares} | {"training s": "{:,.0f}"}  # one call: a second resets
    st.dataframe(frame.style.format(formats, na_rep="—"), hide_index=True,
                 column_config={
                     "MNIST": st.column_config.TextColumn(
                         help="What the test accuracy was measured on, and a run trained on: the full MNIST "
                              "(10,000 test images) or the bundled sample (2,000)"),
                     "writing styles": st.column_config.NumberColumn(
                         help="Drawings in the writing styles of bench.styles, where measured"),
                     "other writers": st.column_config.NumberColumn(
                         help="Real handwriting of writers MNIST never had: UCI's forms (bench.uci_digits), "
                              "where measured")})


def compare_curves(records: dict[str, RunRecord]) -> None:
    compared = st.multiselect("Compare the training curves of", list(records), default=list(records)[:2],
                              key="compare")
    points = pd.DataFrame([{"epoch": row.epoch, "training accuracy": row.accuracy, "model": model_id}
                           for model_id in compared for row in records[model_id].history])
    if not points.empty:
        line_chart(points, "epoch", "training accuracy", height=240, color="model")
    for model_id in (m for m in compared if not records[m].history):
        record = records[model_id]
        why = ("it was trained elsewhere and uploaded" if record.uploaded else
               f"it is the mean of {len(record.averaged_from)} trained models' weights (python -m training.average)"
               if record.averaged_from else "its run kept none")
        st.caption(f"**{literal(model_id)}** has no training curves: {why}.")
    per_class = pd.DataFrame({model_id: records[model_id].test.per_class_accuracy for model_id in compared
                              if records[model_id].test is not None}, index=[str(d) for d in range(10)]).T
    if not per_class.empty:
        st.markdown("**Per-class test accuracy of the compared models**")
        st.dataframe(per_class, column_config={d: st.column_config.NumberColumn(format="percent") for d in per_class})


def deletion_refused(model: ModelInfo, record: RunRecord) -> str | None:
    """Why this session may not delete ``model``; None if it may (the admin any run, a visitor their own run
    unless it is what everyone gets)."""
    if model.is_shipped:
        return "The shipped model cannot be deleted"
    if access.is_admin():
        return None
    if not mine(record.owner):
        return "Only the admin can delete someone else's model"
    if model.id == session.store().active_id():
        return "It is the server's default: only the admin can delete it"
    return None


def model_actions(model: ModelInfo, record: RunRecord) -> None:
    """Use in this browser (anyone); make the server's default (the admin); download; delete (the admin, or a
    visitor their own run)."""
    store = session.store()
    use, default, download, delete = st.columns(4)
    if use.button("Use this model", icon=":material/check_circle:", help="Draw and Inspect in this browser use it"):
        st.session_state[session.MODEL_KEY] = model.id
        st.rerun()
    confirmed = not record.flagged or st.checkbox(f"This fine-tuned model lost more than {MAX_MNIST_DROP_TEXT} of "
                                                  "MNIST test accuracy; make it the default anyway",
                                                  key=f"confirm-{model.id}")
    if default.button("Set as default", icon=":material/star:", disabled=not (admin and confirmed),
                      help="Every new session on this server uses it" if admin else ADMIN_ONLY):
        if access.is_admin():
            store.set_active(model.id)
        st.rerun()
    download.download_button("Download .keras", model.path.read_bytes(), file_name=f"{model.id}.keras",
                             icon=":material/download:")
    why_not = deletion_refused(model, record)
    if delete.button("Delete", icon=":material/delete:", disabled=why_not is not None, help=why_not):
        try:
            refused = deletion_refused(model, record)  # asked again: the role may have changed since it was drawn
            if refused:
                raise ModelFileError(refused)
            store.delete_run(model.id)
            if st.session_state.get(session.MODEL_KEY) == model.id:
                st.session_state.pop(session.MODEL_KEY)
        except ModelFileError as exc:
            st.session_state[MESSAGE_KEY] = ("error", str(exc))
        st.rerun()


def upload_model() -> None:
    """Bring your own model: a .keras file trained elsewhere, checked (no code from it runs), scored on the MNIST
    test set and saved as a run of this browser's (a visitor's counts against their limits)."""
    with st.expander("Add a model trained elsewhere (.keras)", icon=":material/upload_file:"):
        st.caption(f"A Keras 3 `.keras` file of built-in layers only (no Lambda or custom layers: nothing in the file "
                   f"is run), taking 28×28 or 28×28×1 images in [0, 1] and ending in a softmax over 10 digits; up to "
                   f"{MAX_MODEL_BYTES // 2**20} MB. It is checked, scored on the MNIST test set, and then works like "
                   "any run: Draw, Inspect and Experiment can use it." + ("" if admin else
                   " It is yours, kept like your runs (the oldest go past the visitors' limit); only the admin can "
                   "make it the server's default."))
        if UPLOADED_KEY in st.session_state:
            st.success(st.session_state.pop(UPLOADED_KEY), icon=":material/check:")
        uploads = st.session_state.setdefault("model_uploads", 0)  # a new uploader once a file is added
        upload = st.file_uploader("Model file", type=["keras"], key=f"model_upload_{uploads}",
                                  max_upload_size=MAX_MODEL_BYTES // 2**20)
        if upload is None or not st.button("Add this model", icon=":material/add:", key="model_add"):
            return
        with tempfile.TemporaryDirectory(dir=session.store().root if session.store().root.is_dir() else None) as tmp:
            path = Path(tmp) / "upload.keras"
            path.write_bytes(upload.getvalue())
            try:
                with st.spinner("Checking the model (in a separate process) and scoring it on the MNIST test set…"):
                    info = add_uploaded_model(session.store(), path, upload.name, data, owner=me,
                                              limits=access.limits())
            except ModelFileError as exc:
                st.error(f"That model was not added: {literal(str(exc))}", icon=":material/block:")
                return
        st.session_state[UPLOADED_KEY] = (f"Added {literal(upload.name)} as **{literal(info.id)}**: "
                                          f"{info.test_accuracy:.2%} on the MNIST test set. Pick it under Model to "
                                          "use it.")
        st.session_state["model_uploads"] = uploads + 1
        st.rerun()


def saved_models() -> None:
    st.subheader("Saved models")
    models = session.store().all()
    records = {m.id: RunRecord.from_dict(m.meta) for m in models}
    models_table(models, records)
    compare_curves(records)
    by_id = {m.id: m for m in models}
    chosen = st.selectbox("Model", list(by_id), index=min(1, len(models) - 1), key="model_actions",
                          format_func=lambda m: f"{m} ({by_id[m].test_accuracy:.2%})" if by_id[m].test_accuracy
                          else m)
    model_actions(by_id[chosen], records[chosen])
    upload_model()
    st.caption(f"Draw and Inspect in this browser use **{session.current_model_id()}**; new sessions on this "
               f"server use **{session.store().active_id()}**.")


# ---------------------------------------------------------------- the page
st.title("Train")
st.caption("Train a network on MNIST — an MLP, LeNet-5 or a CNN — with your own settings and watch it learn. Runs "
           "wait their turn in a queue and train in a separate worker process, so drawing stays fast for everyone. "
           "Every finished run is kept below, where you can compare runs and switch the Draw and Inspect pages to one.")
(st.success if data.is_full else st.warning)(data.notice, icon=":material/dataset:")
access.admin_controls()
drawing_count = session.drawings().count(session.drawings_owner())
settings(drawing_count)
fine_tuning(drawing_count)
pending_message()
live()
results()
saved_models()
