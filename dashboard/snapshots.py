"""The Train page's "Watch it learn": a run's snapshots (``training.snapshots``) as pictures — live while it
trains, for everyone watching, and a replay slider once it has ended.

The web server only reads what the training worker stored; it never runs the model for this. A snapshot does
not change once written, so its pictures are drawn once per server (cached by data directory, job and snapshot
number), small, for the browser to enlarge; the newest snapshot of a running job is looked up once a second per
server. A refresh while a run trains then costs a few cache look-ups and a few small pictures to send.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.charts import digit_bars
from dashboard.pictures import PIXELATED, activation_sheet, png_data_url, weight_sheet
from training.jobs import JobError, JobRecord, JobStore
from training.snapshots import EVERY_IMAGES

TITLE = "Watch it learn"
KEY = "watch-it-learn"
LOOK_EVERY_S = 1.0
"""How often a server looks for a running job's newest snapshot (for all the sessions watching it)."""


@dataclass(frozen=True)
class SnapshotPictures:
    """One snapshot, ready to show: pictures as inline PNGs (they change on every refresh while a run trains)."""

    images_seen: int
    probe: str
    probabilities: list[float]
    weights: str
    weights_caption: str
    maps: str | None
    maps_caption: str
    """Under the feature maps; for an MLP, why there are none."""


@st.cache_data(max_entries=512, show_spinner=False)
def _pictures(_jobs: JobStore, path: str, job_id: int, seq: int) -> SnapshotPictures:
    """Snapshot ``seq`` of job ``job_id`` in the job records at ``path``, drawn (raises JobError once thinned)."""
    snapshot = _jobs.snapshot(job_id, seq)
    n = len(snapshot.weights)
    of = f"{n} of {snapshot.units}" if snapshot.units > n else f"{n}"
    if snapshot.feature_maps is None:
        weights_caption = (f"An MLP has no filters: its first dense layer's units ({of}), each as the 28×28 weights "
                           "it puts on the pixels (red positive, blue negative)")
        maps, maps_caption = None, ("No feature maps: an MLP has no convolutions, so nothing is computed place by "
                                    "place in the image — each unit weighs the whole image at once.")
    else:
        side = snapshot.weights.shape[1]
        weights_caption = f"First-layer filters ({of}, {side}×{side}; red positive, blue negative)"
        maps = png_data_url(activation_sheet(snapshot.feature_maps))
        maps_caption = "The first layer's feature maps: what each filter (in the same place) makes of the probe"
    return SnapshotPictures(snapshot.images_seen, png_data_url(snapshot.probe), snapshot.probabilities.tolist(),
                            png_data_url(weight_sheet(snapshot.weights)), weights_caption, maps, maps_caption)


def _show(pictures: SnapshotPictures, job: JobRecord, where: str) -> None:
    """The probe and its probabilities, the first layer's filters, their feature maps: side by side, the pictures
    enlarged by the browser. ``where`` tells the live section from the replay: both are on the page while a run
    trains and the last one's results are shown, and element keys must differ."""
    key = f"{KEY}-{where}"
    section = st.container(key=key)
    section.html(PIXELATED.format(key=key))
    probe, weights, maps = section.columns([1, 1, 1.4])
    origin = "a drawing from the Draw page" if job.spec.probe is not None else "an MNIST test digit"
    probe.image(pictures.probe, caption=f"Probe: {origin}", width=112)
    digit_bars(pictures.probabilities, "probability", height=170, where=probe, percent=True)
    weights.image(pictures.weights, caption=pictures.weights_caption, width="stretch")
    if pictures.maps is None:
        maps.info(pictures.maps_caption, icon=":material/grid_off:")
    else:
        maps.image(pictures.maps, caption=pictures.maps_caption, width="stretch")


@st.cache_data(ttl=LOOK_EVERY_S, max_entries=64, show_spinner=False)
def _newest(_jobs: JobStore, path: str, job_id: int) -> int | None:
    """The job's newest snapshot, looked up once every LOOK_EVERY_S per server: the sessions watching a run share
    it, so a server draws one new snapshot at most that often however many watch."""
    marks = _jobs.snapshot_marks(job_id)
    return marks[-1][0] if marks else None


def live(jobs: JobStore, job: JobRecord) -> None:
    """The running job's newest snapshot (the live fragment redraws it every second)."""
    st.markdown(f"#### {TITLE}")
    seq = _newest(jobs, str(jobs.path), job.id)
    if seq is None:
        st.caption("The first snapshot comes as soon as the network is built…")
        return
    try:
        pictures = _pictures(jobs, str(jobs.path), job.id, seq)
    except JobError:  # thinned away within that second: the newest there is now (thinning always keeps it)
        pictures = _pictures(jobs, str(jobs.path), job.id, jobs.snapshot_marks(job.id)[-1][0])
    st.caption(f"After {pictures.images_seen:,} training images (a new snapshot every {EVERY_IMAGES}, then less "
               "often as the run goes on): the probe's probabilities, the first layer and what it sees.")
    _show(pictures, job, "live")


@st.fragment
def replay(jobs: JobStore, job: JobRecord) -> None:
    """A slider over an ended job's snapshots, from the untrained network to its last batch (moving it reruns
    only this fragment)."""
    marks = dict(jobs.snapshot_marks(job.id))
    if not marks:
        return
    st.markdown(f"#### {TITLE}")
    seq = st.select_slider("Replay the run: training images seen", options=list(marks), value=max(marks),
                           format_func=lambda s: f"{marks[s]:,}", key=f"replay-{job.id}")
    _show(_pictures(jobs, str(jobs.path), job.id, seq), job, "replay")
