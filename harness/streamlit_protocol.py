"""Streamlit's browser protocol without a browser: record what Chromium sends and is shown while it draws, then
replay it for many simulated students, each on a websocket of its own (``bench/class_load.py``, and a test that
catches protocol drift on a Streamlit upgrade).

A browser talks to the server over one websocket, ``/_stcore/stream``. It sends ``BackMsg`` protobufs: a stroke
is a ``rerun_script`` carrying every widget's value (the canvas's is its whole fabric JSON and a PNG of the
canvas). It receives ``ForwardMsg`` ones: each script run starts with ``new_session``, fills the page with
``delta`` messages and ends with ``script_finished``, whose status says whether it ended early for a rerun
(a newer stroke stopped it). A recording is the page load's message and each stroke's, with the answer the
browser was shown for it: the elements of ``ANSWER_ELEMENTS`` its run sent.

What is session-specific, and so made afresh for each student rather than copied:

- the cookies: fetched over HTTP at connection time as a browser's page load gets them (Streamlit's XSRF cookie
  and the dashboard's browser id, which ownership of drawings rests on);
- the websocket sub-protocol: ``streamlit, <the XSRF cookie>`` as the browser's ``getSessionTokens`` builds it,
  plus the server's id for this session when reconnecting (a student reconnects as the browser does when its
  connection drops mid-drawing: health pings with the browser's backoff, then a whole-page rerun);
- each rerun's ``cached_message_hashes``: the hashes of the cacheable messages this student has received (the
  browser's cache); those of the recording are dropped.

Widget ids, fragment ids and page hashes come from keys and code, so they are the same in every session and
are replayed as recorded. Only ``rerun_script`` messages are recorded; a stroke whose run the browser never
saw finish (a newer one came first) is dropped, since every rerun carries the complete widget state.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

import httpx
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from harness.browser import CANVAS, draw_digit

STREAM_PATH = "/_stcore/stream"
XSRF_COOKIE = "_streamlit_xsrf"  # the cookie the browser's JS reads for the sub-protocol (Streamlit's name)
NO_XSRF_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # what the browser sends where that cookie is absent
ANSWER_ELEMENTS = frozenset({"metric", "vega_lite_chart", "plotly_chart", "echarts_chart", "dataframe", "table"})
"""The element types that show a prediction (the digit, its probabilities); the rest of the page is not compared."""
ANSWER_TIMEOUT_S = 10.0
LOAD_TIMEOUT_S = 180.0  # connecting and a page load (the model's first load; a server busy with a class) may be slow
RESET_TITLE = "Reset canvas & history"  # the canvas toolbar's instant reset (one rerun, the empty canvas)

Answer = tuple[bytes, ...]
"""The answer elements of one run, serialised, in the order the run sent them."""


@dataclass(frozen=True)
class Stroke:
    message: bytes  # the rerun_script BackMsg as the browser sent it, less its cached hashes
    answer: Answer  # what the browser's run for it showed


@dataclass(frozen=True)
class Recording:
    """One browser session on a page: its page load, then its strokes in order."""

    load: bytes
    strokes: tuple[Stroke, ...]


@dataclass(frozen=True)
class Run:
    """One script run as a client saw it, from ``new_session`` to ``script_finished``."""

    strokes_before: int  # how many strokes the client had sent when the run started: it can answer only those
    answer: Answer
    ended_early: bool  # stopped half-way for a rerun (a newer stroke of the same client arrived)
    exceptions: int


class RunReader:
    """Reads one session's ForwardMsgs into runs, resolving references to messages it cached (``ref_hash``)."""

    def __init__(self) -> None:
        self.sent = 0  # strokes sent so far, counted by the owner
        self.cache: dict[str, ForwardMsg] = {}
        self.session_id: str | None = None  # the server's id for this session (offered again on reconnecting)
        self._start: int | None = None
        self._answer: list[bytes] = []
        self._exceptions = 0

    def read(self, frame: bytes) -> Run | None:
        """The run this message ends, if it is a ``script_finished``."""
        msg = ForwardMsg.FromString(frame)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            msg = self.cache[msg.ref_hash]
            kind = msg.WhichOneof("type")
        if msg.metadata.cacheable:
            self.cache[msg.hash] = msg
        if kind == "new_session":
            self._start, self._answer, self._exceptions = self.sent, [], 0
            if msg.new_session.HasField("initialize"):
                self.session_id = msg.new_session.initialize.session_id
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            element_type = element.WhichOneof("type")
            if element_type == "exception":
                self._exceptions += 1
            elif element_type in ANSWER_ELEMENTS:
                self._answer.append(element.SerializeToString(deterministic=True))
        elif kind == "script_finished" and self._start is not None:
            status = msg.script_finished
            run = Run(self._start, tuple(self._answer), status == ForwardMsg.FINISHED_EARLY_FOR_RERUN,
                      self._exceptions + (status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR))
            self._start = None
            return run
        return None

    def lost(self) -> None:
        """The connection dropped: a run it was in the middle of will never finish."""
        self._start = None


