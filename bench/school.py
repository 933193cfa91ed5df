"""A school on one box: the scaled setup of docker-compose.yml run for real on this machine — Debian's nginx with
the repo's deploy/nginx.conf (cookie affinity, websockets) in front of R dashboard replicas sharing one data
directory, Debian's redis-server carrying the training queue, one training worker — and bench/class_load.py's
students drawing through nginx.

For each replica count of ``--replicas``, the class sizes of ``--students`` in turn (one line each, class_load's
columns; CPU and RSS are the replicas' and nginx's together), and then the knee: the first class size whose p95
passes 500 ms. ``--train`` keeps a Quick run training on the worker meanwhile, started from the Train page through
nginx as a teacher would.

``--kill`` instead runs one class (the first of ``--students``, on the first of ``--replicas``) and SIGKILLs a
replica once half its strokes are answered: its students reconnect through nginx to another replica as the browser
does, and the line says how many did and how long until their next stroke was answered. Before the class,
``--labellers`` Chromium sessions draw a digit each and press "Right" on it; after the kill every drawing they were
told was kept must be in the shared data directory, and each of them must still find its own on My drawings.

Run: ``python -m bench.school [--replicas 1,2,3] [--students 100,150,200,300] [--strokes 8] [--train]`` or
``python -m bench.school --kill --replicas 2 --students 100``. Everything listens on loopback and is stopped at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from playwright.sync_api import expect, sync_playwright

from bench import class_load
from harness import ROOT
from harness.browser import CHROMIUM, CHROMIUM_ARGS, draw_digit, running_server
from harness.cluster import balancer, redis_server
from harness.synthetic_drawings import as_png, stroke_digit
from training.drawings import DrawingStore, default_path

KNEE_MS = 500
TIMEOUT_MS = 120_000


@dataclass
class School:
    url: str  # nginx's
    replicas: list[tuple[str, subprocess.Popen]]  # each replica's own URL and process
    nginx_pids: list[int]
    data_dir: Path  # shared by every replica and the worker

    @property
    def pids(self) -> list[int]:
        """The processes whose CPU and memory a class costs: the replicas and nginx."""
        return [process.pid for _, process in self.replicas] + self.nginx_pids


@contextlib.contextmanager
def school(replicas: int, mnist: str):
    """The scaled setup with ``replicas`` replicas, up and answering; everything stopped afterwards."""
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {"DIGITS_DATA_DIR": str(tmp / "data"), "DIGITS_REDIS_URL": stack.enter_context(redis_server(tmp)),
               "DIGITS_WORKER": "external", "DIGITS_MNIST_DIR": mnist, "FORWARDED_ALLOW_IPS": "*"}
        servers = [stack.enter_context(running_server(env)) for _ in range(replicas)]
        log = stack.enter_context((tmp / "worker.log").open("w"))
        worker = subprocess.Popen([sys.executable, "-m", "training.worker"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT)
        stack.callback(worker.wait, 60)
        stack.callback(worker.terminate)
        url = stack.enter_context(balancer(tmp, [u.removeprefix("http://") for u, _ in servers]))
        nginx = [int(pid) for pid in subprocess.run(["pgrep", "-f", f"nginx.*{tmp}"], capture_output=True,
                                                     text=True).stdout.split()]
        for replica_url, _ in servers:
            warm_up(replica_url)
        yield School(url, servers, nginx, tmp / "data")


def warm_up(replica_url: str) -> None:
    """A replica as it is once it has served anyone: its model loaded and converted (a second or two, paid by the
    first student it serves), by one prediction through its own API route, which shares the pages' model cache."""
    request = urllib.request.Request(f"{replica_url}/api/predict", data=as_png(stroke_digit(7)), method="POST",
                                     headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()


def canvas_predictions(replica_url: str) -> float:
    """The strokes a replica has answered (its /metrics, read from the replica itself)."""
    with urllib.request.urlopen(f"{replica_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith('digits_predictions_total{source="canvas"}'))


def kill_when_half_answered(place: School, strokes: int, stop: threading.Event) -> None:
    """SIGKILL the first replica once the class's strokes answered, on all replicas, reach half of ``strokes``."""
    url, victim = place.replicas[0]
    start = sum(canvas_predictions(u) for u, _ in place.replicas)
    while not stop.wait(0.2):
        if sum(canvas_predictions(u) for u, _ in place.replicas) - start >= strokes / 2:
            victim.send_signal(signal.SIGKILL)
            print(f"  SIGKILLed the replica at {url} (pid {victim.pid}) half-way through the class", flush=True)
            return


class Labellers:
    """Chromium sessions that each label one drawing before the class, and look for it afterwards (in a thread of
    their own: Playwright's sync API, while the class runs on an event loop)."""

    def __init__(self, url: str, sessions: int):
        self.url, self.sessions = url, sessions
        self.kept = 0  # drawings the page said were kept
        self.found_after = 0  # sessions that found theirs on My drawings after the kill
        self._labelled, self._look, self._done = threading.Event(), threading.Event(), threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def label(self) -> None:
        self._thread.start()
        self._wait(self._labelled)

    def look_again(self) -> None:
        self._look.set()
        self._wait(self._done)

    def _wait(self, event: threading.Event) -> None:
        while not event.wait(1):
            if not self._thread.is_alive():
                break
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = []
                for _ in range(self.sessions):
                    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
                    page.goto(self.url)
                    draw_digit(page, 3)
                    page.get_by_role("button", name="Right, it's a").click(timeout=TIMEOUT_MS)
                    expect(page.get_by_text("Kept as a")).to_be_visible(timeout=TIMEOUT_MS)
                    self.kept += 1
                    pages.append(page)
                self._labelled.set()
                self._look.wait()
                for page in pages:  # after the kill: the same browsers, on whichever replica serves them now
                    page.goto(f"{self.url}/drawings")
                    theirs = page.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"#\d+: an? \d"))
                    expect(theirs.first).to_be_visible(timeout=TIMEOUT_MS)
                    self.found_after += theirs.count() >= 1
                browser.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = exc
        finally:
            self._labelled.set()
            self._done.set()


