"""A class at the protocol level: N simulated students, each on a websocket of its own, replaying a real
Chromium session's strokes on the Draw page, one every ~1.5 s — without a browser per student, so hundreds
fit on the machine that serves them.

At each run, one Chromium session draws a few digits (resetting the canvas after each) and its
``/_stcore/stream`` frames are recorded, with the answer it was shown for every stroke
(``harness/streamlit_protocol.py`` says what is recorded and what is made afresh per student). Then for each
class size of ``--students`` the students connect (their page load is not measured), and draw ``--strokes``
strokes each, starts jittered over one period. Per class size, one line:

    p50 / p95    send → the run's script_finished (server-side latency), strokes answered in time
    answered     answered within 10 s showing what the browser was shown (``wrong``: something else)
    superseded   never answered itself, but the same student's later stroke was (its run may have been
                 stopped half-way: ``ended early`` counts such runs, work the server threw away)
    unanswered   neither, within 10 s
    exceptions   exception elements the runs sent
    CPU          the server's CPU per stroke, user + system of its process(es) from /proc, children (the
                 training worker) excluded; and the ratio to the canvas-only page (``bench/canvas_only_app.py``,
                 the yardstick) measured in the same run at the smallest class size
    gen ms       the load generator's own CPU per stroke (it shares the cores with the server)
    RSS          the server's resident memory before and after the class

It starts its own servers (the dashboard and the canvas-only page, each on a free loopback port with a data
directory of its own) unless given ``--url`` (replicas, nginx in front of them: pass ``--pids`` for CPU and RSS).
``--train`` starts a Quick run from the Train page in Chromium while the class draws, as a teacher would
(``bench/load.py``'s way; it is started again for a class size if the last one ended). Students are spread over
worker processes (``--processes``, by default one per 100 students), lined up before the drawing starts.

One server per page serves the whole sweep, so the RSS column shows what earlier class sizes left too.

``--validate K`` first compares K real Chromium sessions drawing with ``bench/load.py``'s method against K
students replaying the first of those sessions, on the same server. Measured so with K = 5, 8–12 strokes each,
on the busy 2-core machine (five runs, today's Draw page): the replay's server CPU per stroke is 0.84–1.14×
Chromium's, the same within the machine's noise, so the replay loads the server as browsers do. Its send →
script_finished, p50 13–20 ms, is the server's alone; Chromium's, timed by its page's own clock (Playwright's
events come later still), is p50 41–191 ms, because the page handles the run's deltas (renders them) before it
sees script_finished: replayed students drawing while the Chromium sessions draw again get p50 25 ms.

Run: ``python -m bench.class_load [--students 30,100,150,300] [--strokes 8] [--train] [--validate 5]
[--url URL --pids PID,...] [--plot curve.png]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import queue
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from playwright.async_api import async_playwright
from playwright.sync_api import sync_playwright

from bench import load
from harness.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, running_server
from harness.streamlit_protocol import PAGE_CLOCK, Outcome, Recording, Tally, Transcript, record_digits, replay

STUDENTS_PER_PROCESS = 100
CANVAS_ONLY, DRAW = "canvas-only", "draw"
SCRIPTS = {CANVAS_ONLY: "bench/canvas_only_app.py", DRAW: "dashboard/server.py"}


@dataclass
class Target:
    """A page under load: where students connect, and the server processes whose CPU and memory are counted."""

    name: str
    url: str
    pids: list[int]
    recording: Recording | None = None


@dataclass
class ClassResult:
    name: str
    students: int
    tally: Tally
    cpu_s: float | None
    rss_mb: tuple[float, float] | None
    generator_cpu_s: float | None = None  # the load generator's own CPU, to show it stays light

    @property
    def cpu_ms_per_stroke(self) -> float | None:
        return None if self.cpu_s is None else 1000 * self.cpu_s / max(self.tally.strokes, 1)

    @property
    def p50_ms(self) -> float | None:
        return self._percentile_ms(50)

    @property
    def p95_ms(self) -> float | None:
        return self._percentile_ms(95)

    def _percentile_ms(self, q: float) -> float | None:
        """Of the answered strokes' latencies; None when none was answered."""
        return 1000 * float(np.percentile(self.tally.latencies_s, q)) if self.tally.latencies_s else None

    def line(self, yardstick: ClassResult | None) -> str:
        t = self.tally
        p50, p95 = ("      -" if ms is None else f"{ms:7.0f}" for ms in (self.p50_ms, self.p95_ms))
        cpu = "      -" if self.cpu_ms_per_stroke is None else f"{self.cpu_ms_per_stroke:7.1f}"
        ratio = (f"{self.cpu_ms_per_stroke / yardstick.cpu_ms_per_stroke:5.2f}×"
                 if yardstick and yardstick.cpu_ms_per_stroke and self.cpu_ms_per_stroke is not None else "     -")
        rss = "-" if self.rss_mb is None else f"{self.rss_mb[0]:.0f} → {self.rss_mb[1]:.0f}"
        generator = ("    -" if self.generator_cpu_s is None
                     else f"{1000 * self.generator_cpu_s / max(t.strokes, 1):5.1f}")
        o = t.outcomes
        return (f"{self.name:<12}{self.students:5d} {t.strokes:6d} {p50} {p95} {o[Outcome.ANSWERED]:8d} "
                f"{o[Outcome.WRONG]:5d} {o[Outcome.SUPERSEDED]:10d} {o[Outcome.UNANSWERED]:10d} "
                f"{t.runs_ended_early:11d} {t.exceptions:10d} {cpu} {ratio} {generator}  {rss}")


