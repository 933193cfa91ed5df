"""``python -m dashboard.api_service``: ``POST /api/predict`` in a service of its own (port 5002, or
``DIGITS_API_PORT``), for traffic that should not queue behind Streamlit's page runs in the dashboard's process.

The contract is the dashboard's route, from the same module (``dashboard/api.py``: body and its limits,
modes, errors, rate limit, the answer). What differs is the serving: uvicorn with one worker process per core,
each holding the server's default model itself (``model.inference.DefaultPredictor``) with TensorFlow at one
thread, since the processes are the parallelism and more threads per process only contend for the same cores.
The model's weights are served as int8 (dynamic-range quantization, ~5× cheaper forward pass; the probabilities
move by at most a few hundredths, and 1 digit in 10,000 of MNIST's test set changes); ``--exact``
(``DIGITS_API_EXACT=1``) serves the float model instead, the dashboard's numbers to the last digit.
``GET /metrics`` gives the dashboard's prediction series (``digits_predictions_total`` and
``digits_prediction_seconds``, source "api") added up over the workers through prometheus_client's
multiprocess mode; ``GET /health`` answers "ok" once the worker's model is loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

DEFAULT_PORT = 5002
EXACT_ENV = "DIGITS_API_EXACT"
"""Set to 1 (``--exact`` sets it for the workers): the float model's numbers instead of the int8 weights'."""


def exact_asked() -> bool:
    """Whether EXACT_ENV asks for the float model (anything but unset, empty or 0)."""
    return os.environ.get(EXACT_ENV, "") not in ("", "0")


def create_app() -> Starlette:
    """One worker's app (uvicorn calls this in each worker process)."""
    # Imported here, not at the top: the process that starts the workers serves nothing and should not hold
    # TensorFlow, and prometheus_client must load after main() set PROMETHEUS_MULTIPROC_DIR, or its counts
    # stay in this process, where /metrics does not look (dashboard.api loads it through dashboard.monitoring).
    from model.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()  # as the dashboard: none of TensorFlow's C++ log lines
    import tensorflow as tf
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    from dashboard.api import PROMETHEUS_TEXT, predict_routes
    from dashboard.lean_reruns import freeze_loaded_heap
    from model.inference import DefaultPredictor

    # Streamlit (imported through dashboard.api) hands uvicorn's access logger a handler of its own when it
    # loads its config (at the first st.secrets read), after access_log=False took effect: a line per request,
    # CPU the predictions need. A disabled logger stays off whatever handlers it is given.
    logging.getLogger("uvicorn.access").disabled = True
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    default_model = DefaultPredictor(quantized=not exact_asked())

    async def metrics(request: Request) -> Response:
        """Every worker's counts, summed from the files prometheus_client keeps for each process."""
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=PROMETHEUS_TEXT)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        default_model()  # loaded (and converted) before the first request: /health answering means ready
        freeze_loaded_heap()  # full collections then skip TensorFlow's objects: no pause of tens of ms mid-request
        yield

    # One prediction at a time per worker, on its event loop (the others wait there, not in threads): the worker
    # has one core, and threads only take turns at the GIL and the core.
    routes = [*predict_routes(default_model, inline=True), Route("/metrics", metrics, methods=["GET"]),
              Route("/health", health, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: every interface)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DIGITS_API_PORT", DEFAULT_PORT)),
                        help=f"port (default: DIGITS_API_PORT, else {DEFAULT_PORT})")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="worker processes (default: one per core this process may run on)")
    parser.add_argument("--exact", action="store_true", default=exact_asked(),
                        help=f"serve the float model (the dashboard's numbers exactly) instead of int8 weights, "
                             f"at ~0.7× the requests/s (default: {EXACT_ENV})")
    args = parser.parse_args()
    os.environ[EXACT_ENV] = "1" if args.exact else "0"  # the workers read it in create_app
    # Set before the workers start (they inherit it): prometheus_client keeps each one's counts in files here,
    # which /metrics adds up. A fresh folder per start: counts begin at 0, as one process's own would.
    with tempfile.TemporaryDirectory(prefix="digits-api-metrics-") as counts:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts
        uvicorn.run("dashboard.api_service:create_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, http="httptools", loop="uvloop", access_log=False, proxy_headers=True)


if __name__ == "__main__":
    main()