def kill_mid_class(args: argparse.Namespace) -> None:
    replicas, students = int(args.replicas.split(",")[0]), int(args.students.split(",")[0])
    with school(replicas, args.mnist) as place:
        print(f"== {students} students through nginx over {replicas} replicas, one SIGKILLed mid-class", flush=True)
        labellers = Labellers(place.url, args.labellers)
        labellers.label()
        stop = threading.Event()
        killer = threading.Thread(target=kill_when_half_answered, args=(place, students * args.strokes, stop))
        killer.start()
        try:
            [result] = asyncio.run(class_load.sweep(sweep_args(args, place, str(students))))
        finally:
            stop.set()
            killer.join()
        labellers.look_again()
        stored = DrawingStore(default_path(place.data_dir)).count()
        recoveries = result.tally.recoveries_s
        print(f"reconnected: {result.tally.reconnects} students; dropped → next stroke answered: "
              + (f"p50 {np.percentile(recoveries, 50):.1f} s, max {max(recoveries):.1f} s" if recoveries else "-"))
        print(f"labelled drawings: {labellers.kept} kept before the kill, {stored} in the data directory after it; "
              f"{labellers.found_after} of {labellers.sessions} labellers found theirs on My drawings after it")


def sweep_args(args: argparse.Namespace, place: School, students: str) -> argparse.Namespace:
    """class_load's options for a class through nginx, the replicas' and nginx's CPU counted."""
    return argparse.Namespace(**{**vars(args), "students": students}, url=place.url,
                              pids=",".join(map(str, place.pids)), baseline=False, validate=0, processes=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--students", default="100,150,200,300", help="class sizes, in increasing order")
    parser.add_argument("--strokes", type=int, default=8, help="strokes per student")
    parser.add_argument("--period", type=float, default=1.5, help="seconds between one student's strokes")
    parser.add_argument("--digits", default="3,7,2,5", help="what the recorded Chromium session draws")
    parser.add_argument("--train", action="store_true", help="a Quick run trains while the classes draw")
    parser.add_argument("--kill", action="store_true", help="SIGKILL a replica mid-class (see above)")
    parser.add_argument("--labellers", type=int, default=3, help="with --kill: Chromium sessions labelling")
    shared_mnist = ROOT.parent / "shared/data/mnist"
    parser.add_argument("--mnist", default=os.environ.get("DIGITS_MNIST_DIR") or
                        (str(shared_mnist) if shared_mnist.is_dir() else ""), help="training data for --train")
    args = parser.parse_args()
    if args.kill:
        kill_mid_class(args)
        return
    knees = {}
    for replicas in [int(r) for r in args.replicas.split(",")]:
        with school(replicas, args.mnist) as place:
            print(f"== {replicas} replica{'s' * (replicas > 1)} behind nginx ({place.url})", flush=True)
            results = asyncio.run(class_load.sweep(sweep_args(args, place, args.students)))
        past = min((r.students for r in results if r.p95_ms is None or r.p95_ms > KNEE_MS), default=None)
        held = max((r.students for r in results if past is None or r.students < past), default=None)
        knees[replicas] = (held, past)
    print(f"\nknee (p95 past {KNEE_MS} ms){', a Quick run training' if args.train else ''}:")
    print("replicas  held (p95 ≤ 500 ms)  first past it")
    for replicas, (held, past) in knees.items():
        print(f"{replicas:8d}  {held if held is not None else '-':>19}  {past if past is not None else '-':>13}")


if __name__ == "__main__":
    main()