HEADER = ("page        students strokes  p50 ms  p95 ms answered wrong superseded unanswered ended early exceptions"
          "  CPU ms ×canvas gen ms  RSS MB")


def cpu_seconds(pids: list[int]) -> float:
    return sum(load.cpu_seconds(pid) for pid in pids)


def rss_mb(pids: list[int]) -> float:
    return sum(load.rss_mb(pid) for pid in pids)


def record(url: str, digits: list[int]) -> Recording:
    """One Chromium session drawing ``digits`` on ``url`` (Playwright's sync API, as ``draw_digit`` is: call it
    from a thread of its own when an event loop runs)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return record_digits(browser, url, digits)
        finally:
            browser.close()


_lineup: tuple[multiprocessing.Queue, multiprocessing.Event] | None = None
_cpu_at_go = 0.0  # this worker process's CPU time when the drawing started


def _join_lineup(ready: multiprocessing.Queue, go: multiprocessing.Event) -> None:
    global _lineup
    _lineup = ready, go


async def _line_up() -> None:
    """In a worker process, once its students are connected: say so, and wait for the others."""
    global _cpu_at_go
    ready, go = _lineup
    ready.put(os.getpid())
    await asyncio.to_thread(go.wait)
    _cpu_at_go = time.process_time()


def _students_worker(url: str, recording: Recording, students: int, strokes: int,
                     period_s: float) -> tuple[Tally, float]:
    """One worker process's share of the class: its tally, and the CPU it spent from the start of the drawing."""
    tally = asyncio.run(replay(url, recording, students, strokes, period_s, before_drawing=_line_up))
    return tally, time.process_time() - _cpu_at_go


def _await_lineup(ready: multiprocessing.Queue, futures: list[Future]) -> None:
    """Until every worker has connected its students (raising what a worker raised, if one failed first)."""
    lined_up = 0
    while lined_up < len(futures):
        try:
            ready.get(timeout=1)
            lined_up += 1
        except queue.Empty:
            for future in futures:
                if future.done():
                    future.result()


def run_class(target: Target, students: int, args: argparse.Namespace) -> ClassResult:
    """``students`` students drawing on ``target``, spread over worker processes; the server's CPU and memory
    are read once all are connected and after the last answer."""
    processes = args.processes or math.ceil(students / STUDENTS_PER_PROCESS)
    shares = [students // processes + (i < students % processes) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    ready, go = context.Queue(), context.Event()
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_join_lineup,
                             initargs=(ready, go)) as pool:
        futures = [pool.submit(_students_worker, target.url, target.recording, share, args.strokes, args.period)
                   for share in shares]
        try:
            _await_lineup(ready, futures)
            cpu, rss = cpu_seconds(target.pids), rss_mb(target.pids)
        finally:
            go.set()  # also when a worker failed: the others then draw and end, and the pool can shut down
        tally, generator_cpu_s = Tally(), 0.0
        for future in futures:
            share, share_cpu_s = future.result()
            tally.add(share)
            generator_cpu_s += share_cpu_s
    measured = bool(target.pids)
    return ClassResult(target.name, students, tally, cpu_seconds(target.pids) - cpu if measured else None,
                       (rss, rss_mb(target.pids)) if measured else None, generator_cpu_s)


