"""The stroke gate (dashboard/stroke_gate.py): turns in ticket order, a slot at a time, and a waiting run that is
overtaken by its student's newer stroke leaves without doing any work and keeps its place."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.stroke_gate import StrokeGate, Superseded
from harness.streamlit_protocol import Outcome, record_digits, replay


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_turns_go_by_ticket_not_by_arrival():
    gate = StrokeGate(slots=1)
    tickets = [gate.ticket() for _ in range(6)]
    order: list[int] = []
    release = threading.Event()

    def run(ticket: int) -> None:
        with gate.turn(ticket):
            order.append(ticket)
            release.wait(5)

    holder = threading.Thread(target=run, args=(tickets[0],))
    holder.start()
    wait_until(lambda: order == [tickets[0]])
    waiters = [threading.Thread(target=run, args=(t,)) for t in reversed(tickets[1:])]  # latest ticket first
    for thread in waiters:
        thread.start()
    wait_until(lambda: gate.waiting == 5)
    release.set()
    for thread in [holder, *waiters]:
        thread.join(5)
    assert order == tickets


@pytest.mark.parametrize("slots", [1, 2])
def test_never_more_than_its_slots_at_once(slots):
    gate = StrokeGate(slots=slots)
    inside, most = 0, 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal inside, most
        with gate.turn(gate.ticket()):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=run) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == slots and inside == 0


def test_an_overtaken_run_leaves_the_queue_and_its_ticket_keeps_its_place():
    gate = StrokeGate(slots=1)
    first, early, late = gate.ticket(), gate.ticket(), gate.ticket()
    newer_stroke = threading.Event()
    held, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def hold() -> None:
        with gate.turn(first):
            held.set()
            release.wait(5)

    def student(ticket: int, name: str, superseded=lambda: False) -> None:
        try:
            with gate.turn(ticket, superseded):
                outcome.append(name)
        except Superseded:
            outcome.append(f"{name} superseded")

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    stale = threading.Thread(target=student, args=(early, "early", newer_stroke.is_set))
    other = threading.Thread(target=student, args=(late, "late"))
    stale.start()
    other.start()
    wait_until(lambda: gate.waiting == 2)
    newer_stroke.set()  # the early student draws again while waiting: that run leaves at once, slot untouched
    stale.join(5)
    assert outcome == ["early superseded"] and gate.waiting == 1
    rerun = threading.Thread(target=student, args=(early, "early again"))  # the newer stroke's run, same ticket
    rerun.start()
    wait_until(lambda: gate.waiting == 2)
    release.set()
    for thread in (holder, other, rerun):
        thread.join(5)
    assert outcome == ["early superseded", "early again", "late"]


def test_a_run_already_overtaken_does_no_work_even_with_a_free_slot():
    gate = StrokeGate(slots=1)
    with pytest.raises(Superseded), gate.turn(gate.ticket(), superseded=lambda: True):
        pytest.fail("the block ran")
    with gate.turn(gate.ticket()):  # the slot was not kept
        pass


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(name + " "))


def test_past_capacity_every_students_newest_stroke_is_answered_and_no_run_stops_half_way(browser, app_url,
                                                                                          tmp_path_factory):
    """Forty students drawing a stroke every 0.15 s is more than a 2-core server answers: strokes queue up."""
    recording = record_digits(browser, app_url, [3, 7])
    superseded = metric(app_url, "digits_strokes_superseded_total")
    interrupted = metric(app_url, "digits_stroke_runs_interrupted_total")
    with ThreadPoolExecutor(1) as thread:  # an event loop of its own: Playwright's sync API holds this thread's
        tally = thread.submit(asyncio.run, replay(app_url, recording, students=40, strokes=6, period_s=0.15)).result()

    assert tally.strokes == 240 and tally.exceptions == 0
    assert tally.outcomes[Outcome.UNANSWERED] == tally.outcomes[Outcome.WRONG] == 0  # each student's last: answered
    assert tally.outcomes[Outcome.SUPERSEDED] > 0, "the class did not outrun the server: nothing was tested"
    left_the_queue = metric(app_url, "digits_strokes_superseded_total") - superseded
    assert 0 < left_the_queue <= tally.runs_ended_early  # the rest finished, their answer replaced by a newer one
    assert metric(app_url, "digits_stroke_runs_interrupted_total") == interrupted, "no run stopped half-way"
    assert metric(app_url, "digits_strokes_waiting") == 0
    # The queue was reported to the data directory, where a training worker gives way to it (class_signal.py).
    reports = [p.stat().st_mtime for p in tmp_path_factory.getbasetemp().glob("app-data*/class_busy")]
    assert reports and time.time() - max(reports) < 60, "the class's queue was not reported"
