"""API throughput: Locust (headless, as a library) against ``POST /api/predict`` of a real server.

Starts the dashboard as users do (``streamlit run dashboard/server.py``), then for each client count runs
Locust users that post a drawn digit back to back for ``--seconds``, and prints requests/s, p50/p95 and
failures — next to the same image through ``Predictor.predict`` in this process (what one prediction costs
without HTTP, threads or JSON), the yardstick for the service's overhead. Locust runs on the same machine,
so its own CPU is part of the figures.
Run: ``python -m bench.api_load [--clients 8,32] [--seconds 20]``.
"""

from __future__ import annotations

import argparse  # noqa: I001 - after Locust, see above
import tempfile
import time

import gevent
from locust import FastHttpUser, constant, task  # first: Locust patches the standard library with gevent
from locust.env import Environment

from harness.browser import running_app
from harness.synthetic_drawings import as_png, stroke_digit

BODY = as_png(stroke_digit(7, "bottom-left", "small"))


class Client(FastHttpUser):
    """Posts the drawing as the raw body, again as soon as the answer is in."""

    wait_time = constant(0)

    @task
    def predict(self) -> None:
        with self.client.post("/api/predict", data=BODY, headers={"Content-Type": "image/png"},
                              catch_response=True) as response:
            if response.status_code != 200 or response.json().get("digit") != 7:
                response.failure(f"{response.status_code}: {response.text[:80]}")


def run_locust(url: str, clients: int, seconds: float) -> dict[str, float]:
    env = Environment(user_classes=[Client], host=url)
    runner = env.create_local_runner()
    runner.start(clients, spawn_rate=clients)
    gevent.sleep(2)  # every user running before measuring
    env.stats.reset_all()
    started = time.perf_counter()
    gevent.sleep(seconds)
    elapsed = time.perf_counter() - started
    total = env.stats.total
    figures = {"requests": total.num_requests, "failures": total.num_failures, "rps": total.num_requests / elapsed,
               "p50": total.get_response_time_percentile(0.5), "p95": total.get_response_time_percentile(0.95)}
    runner.quit()
    return figures


def in_process_rate(seconds: float = 5.0) -> float:
    from model.inference import Predictor
    from model.store import SHIPPED_MODEL

    predictor, done = Predictor.load(SHIPPED_MODEL), 0
    predictor.predict(BODY)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        predictor.predict(BODY)
        done += 1
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="8,32", help="comma-separated concurrent client counts")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    baseline = in_process_rate()
    print(f"in-process Predictor.predict (one thread, no HTTP): {baseline:,.0f} images/s")
    with tempfile.TemporaryDirectory() as data, running_app({"DIGITS_DATA_DIR": data}) as url:
        run_locust(url, 4, 3)  # warm-up: threads, compiled shapes
        for clients in (int(c) for c in args.clients.split(",")):
            f = run_locust(url, clients, args.seconds)
            print(f"{clients:>3} clients: {f['rps']:,.0f} requests/s ({f['rps'] / baseline:.2f}× in-process), "
                  f"p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms, {f['failures']} failed of {f['requests']}")


if __name__ == "__main__":
    main()
