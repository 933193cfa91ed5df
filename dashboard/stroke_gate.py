"""A class drawing at once, served in turn: one stroke's work at a time, oldest waiting student first, always
their newest drawing.

Every session runs its page in a thread of its own, and all of them share one GIL. Left alone, past what the
process can serve, a hundred students' runs each get a hundredth of the interpreter: every run takes as long as
all of them together, and the event loop, which receives the strokes and sends the answers, gets its slice only
between them — latency does not grow, it jumps, and answers pile up behind each other. Taking turns instead
keeps each run as fast as on an idle server, so a student waits for the runs queued before theirs and no more:
latency grows with the queue, smoothly.

A turn is for the drawing the student has now. A stroke that arrives while the student waits for a turn makes
the waiting run stale: it leaves the queue before doing any work (``Superseded``) and Streamlit starts the run for
the new stroke at once, which takes back the place the student already had (the ticket is kept in their
session), so drawing fast never sends a student to the back of the queue. Streamlit itself folds strokes that
arrive while a run is in progress into one pending run with the newest drawing.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

from dashboard.monitoring import STROKE_WAIT, STROKES_INTERRUPTED, STROKES_SUPERSEDED, STROKES_WAITING
from model.store import data_dir
from training.class_signal import ClassSignal

P = ParamSpec("P")

SLOTS = 1
"""Runs doing a stroke's work at once. One keeps the event loop's share of the GIL at a half whatever the load;
the work is Python under the GIL but for the forward pass and the PNG decoding."""
POLL_S = 0.05
"""How often a waiting run looks for a newer stroke of its student (a condition wait: no CPU in between)."""
FLUSH_S = 0.01
"""How long a finished run whose student has drawn again waits, for the event loop to send its answer."""
TICKET_KEY = "stroke_gate_ticket"
QUEUE_S = 0.05
"""A stroke that waited longer than this for its turn means the class is queueing: training gives way
(``training/class_signal.py``)."""


class Superseded(Exception):
    """The student drew again while this run waited: the newer drawing's run takes its place in the queue."""


class StrokeGate:
    """First come, first served, ``slots`` at a time, by ticket: a ticket taken earlier goes first even if
    its holder left the queue for a newer stroke and came back."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._slots = slots
        self._busy = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, threading.Condition] = {}  # ticket → its waiter's wake-up call
        self._tickets = itertools.count()

    def ticket(self) -> int:
        """A place in the queue, later than every place given before."""
        return next(self._tickets)

    @property
    def waiting(self) -> int:
        """Runs waiting for a turn now."""
        with self._lock:
            return len(self._waiting)

    def _wake_first(self) -> None:
        """Wake the waiter whose turn may have come (the others sleep on: waking a hundred to let one in cost
        more than the turns themselves). Called with the lock held."""
        if self._waiting and self._busy < self._slots:
            self._waiting[min(self._waiting)].notify()

    @contextmanager
    def turn(self, ticket: int, superseded: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """Wait until a slot is free and no earlier ticket is waiting, then hold the slot for the block.

        Raises ``Superseded`` (leaving the queue) as soon as ``superseded()`` is true while waiting (looked at
        every POLL_S), or at once if it already is."""
        with self._lock:
            woken = self._waiting[ticket] = threading.Condition(self._lock)
            try:
                while self._busy >= self._slots or ticket != min(self._waiting):
                    if superseded():
                        raise Superseded
                    woken.wait(POLL_S)
                if superseded():
                    raise Superseded
                self._busy += 1
            finally:
                del self._waiting[ticket]
                self._wake_first()
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._wake_first()


GATE = StrokeGate()
"""The process's one gate: every canvas fragment of every session takes its turns here."""
BUSY_CLASS = ClassSignal(data_dir())
"""Where the gate says the class is queueing, for the training worker sharing the data directory."""


def newer_request_pending() -> bool:
    """Whether this session has asked for another run (a newer stroke, a click) or to stop (it closed) since the
    current run began. Streamlit keeps such a request until the run reaches a yield point; a fragment's own
    reruns do not interrupt a run, so it is looked up here. False outside a server session (AppTest)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    requests = ctx.script_requests if ctx is not None else None
    return requests is not None and requests._state != ScriptRequestType.CONTINUE  # noqa: SLF001


@contextmanager
def stroke_turn() -> Iterator[None]:
    """The block (a canvas fragment's work) runs in this session's turn; a run overtaken by the student's newer
    stroke while waiting ends there and the newer one starts in its place."""
    ticket = st.session_state.get(TICKET_KEY)
    if ticket is None:
        ticket = st.session_state[TICKET_KEY] = GATE.ticket()
    asked = time.perf_counter()
    STROKES_WAITING.inc()
    try:
        with GATE.turn(ticket, newer_request_pending):
            STROKES_WAITING.dec()
            waited = time.perf_counter() - asked
            STROKE_WAIT.observe(waited)
            if waited > QUEUE_S:
                BUSY_CLASS.report_busy()
            del st.session_state[TICKET_KEY]
            try:
                yield
            except RerunException:  # stopped half-way (the Clear button, a preempting rerun): its work is lost
                STROKES_INTERRUPTED.inc()
                raise
    except Superseded:
        STROKES_WAITING.dec()
        STROKES_SUPERSEDED.inc()
        # A fragment's own run gives way to a run of the fragment; a page load or other full run to a full run,
        # so the rest of the page is drawn too.
        ctx = get_script_run_ctx(suppress_warning=True)
        st.rerun(scope="fragment" if ctx is not None and ctx.fragment_ids_this_run else "app")


def takes_turns(fragment: Callable[P, None]) -> Callable[P, None]:
    """Decorator (under ``@st.fragment``): the fragment's every run waits for its session's turn."""
    @functools.wraps(fragment)
    def in_turn(*args: P.args, **kwargs: P.kwargs) -> None:
        with stroke_turn():
            fragment(*args, **kwargs)
        if newer_request_pending():
            # The student drew again meanwhile, and Streamlit starts that run the moment this one returns; its
            # start drops whatever of this run the event loop has not sent yet. A moment's pause (no CPU: the
            # turn is already passed on) lets this answer reach the student first.
            time.sleep(FLUSH_S)
    return in_turn