PAGE_CLOCK = """
(() => {
  const Native = window.WebSocket;
  window.__streamClock = {sent: [], received: []};
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).endsWith('STREAM_PATH')) return;
      this.addEventListener('message', () => window.__streamClock.received.push(performance.now()));
      const send = this.send.bind(this);
      this.send = data => { window.__streamClock.sent.push(performance.now()); send(data); };
    }
  };
})();
""".replace("STREAM_PATH", STREAM_PATH)
"""An init script timing the page's stream frames by the page's own clock (``window.__streamClock``, ms), as
its JavaScript sends and receives them: the browser's side of a stroke's latency, without Playwright's
delivery of the websocket events (tens of ms on a busy machine) in it. Frame k there is Playwright's k-th."""


class Transcript:
    """A Chromium page's ``/_stcore/stream`` frames as they pass (Playwright's websocket events, sync or async
    API alike), read into the page load and the strokes with the answers the browser received."""

    def __init__(self) -> None:
        self._reader = RunReader()
        self._messages: list[bytes] = []
        self._sent_frames: list[int] = []  # per rerun message: its index among the frames sent
        self._answers: dict[int, tuple[Answer, int]] = {}  # message index → (answer, its script_finished's frame)
        self._frames_sent = self._frames_received = 0

    def attach(self, page) -> None:
        page.on("websocket", self._on_websocket)

    @property
    def sent(self) -> int:
        return len(self._messages)

    def answered(self, index: int) -> bool:
        return index in self._answers

    def recording(self) -> Recording:
        if not self._messages:
            raise RuntimeError("the browser sent no rerun: no page load was recorded")
        kept = [i for i in range(1, len(self._messages)) if i in self._answers]
        if not any(self._answers[i][0] for i in kept):
            raise RuntimeError(f"the browser was shown no answer element ({', '.join(sorted(ANSWER_ELEMENTS))}) "
                               f"for any of its {len(kept)} strokes: nothing to compare replies with")
        return Recording(self._messages[0], tuple(Stroke(self._messages[i], self._answers[i][0]) for i in kept))

    def latencies_s(self, clock: dict[str, list[float]], since: int = 1) -> list[float]:
        """The browser's own send → script_finished, by the page's ``PAGE_CLOCK``, for each of its answered
        reruns from index ``since``."""
        return [(clock["received"][self._answers[i][1]] - clock["sent"][self._sent_frames[i]]) / 1000
                for i in range(since, self.sent) if i in self._answers]

    def _on_websocket(self, websocket) -> None:
        if websocket.url.endswith(STREAM_PATH):
            websocket.on("framesent", self._on_sent)
            websocket.on("framereceived", self._on_received)

    def _on_sent(self, payload: bytes | str) -> None:
        self._frames_sent += 1
        if isinstance(payload, str):
            return
        msg = BackMsg.FromString(payload)
        if msg.WhichOneof("type") != "rerun_script":
            return
        del msg.rerun_script.cached_message_hashes[:]
        self._messages.append(msg.SerializeToString())
        self._sent_frames.append(self._frames_sent - 1)
        self._reader.sent += 1

    def _on_received(self, payload: bytes | str) -> None:
        self._frames_received += 1
        if isinstance(payload, str):
            return
        run = self._reader.read(payload)
        if run is not None and not run.ended_early and run.strokes_before:
            self._answers.setdefault(run.strokes_before - 1, (run.answer, self._frames_received - 1))


def record_digits(browser, url: str, digits: list[int], timeout_s: float = LOAD_TIMEOUT_S) -> Recording:
    """A new Chromium session (Playwright's sync API) on ``url`` draws each digit with the mouse and resets the
    canvas after it, waiting for every answer: a recording of 2 strokes per digit, each answered on its own."""
    transcript = Transcript()
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    transcript.attach(page)
    try:
        with _answered(page, transcript, timeout_s):
            page.goto(url)
            page.locator(CANVAS).wait_for(timeout=timeout_s * 1000)
        for digit in digits:
            with _answered(page, transcript, timeout_s):
                draw_digit(page, digit)
            with _answered(page, transcript, timeout_s):
                page.get_by_title(RESET_TITLE).click()
    finally:
        context.close()
    return transcript.recording()