async def validate(target: Target, browser, sessions: int, args: argparse.Namespace) -> None:
    """``sessions`` Chromium sessions drawing with bench/load.py's method, then as many students replaying the
    first of them, on one server: server CPU per stroke and send → script_finished side by side. Last, the
    students replay while the Chromium sessions draw again: their latency then is the server's under the
    browsers' CPU load, the part of Chromium's own latency that the server accounts for."""
    chromium = load.Round("chromium")
    transcripts = []
    contexts = []
    for _ in range(sessions):
        context = await browser.new_context(viewport={"width": 1300, "height": 1000})
        await context.add_init_script(PAGE_CLOCK)
        transcripts.append(Transcript())
        context.on("page", transcripts[-1].attach)
        contexts.append(context)
    pages = await asyncio.gather(*(load.open_session(c, target.url) for c in contexts))
    since = [t.sent for t in transcripts]
    cpu = cpu_seconds(target.pids)
    await asyncio.gather(*(load.draw(page, args.strokes, args.period, i * args.period / sessions, chromium)
                           for i, page in enumerate(pages)))
    chromium.cpu_s = cpu_seconds(target.pids) - cpu
    clocks = [await page.evaluate("window.__streamClock") for page in pages]
    # Counted in reruns, as the replay counts its strokes (bench/load.py's canvas resets are reruns too).
    browser_tally = Tally(latencies_s=[x for t, clock, s in zip(transcripts, clocks, since)
                                       for x in t.latencies_s(clock, s)], exceptions=chromium.exceptions)
    browser_tally.outcomes[Outcome.ANSWERED] = len(browser_tally.latencies_s)
    browser_tally.outcomes[Outcome.UNANSWERED] = sum(t.sent - s for t, s in zip(transcripts, since)) - len(
        browser_tally.latencies_s)
    measured = ClassResult("chromium", sessions, browser_tally, chromium.cpu_s if target.pids else None, None)
    recording = transcripts[0].recording()
    replayed = await asyncio.to_thread(run_class, Target("replayed", target.url, target.pids, recording),
                                       sessions, args)
    alongside, *_ = await asyncio.gather(
        asyncio.to_thread(run_class, Target("+chromium", target.url, [], recording), sessions, args),
        *(load.draw(page, args.strokes, args.period, i * args.period / sessions, load.Round("again"))
          for i, page in enumerate(pages)))
    for context in contexts:
        await context.close()
    shown = np.percentile(chromium.latencies_ms or [np.nan], [50, 95])
    print(f"validation: {sessions} Chromium sessions vs {sessions} students replaying the first, {args.strokes} "
          f"strokes each; Chromium's send → script_finished by the page's clock (its mouse-up → page updated, "
          f"bench/load.py's measure: p50 {shown[0]:.0f} ms, p95 {shown[1]:.0f} ms); +chromium: the students "
          f"while the Chromium sessions draw again")
    print(HEADER)
    for result in (measured, replayed, alongside):
        print(result.line(None))
    if target.pids:
        print(f"server CPU per stroke, replayed vs Chromium: "
              f"{replayed.cpu_ms_per_stroke / measured.cpu_ms_per_stroke:.2f}×", flush=True)


async def ensure_training(context, url: str, trainer):
    """The teacher's Train page with a run training: a Quick run started afresh if none is (any more)."""
    if trainer is not None and await trainer.get_by_text("Epoch ").count():
        return trainer
    if trainer is not None:
        await trainer.close()
    return await load.start_training(context, url)


