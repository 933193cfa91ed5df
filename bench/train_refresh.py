"""The Train page's server CPU per refresh while a run trains, with and without "Watch it learn".

N Chromium sessions keep the Train page open while a run trains; its live fragment asks the server for a
refresh every second. The web server's own CPU time over a window (from /proc, so the training worker's CPU
is not counted), divided by the refreshes the pages asked for in it (messages their websockets sent), is
what one refresh costs. Rounds alternate between the two kinds, each against a freshly started server with
its own data directory and run (``bench/train_page_app.py``, the Train page alone):

    without   the section left out (``BENCH_WITHOUT_SNAPSHOTS=1``)
    with      the section as users see it: the newest snapshot's pictures and probabilities

Run: ``python -m bench.train_refresh [--sessions 4] [--seconds 30] [--repeats 2]``. Trains on the bundled
sample (the run only has to last through the window).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass

from playwright.sync_api import sync_playwright

from bench.load import cpu_seconds
from harness.browser import CHROMIUM, CHROMIUM_ARGS, running_server
from training.hyperparams import Hyperparams
from training.jobs import JobSpec, JobState
from training.queue import TrainingQueue

LONG_RUN = Hyperparams(epochs=60, batch_size=64, train_size=6000)
"""Minutes of training on the sample: still running when every window has ended."""


@dataclass
class Round:
    name: str
    cpu_s: float
    refreshes: int
    seconds: float

    @property
    def ms_per_refresh(self) -> float:
        return 1000 * self.cpu_s / max(self.refreshes, 1)

    def line(self) -> str:
        return (f"{self.name:<8} {self.refreshes:4d} refreshes in {self.seconds:.0f} s  server CPU "
                f"{self.ms_per_refresh:5.1f} ms/refresh ({100 * self.cpu_s / self.seconds:.0f} % of a core)")


def run_round(name: str, sessions: int, seconds: float) -> Round:
    with tempfile.TemporaryDirectory() as data:
        os.environ.update(DIGITS_DATA_DIR=data, DIGITS_WORKER_IDLE_EXIT="1")
        queue = TrainingQueue()
        job = queue.submit(JobSpec(LONG_RUN, "bench"))  # and starts a worker for this data directory
        env = {"BENCH_WITHOUT_SNAPSHOTS": "1"} if name == "without" else {}
        with running_server(env, script="bench/train_page_app.py") as (url, server), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            sent = [0]
            pages = []
            for _ in range(sessions):
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.__setitem__(0, sent[0] + 1)))
                page.goto(f"{url}/train")
                pages.append(page)
            for page in pages:  # the run is training and, with the section, its snapshots are on every page
                page.get_by_text(re.compile(r"^Epoch \d+/")).first.wait_for(timeout=300_000)
                if name == "with":
                    page.get_by_text(re.compile(r"^After [\d,]+ training images")).wait_for(timeout=60_000)
            pages[0].wait_for_timeout(3000)  # past the first refreshes' one-off costs (caches, charts' first build)
            cpu, sent[0] = cpu_seconds(server.pid), 0
            pages[0].wait_for_timeout(seconds * 1000)
            result = Round(name, cpu_seconds(server.pid) - cpu, sent[0], seconds)
            exceptions = sum(page.get_by_test_id("stException").count() for page in pages)
            browser.close()
        queue.stop(job.id)  # and let the worker end it before its data directory goes
        deadline = time.monotonic() + 120
        while queue.jobs.get(job.id).state == JobState.RUNNING and time.monotonic() < deadline:
            time.sleep(0.5)
    if exceptions:
        raise RuntimeError(f"{exceptions} exception(s) shown on the Train page")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.sessions} Chromium sessions on the Train page while a run trains, {args.seconds:.0f} s windows")
    rounds = []
    for _ in range(args.repeats):
        for name in ("without", "with"):
            rounds.append(run_round(name, args.sessions, args.seconds))
            print(rounds[-1].line(), flush=True)
    cost = {name: statistics.median(r.ms_per_refresh for r in rounds if r.name == name) for name in ("without", "with")}
    print(f"server CPU per refresh (medians): without the section {cost['without']:.1f} ms, with it "
          f"{cost['with']:.1f} ms: {cost['with'] / cost['without']:.2f}×")


if __name__ == "__main__":
    main()
