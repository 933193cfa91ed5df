"""Train page: retrain the CNN with your own settings, watch it learn, keep and compare what you trained."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import session
from dashboard.hyperparam_widgets import hyperparam_inputs
from dashboard.pictures import tile_grid
from model.store import ModelFileError
from training import finetune
from training.hyperparams import PRESETS, HyperparamError, Hyperparams
from training.jobs import Job, JobBusy
from training.trainer import ExtraImages

st.title("Train")
st.caption("Retrain the CNN on MNIST with your own settings and watch it learn. Every finished run is kept "
           "below, where you can compare runs and switch the Draw and Inspect pages to one.")
jobs = session.jobs()
data = session.mnist()
if data.is_full:
    st.success(data.notice, icon=":material/dataset:")
else:
    st.warning(data.notice, icon=":material/dataset:")


# ---------------------------------------------------------------- settings
def start(values: dict, drawings: ExtraImages | None = None, fine_tune_from=None, name: str | None = None) -> None:
    try:
        hp = Hyperparams(**values)
        jobs.start(hp, session.mnist, name=name or st.session_state.get("train_name") or "run", drawings=drawings,
                   fine_tune_from=fine_tune_from)
    except HyperparamError as exc:
        st.session_state["train_message"] = ("error", str(exc))
    except JobBusy as exc:
        st.session_state["train_message"] = ("warning", f"{exc.args[0].capitalize()}: its progress is shown below.")


job: Job | None = jobs.current
was_running = job is not None and job.running
drawing_images, drawing_labels = session.feedback().arrays()
with st.expander("Settings", icon=":material/tune:", expanded=not was_running):
    preset = st.segmented_control("Preset", list(PRESETS), default="Quick", key="train_preset") or "Quick"
    st.caption({"Quick": "Quick: a small network that reaches 99.2 % test accuracy in about 75 s on a 2-core CPU (full MNIST).",
                "Best": "Best: the settings of the shipped model (about 40 minutes on a 2-core CPU)."}[preset])
    with st.form("train_form", border=False):
        values = hyperparam_inputs(PRESETS[preset], key_prefix=f"hp-{preset}")
        name_col, include_col, weight_col = st.columns([2, 2, 1])
        name_col.text_input("Run name", "run", max_chars=40, key="train_name")
        include = include_col.toggle(f"Include my drawings ({len(drawing_images)})", key="train_include",
                                     disabled=len(drawing_images) == 0,
                                     help="Mix the drawings labelled on the Draw page into the training set")
        weight = weight_col.number_input("Repeat each", 1, 100, 10, key="train_weight",
                                         help="How many times each drawing is shown per epoch")
        submitted = st.form_submit_button("Start training", icon=":material/play_arrow:", type="primary",
                                          disabled=was_running)
    if submitted:
        start(values, ExtraImages(drawing_images, drawing_labels, weight) if include else None)
        st.rerun()

with st.expander(f"Learn from my drawings ({len(drawing_images)})", icon=":material/school:"):
    base_info = session.store().get(session.current_model_id())
    st.markdown(f"Fine-tune **{base_info.id}** (the model this browser uses) for {finetune.EPOCHS} epochs on your "
                f"labelled drawings (each repeated ×10) mixed with {finetune.MNIST_IMAGES:,} MNIST images. A quarter "
                "of the drawings is held out to show what it learned; MNIST test accuracy shows what it cost.")
    if len(drawing_images) < 4:
        st.caption("Label at least 4 drawings on the Draw page first (Right / Wrong — it's a …).")
    elif st.button("Fine-tune on my drawings", icon=":material/auto_fix_high:", disabled=was_running):
        base = Hyperparams.from_dict(base_info.meta["hyperparams"]) if base_info.meta.get("hyperparams") else PRESETS["Best"]
        start(base.to_dict(), ExtraImages(drawing_images, drawing_labels, 10), session.predictor().model,
              name=f"{base_info.id[:24]}-fine-tuned")
        st.rerun()
kind, text = st.session_state.pop("train_message", (None, None))
if kind:
    getattr(st, kind)(text)


# ---------------------------------------------------------------- live progress
def curves(job: Job, metric: str) -> pd.DataFrame:
    """Long-format curve of ``metric`` ('loss' or 'accuracy') against fractional epochs: training points
    within epochs (Keras's running mean), validation points at each epoch's end."""
    rows = []
    for p in job.progress:
        epoch = (p.epoch - 1) + p.step / p.steps_per_epoch
        rows.append({"epoch": epoch, metric: getattr(p, metric), "curve": "training"})
        if p.epoch_end and p.val_loss is not None:
            rows.append({"epoch": epoch, metric: getattr(p, f"val_{metric}"), "curve": "validation"})
    return pd.DataFrame(rows, columns=["epoch", metric, "curve"])


def show_progress(job: Job) -> None:
    latest = job.latest
    if latest is None:
        st.progress(0.0, text="Preparing the data and the network…")
    else:
        eta = f"{latest.eta_s // 60:.0f} min {latest.eta_s % 60:.0f} s" if np.isfinite(latest.eta_s) else "—"
        st.progress(min(latest.fraction, 1.0), text=f"Epoch {latest.epoch}/{latest.epochs} · batch {latest.step}/"
                    f"{latest.steps_per_epoch} · {latest.images_per_second:,.0f} images/s · ETA {eta}")
    if job.progress:
        for column, metric in zip(st.columns(2), ("loss", "accuracy")):
            column.line_chart(curves(job, metric), x="epoch", y=metric, color="curve", height=240)



@st.fragment(run_every=1.0 if was_running else None)
def live() -> None:
    current = jobs.current
    if current is None:
        return
    st.subheader(f"Run “{current.name}”: {current.state}")
    show_progress(current)
    if current.running:
        if current.stop_event.is_set():
            st.info("Stopping after the current batch…", icon=":material/stop_circle:")
        else:
            st.button("Stop", icon=":material/stop:", on_click=jobs.stop)
    elif was_running:
        st.rerun()  # the run just ended: redraw the whole page with its results


live()


# ---------------------------------------------------------------- results of the last run
def show_results(job: Job) -> None:
    result = job.result
    if job.state == "failed":
        st.error(f"The run failed: {job.error}", icon=":material/error:")
        return
    if result is None or result.test is None:
        return
    test = result.test
    cols = st.columns(4)
    cols[0].metric("Test accuracy", f"{test.accuracy:.2%}")
    cols[1].metric("Test loss", f"{test.loss:.4f}")
    cols[2].metric("Training time", f"{result.seconds:.0f} s")
    cols[3].metric("Speed", f"{result.images_per_second:,.0f} img/s")
    if job.report is not None:
        report = job.report
        st.markdown("**Fine-tuning: before → after**")
        st.dataframe(pd.DataFrame([
            {"measured on": f"held-out drawings ({report.held_out})", "before": report.drawings_before,
             "after": report.drawings_after},
            {"measured on": "MNIST test set", "before": report.mnist_before, "after": report.mnist_after},
        ]), hide_index=True, column_config={c: st.column_config.NumberColumn(format="percent") for c in ("before", "after")})
        if report.flagged:
            st.warning("MNIST test accuracy fell by more than 0.5 points: this model reads your style better but "
                       "MNIST worse. It is saved, but will only become the default if you confirm.",
                       icon=":material/warning:")
    if job.state == "stopped":
        st.warning(f"Stopped after {len(result.epoch_history)} full epoch(s). Keep the partial model?",
                   icon=":material/pause_circle:")
        keep, discard = st.columns([1, 6])
        keep.button("Keep it", on_click=jobs.keep_partial, type="primary")
        discard.button("Discard", on_click=jobs.discard_partial)
    elif job.saved is not None:
        st.success(f"Saved as **{job.saved.id}** — pick it in the table below to use it.", icon=":material/save:")
    left, right = st.columns(2)
    left.markdown("**Per-class test accuracy**")
    left.bar_chart(pd.DataFrame({"digit": [str(d) for d in range(10)], "accuracy": test.per_class_accuracy}),
                   x="digit", y="accuracy", height=260, sort=False)
    right.markdown("**Confusion matrix** (rows: true digit, columns: predicted)")
    confusion = pd.DataFrame(test.confusion, index=range(10), columns=range(10))
    right.dataframe(confusion.style.background_gradient(cmap="Blues", axis=None), height=390,
                    column_config={str(d): st.column_config.NumberColumn(width=40) for d in range(10)})
    wrong = np.flatnonzero(result.test_predicted != job.data.y_test)[:48]
    if len(wrong):
        tiles = np.repeat(job.data.x_test[wrong][..., None], 3, axis=3)
        st.image(tile_grid(tiles, [f"{job.data.y_test[i]}>{result.test_predicted[i]}" for i in wrong], columns=16,
                           tile_px=56),
                 caption=f"Misclassified test digits (true>predicted), {len(wrong)} of "
                         f"{int((result.test_predicted != job.data.y_test).sum())}")


if job is not None and not was_running:
    show_results(job)


# ---------------------------------------------------------------- saved models
st.subheader("Saved models")
store = session.store()
models = store.all()
active, in_use = store.active_id(), session.current_model_id()
table = pd.DataFrame([{
    "model": m.id,
    "test accuracy": m.test_accuracy,
    "epochs": m.meta.get("epochs_completed"),
    "parameters": m.meta.get("parameters"),
    "data": "full MNIST" if (m.meta.get("data") or {}).get("full_mnist") else "sample",
    "created": m.meta.get("created"),
    "status": ", ".join(s for s, on in (("server default", m.id == active), ("in use here", m.id == in_use)) if on),
} for m in models])
st.dataframe(table, hide_index=True, column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})
by_id = {m.id: m for m in models}
compared = st.multiselect("Compare the training curves of", list(by_id), default=list(by_id)[:2], key="compare")
histories = {m: pd.DataFrame(by_id[m].meta.get("history") or []) for m in compared}
curves_by_run = pd.DataFrame({m: h.set_index("epoch")["accuracy"] for m, h in histories.items() if not h.empty})
if not curves_by_run.empty:
    st.line_chart(curves_by_run, height=240, x_label="epoch", y_label="training accuracy")

model = by_id[st.selectbox("Model", list(by_id), index=min(1, len(models) - 1), key="model_actions",
                           format_func=lambda m: f"{m} ({by_id[m].test_accuracy:.2%})" if by_id[m].test_accuracy
                           else m)]
use, default, download, delete = st.columns(4)
if use.button("Use this model", icon=":material/check_circle:", help="Draw and Inspect in this browser use it"):
    st.session_state[session.MODEL_KEY] = model.id
    st.rerun()
flagged = bool((model.meta.get("fine_tune") or {}).get("flagged"))
confirmed = not flagged or st.checkbox("This fine-tuned model lost more than 0.5 points of MNIST test accuracy; "
                                       "make it the default anyway", key=f"confirm-{model.id}")
if default.button("Set as default", icon=":material/star:", help="Every new session on this server uses it",
                  disabled=not confirmed):
    store.set_active(model.id)
    st.rerun()
download.download_button("Download .keras", model.path.read_bytes(), file_name=f"{model.id}.keras",
                         icon=":material/download:")
if delete.button("Delete", icon=":material/delete:", disabled=model.is_shipped,
                 help="The shipped model cannot be deleted" if model.is_shipped else None):
    try:
        store.delete_run(model.id)
        if st.session_state.get(session.MODEL_KEY) == model.id:
            st.session_state.pop(session.MODEL_KEY)
    except ModelFileError as exc:
        st.error(str(exc))
    st.rerun()
st.caption(f"Draw and Inspect in this browser use **{in_use}**; new sessions on this server use **{active}**.")