async def sweep(args: argparse.Namespace) -> list[ClassResult]:
    """The whole run ``main`` describes; returns the Draw page's line per class size (bench/school.py reads them)."""
    students = [int(n) for n in args.students.split(",")]
    with contextlib.ExitStack() as servers:
        if args.url:
            targets = [Target(DRAW, args.url, [int(p) for p in args.pids.split(",") if p])]
        else:
            targets = []
            for name in ([CANVAS_ONLY] if args.baseline else []) + [DRAW]:
                data = servers.enter_context(tempfile.TemporaryDirectory())
                env = {"DIGITS_DATA_DIR": data, "DIGITS_MNIST_DIR": args.mnist}
                url, server = servers.enter_context(running_server(env, script=SCRIPTS[name]))
                targets.append(Target(name, url, [server.pid]))
        digits = [int(d) for d in args.digits.split(",")]
        for target in targets:
            started = time.monotonic()
            target.recording = await asyncio.to_thread(record, target.url, digits)
            print(f"{target.name}: recorded {len(target.recording.strokes)} strokes of one Chromium session on "
                  f"{target.url} in {time.monotonic() - started:.0f} s", flush=True)
        draw = targets[-1]
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            if args.validate:
                await validate(draw, browser, args.validate, args)
            teacher, trainer = await browser.new_context(), None
            print(f"{args.strokes} strokes per student, one every {args.period} s"
                  f"{', a Quick run training' if args.train else ''}")
            print(HEADER, flush=True)
            yardstick = None
            if targets[0].name == CANVAS_ONLY:
                yardstick = await asyncio.to_thread(run_class, targets[0], min(students), args)
                print(yardstick.line(yardstick), flush=True)
            results = []
            for n in students:
                if args.train:
                    trainer = await ensure_training(teacher, draw.url, trainer)
                results.append(await asyncio.to_thread(run_class, draw, n, args))
                print(results[-1].line(yardstick), flush=True)
            if trainer is not None:
                print(f"  (training was {'still running' if await trainer.get_by_text('Epoch ').count() else 'over'}"
                      " when the last class ended)")
            await browser.close()
    return results


def plot(results: list[ClassResult], path: str) -> None:
    """The sweep as a curve: students against p50 and p95 (log scale), and the share of strokes answered."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    students = [r.students for r in results]
    fig, latency = plt.subplots(figsize=(7, 4))
    for label, of, style in (("p50", lambda r: r.p50_ms, "o-"), ("p95", lambda r: r.p95_ms, "s--")):
        latency.plot(students, [of(r) or np.nan for r in results], style, label=label)
    latency.set(xlabel="students drawing at once (a stroke each every 1.5 s)", ylabel="send → answer, ms",
                yscale="log")
    answered = latency.twinx()
    answered.plot(students, [100 * r.tally.outcomes[Outcome.ANSWERED] / max(r.tally.strokes, 1) for r in results],
                  "g^:", label="answered")
    answered.set(ylabel="strokes answered, %", ylim=(0, 105))
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"curve written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default="30,100,150,300", help="class sizes, one line each")
    parser.add_argument("--strokes", type=int, default=8, help="strokes per student")
    parser.add_argument("--period", type=float, default=1.5, help="seconds between one student's strokes")
    parser.add_argument("--digits", default="3,7,2,5", help="what the recorded Chromium session draws")
    parser.add_argument("--train", action="store_true", help="a Quick run trains while the class draws")
    parser.add_argument("--validate", type=int, default=0, metavar="K",
                        help="first compare K Chromium sessions with K replayed students")
    parser.add_argument("--url", help="a running dashboard (or nginx in front of replicas) instead of our own")
    parser.add_argument("--pids", default="", help="with --url: the server processes whose CPU and RSS count")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="the canvas-only page too, for the CPU ratio (not with --url)")
    parser.add_argument("--processes", type=int, default=0,
                        help=f"worker processes for the students (default: one per {STUDENTS_PER_PROCESS})")
    shared_mnist = ROOT.parent / "shared/data/mnist"
    parser.add_argument("--mnist", default=os.environ.get("DIGITS_MNIST_DIR") or
                        (str(shared_mnist) if shared_mnist.is_dir() else ""), help="training data for --train")
    parser.add_argument("--plot", metavar="PNG", help="also draw the Draw page's curve (students against p50, p95 "
                                                      "and strokes answered) into this picture")
    args = parser.parse_args()
    results = asyncio.run(sweep(args))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
