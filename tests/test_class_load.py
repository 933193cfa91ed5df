"""The protocol-level class load (bench/class_load.py) against a real server: students replaying a Chromium
session's strokes on websockets of their own get the answers the browser got. A Streamlit upgrade that changes
what the browser sends or receives fails here, not silently in a benchmark's figures."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from streamlit.proto.Element_pb2 import Element

from harness.streamlit_protocol import Outcome, record_digits, replay


def test_replayed_students_get_the_browsers_answers(browser, app_url):
    recording = record_digits(browser, app_url, [3, 7])
    shown = [Element.FromString(element) for element in recording.strokes[0].answer]
    assert [e.metric.body for e in shown if e.HasField("metric")] == ["3"]  # the browser read its first digit

    with ThreadPoolExecutor(1) as thread:  # an event loop of its own: Playwright's sync API holds this thread's
        tally = thread.submit(asyncio.run, replay(app_url, recording, students=2, strokes=5, period_s=1.0)).result()

    assert tally.outcomes[Outcome.ANSWERED] == tally.strokes == 10  # each equal to what the browser was shown
    assert tally.exceptions == 0
