"""``POST /api/predict`` under Debian's ``wrk``: the prediction service against the dashboard's own route, in one run.

Starts on 127.0.0.1 with one data directory the service (``python -m dashboard.api_service`` as ``make
serve-api`` does), the service serving the float model (``--exact``: what its int8 weights gain) and the
dashboard (``streamlit run dashboard/server.py``); checks that each reads the drawing, warms each up, then for
each connection count loads one after the other for ``--seconds`` with a wrk Lua script that POSTs a drawn
digit (a 280×280 canvas PNG, as in bench/api_load.py) back to back, and prints requests/s, p50/p99 and errors
(socket errors and non-2xx answers) of each, and the service's figures as a ratio of the route's and of the
float model's — and of the machine's ceiling, measured first in the same run: ``Predictor.predict`` (int8
weights) on the drawing in a loop, one process per core at once (TensorFlow at one thread, as in the service's
workers), no HTTP. wrk runs on the same machine (one thread), so its CPU is part of the figures. The servers
are stopped at the end.
Run: ``python -m bench.api_wrk [--connections 8,32] [--seconds 15]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from dashboard.api_service import EXACT_ENV
from harness.api_service import running_api_service
from harness.browser import running_app
from harness.synthetic_drawings import as_png, stroke_digit

DIGIT = 7
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/png"
local file = io.open("%(png)s", "rb")
wrk.body = file:read("*a")
file:close()

done = function(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format('{"requests": %%d, "seconds": %%f, "p50_ms": %%f, "p99_ms": %%f, "errors": %%d}\\n',
        summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
        errors.connect + errors.read + errors.write + errors.status + errors.timeout))
end
"""
"""The request, and a last line of JSON with what the comparison needs (wrk's own report is for people)."""


def drawing_png() -> bytes:
    return as_png(stroke_digit(DIGIT, "bottom-left", "small"))


def reads_the_digit(url: str, png: bytes) -> bool:
    request = urllib.request.Request(f"{url}/api/predict", data=png, headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["digit"] == DIGIT


CEILING = """
import sys, time
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from model.inference import Predictor
from model.store import SHIPPED_MODEL
predictor, image = Predictor.load(SHIPPED_MODEL, quantized=True), open(sys.argv[1], "rb").read()
for _ in range(50):
    predictor.predict(image)
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
done, started = 0, time.perf_counter()
while time.perf_counter() - started < float(sys.argv[3]):
    predictor.predict(image)
    done += 1
print(done / (time.perf_counter() - started))
"""


def ceiling(png: Path, seconds: float = 8.0) -> float:
    """Predictions/s of one process per core running ``Predictor.predict`` at once (they start together, after
    loading), with the service's int8 weights: what the machine does with no HTTP at all."""
    start = time.time() + 30  # every process loaded by then
    processes = [subprocess.Popen([sys.executable, "-c", CEILING, str(png), str(start), str(seconds)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                 for _ in range(len(os.sched_getaffinity(0)))]
    return sum(float(process.communicate(timeout=120)[0]) for process in processes)


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    """One wrk run; its figures, with requests/s over the run's own duration."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    done = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
                           f"{url}/api/predict"], capture_output=True, text=True, timeout=seconds + 60, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="8,32", help="comma-separated wrk connection counts")
    parser.add_argument("--seconds", type=int, default=15, help="length of each measured wrk run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "digit.png"
        png.write_bytes(drawing_png())
        script = Path(tmp) / "post_digit.lua"
        script.write_text(LUA % {"png": png})
        machine = ceiling(png)
        print(f"ceiling: {machine:,.0f} predictions/s ({len(os.sched_getaffinity(0))} processes of "
              "Predictor.predict at once, no HTTP)")
        env = {"DIGITS_DATA_DIR": str(Path(tmp) / "data")}
        with (running_api_service(env) as service, running_api_service({**env, EXACT_ENV: "1"}) as exact,
              running_app(env) as route):
            servers = {"service": service, "service --exact": exact, "dashboard route": route}
            for name, url in servers.items():
                assert reads_the_digit(url, png.read_bytes()), f"the {name} does not read the drawing as {DIGIT}"
                run_wrk(url, script, 8, 3)  # warm-up: every worker's model loaded, threads started
            for connections in (int(c) for c in args.connections.split(",")):
                measured = {name: run_wrk(url, script, connections, args.seconds) for name, url in servers.items()}
                for name, f in measured.items():
                    print(f"{connections:>3} connections, {name:<16}: {f['rps']:7,.0f} requests/s, "
                          f"p50 {f['p50_ms']:6.1f} ms, p99 {f['p99_ms']:7.1f} ms, {f['errors']} errors "
                          f"of {f['requests']:,}")
                new, exact, old = (measured[name] for name in servers)
                print(f"{connections:>3} connections: the service answers {new['rps'] / old['rps']:.1f}× the "
                      f"requests/s of the dashboard route, at {new['p99_ms'] / old['p99_ms']:.2f}× its p99; "
                      f"{new['rps'] / exact['rps']:.2f}× the float model's requests/s (--exact), at "
                      f"{new['p99_ms'] / exact['p99_ms']:.2f}× its p99; {new['rps'] / machine:.0%} of the ceiling")


if __name__ == "__main__":
    main()