@contextlib.contextmanager
def _answered(page, transcript: Transcript, timeout_s: float):
    """Around a browser action: afterwards, wait until it has sent a rerun and seen the run for its last one
    finish (so each recorded stroke is answered on its own)."""
    before = transcript.sent
    yield
    deadline = time.monotonic() + timeout_s
    while not (transcript.sent > before and transcript.answered(transcript.sent - 1)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the browser's rerun {transcript.sent} was not answered in {timeout_s} s")
        page.wait_for_timeout(50)


class Outcome(Enum):
    """What became of one stroke."""

    ANSWERED = "answered"  # its run finished within the answer timeout, showing what the browser was shown
    WRONG = "wrong"  # answered in time, with something else than the browser was shown
    SUPERSEDED = "superseded"  # never answered itself, but a later stroke of the same student was, in time
    UNANSWERED = "unanswered"  # neither, within the answer timeout


@dataclass
class Tally:
    """What a class's strokes came to; tallies of several students (or worker processes) add up."""

    latencies_s: list[float] = field(default_factory=list)  # send → script_finished, answered strokes
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    runs_ended_early: int = 0
    exceptions: int = 0
    reconnects: int = 0  # connections that dropped while drawing and were made again
    recoveries_s: list[float] = field(default_factory=list)  # connection dropped → next stroke answered

    def add(self, other: Tally) -> None:
        self.latencies_s += other.latencies_s
        self.outcomes.update(other.outcomes)
        self.runs_ended_early += other.runs_ended_early
        self.exceptions += other.exceptions
        self.reconnects += other.reconnects
        self.recoveries_s += other.recoveries_s

    @property
    def strokes(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class _Pending:
    seq: int
    sent_at: float
    answer: Answer


def _reconnect_delay_s(attempt: int) -> float:
    """The browser's wait before its ``attempt``-th reconnection (Streamlit's ``nextReconnectDelayMs``)."""
    longest = min(4.0, 0.5 * 2 ** (attempt - 1))
    return random.uniform(0.25 if attempt == 1 else longest / 2, longest)


class Student:
    """One simulated student: its own cookies and websocket, replaying a recording's strokes on a schedule, and
    reconnecting while it draws as the browser does when its connection drops (a replica killed mid-class)."""

    def __init__(self, url: str, recording: Recording, timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.recording = recording
        self.timeout_s = timeout_s
        self.tally = Tally()
        self._reader = RunReader()
        self._pending: list[_Pending] = []
        self._latest: Stroke | None = None  # the last stroke drawn: the canvas's state
        self._runs = 0
        self._changed = asyncio.Event()  # a run finished or the connection closed
        self._cookies: dict[str, str] = {}
        self._websocket: ClientConnection | None = None
        self._listener: asyncio.Task | None = None
        self._reconnect_until = 0.0  # while drawing: how long a dropped connection is retried
        self._lost_at: float | None = None  # when the connection dropped, until a stroke is answered again
        self._closing = False

    async def connect(self) -> None:
        """Fetch the page (the cookies), open the websocket as the browser does, send the page load and wait
        for its run (the first run loads the model: not a stroke's cost)."""
        async with httpx.AsyncClient(trust_env=False, timeout=LOAD_TIMEOUT_S) as http:
            response = await http.get(f"{self.url}/")
            response.raise_for_status()
        self._cookies = dict(response.cookies.items())
        await self._open()
        self._listener = asyncio.create_task(self._listen())
        await self._websocket.send(self.recording.load)
        await asyncio.wait_for(self._until(lambda: self._runs > 0), LOAD_TIMEOUT_S)

    async def draw(self, strokes: int, period_s: float, delay_s: float) -> Tally:
        """After ``delay_s``, one stroke every ``period_s`` (whether or not the last was answered, as a student
        keeps drawing), cycling through the recording; then wait for the answers (at most the timeout)."""
        await asyncio.sleep(delay_s)
        start = time.monotonic()
        self._reconnect_until = start + strokes * period_s + self.timeout_s
        for i in range(strokes):
            await asyncio.sleep(max(0.0, start + i * period_s - time.monotonic()))
            await self._draw(self.recording.strokes[i % len(self.recording.strokes)])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._until(lambda: not self._pending), self.timeout_s)
        self._reconnect_until = 0.0
        self.tally.outcomes[Outcome.UNANSWERED] += len(self._pending)
        self._pending.clear()
        return self.tally

    async def close(self) -> None:
        self._closing = True
        if self._websocket is not None:
            await self._websocket.close()
        if self._listener is not None:
            await self._listener

    async def _open(self) -> None:
        """The websocket as the browser opens it: the XSRF cookie in the sub-protocol, and the last session id
        after it when reconnecting (a replica that still has the session resumes it)."""
        origin = httpx.URL(self.url)
        tokens = [self._cookies.get(XSRF_COOKIE, NO_XSRF_TOKEN)] + ([self._reader.session_id]
                                                                   if self._reader.session_id else [])
        self._websocket = await connect(
            f"ws{self.url.removeprefix('http')}{STREAM_PATH}", origin=f"{origin.scheme}://{origin.netloc.decode()}",
            subprotocols=["streamlit", *tokens],
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self._cookies.items())},
            proxy=None, ping_interval=None, max_size=None, open_timeout=LOAD_TIMEOUT_S)

    async def _draw(self, stroke: Stroke) -> None:
        """Draw one stroke: send it with this student's cached hashes; while disconnected it stays pending, to
        be carried by the rerun that follows reconnecting."""
        self._pending.append(_Pending(self._reader.sent, time.monotonic(), stroke.answer))
        self._reader.sent += 1
        self._latest = stroke
        message = stroke.message
        if self._reader.cache:
            msg = BackMsg.FromString(message)
            msg.rerun_script.cached_message_hashes.extend(self._reader.cache)
            message = msg.SerializeToString()
        with contextlib.suppress(ConnectionClosed):
            await self._websocket.send(message)

    async def _until(self, condition) -> None:
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    async def _listen(self) -> None:
        while True:
            with contextlib.suppress(ConnectionClosed):
                async for frame in self._websocket:
                    run = self._reader.read(frame) if isinstance(frame, bytes) else None
                    if run is not None:
                        self._runs += 1
                        self._settle(run, time.monotonic())
                        self._changed.set()
            self._reader.lost()
            if self._closing or not await self._reconnect():
                break
        self._changed.set()

    async def _reconnect(self) -> bool:
        """As the browser does when its connection drops mid-drawing: ping the server's health with its backoff
        until it answers, reconnect, and rerun the whole page with the canvas as it is (its last run was a
        fragment's, so it asks for a script run). False when it is not drawing or the retry time ran out."""
        if time.monotonic() >= self._reconnect_until:
            return False
        self._lost_at = self._lost_at or time.monotonic()
        attempt = 0
        while time.monotonic() < self._reconnect_until:
            attempt += 1
            await asyncio.sleep(_reconnect_delay_s(attempt))
            try:
                async with httpx.AsyncClient(trust_env=False, timeout=self.timeout_s) as http:
                    (await http.get(f"{self.url}/_stcore/health")).raise_for_status()
                await self._open()
            except (OSError, TimeoutError, httpx.HTTPError, WebSocketException):
                continue
            self.tally.reconnects += 1
            rerun = BackMsg.FromString(self._latest.message if self._latest else self.recording.load)
            rerun.rerun_script.ClearField("fragment_id")
            with contextlib.suppress(ConnectionClosed):
                await self._websocket.send(rerun.SerializeToString())
            return True
        return False

    def _settle(self, run: Run, now: float) -> None:
        """Which of the pending strokes this run answers: the latest one sent before it started whose browser
        answer it shows (else the latest one sent before it started, answered wrongly); earlier ones are
        superseded. A run that starts after nothing pending (the page load) answers none."""
        self.tally.exceptions += run.exceptions
        if run.ended_early:
            self.tally.runs_ended_early += 1
            return
        candidates = [p for p in self._pending if p.seq < run.strokes_before]
        if not candidates:
            return
        match = next((p for p in reversed(candidates) if p.answer == run.answer), candidates[-1])
        in_time = now - match.sent_at <= self.timeout_s
        for pending in candidates:
            if pending is match:
                break
            self.tally.outcomes[Outcome.SUPERSEDED if in_time else Outcome.UNANSWERED] += 1
        if in_time:
            self.tally.latencies_s.append(now - match.sent_at)
            self.tally.outcomes[Outcome.ANSWERED if match.answer == run.answer else Outcome.WRONG] += 1
            if self._lost_at is not None:
                self.tally.recoveries_s.append(now - self._lost_at)
                self._lost_at = None
        else:
            self.tally.outcomes[Outcome.UNANSWERED] += 1
        self._pending = [p for p in self._pending if p.seq > match.seq]


async def replay(url: str, recording: Recording, students: int, strokes: int, period_s: float,
                 before_drawing: Callable[[], Awaitable[None]] | None = None, connect_concurrency: int = 8) -> Tally:
    """``students`` students on ``url``, connected a few at a time, then all drawing ``strokes`` strokes each,
    starts jittered over one period: what their strokes came to. ``before_drawing`` is awaited once all are
    connected (a benchmark reads the server's CPU there, or lines up several worker processes)."""
    gate = asyncio.Semaphore(connect_concurrency)

    async def connected() -> Student:
        async with gate:
            student = Student(url, recording)
            await student.connect()
            return student

    # One bound for the whole connecting phase: a wedged server ends the class instead of holding it.
    class_ = await asyncio.wait_for(asyncio.gather(*(connected() for _ in range(students))), LOAD_TIMEOUT_S)
    if before_drawing is not None:
        await before_drawing()
    tally = Tally()
    for result in await asyncio.gather(*(s.draw(strokes, period_s, random.uniform(0, period_s)) for s in class_)):
        tally.add(result)
    await asyncio.gather(*(s.close() for s in class_))
    return tally
