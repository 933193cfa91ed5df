"""The service on the dashboard's port: ``POST /api/predict`` and ``GET /metrics`` (Starlette routes).

``/api/predict`` takes one image — the request body itself, or a multipart form field ``file`` — and
answers ``{"digit", "confidence", "probabilities"}`` through the same preprocessing and model as the
canvas (the server's default model). An image with no digit answers ``digit: null`` and the reason.
``?mode=number`` reads a whole number instead, answering as ``python -m model.predict --number``. Bad
input gets a 4xx ``{"error": ...}`` in the CLI's words; a body over ``MAX_FILE_BYTES`` is refused by its
declared length, or as soon as that many bytes have arrived, never read whole. Clients are held to
``api_per_minute`` requests (``training.limits``; 429 with ``Retry-After`` beyond it), except on this
machine when the server has no admin credential.

This module is the contract itself, for both servers that answer it: the dashboard's own route (``ROUTES``,
with the pages' cached default model) and the dedicated prediction service (``dashboard/api_service.py``,
with a model of its own per worker process) build their ``/api/predict`` with ``predict_routes``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.access import credential_configured
from dashboard.identity import is_loopback
from dashboard.monitoring import Source, exposition, timed_prediction
from dashboard.rate_limit import RateLimiter
from model.inference import Predictor
from model.number import read_number
from model.preprocess import MAX_FILE_BYTES, ImageError, ImageTooLarge, file_too_large
from training.limits import VisitorLimits

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CREDENTIAL_RECHECK_S = 5.0
"""A password or login set up while the server runs applies to the API within this many seconds."""


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) once it is known to exceed MAX_FILE_BYTES — before it is read whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise BadRequest(413, str(file_too_large(int(declared))))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FILE_BYTES:
            raise BadRequest(413, str(file_too_large(len(body))))
    return bytes(body)


async def _image_bytes(request: Request) -> bytes:
    body = await _read_body(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body

    async def replay() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(request.headers, replay()).parse()
    except MultiPartException as exc:
        raise BadRequest(400, f"malformed multipart form ({exc})") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise BadRequest(400, "the multipart form has no file field named 'file'")
    return await upload.read()


def _predict(predictor: Callable[[], Predictor], image: bytes, number: bool) -> dict:
    """The answer's JSON: one digit, or with ``number`` a whole number (as ``model.predict --number``)."""
    with timed_prediction(Source.API):
        if number:
            return read_number(predictor(), image).to_dict()
        prediction = predictor().predict(image)
    answer = prediction.to_dict()
    if prediction.no_digit is not None:
        answer["no_digit"] = str(prediction.no_digit)
    return answer


def _server_predictor() -> Predictor:
    """The dashboard's default model, from the pages' own cache."""
    # Deferred: st.App imports this module before Streamlit's runtime starts, and session's st.cache_data
    # created then makes Streamlit warn "No runtime found" at every start.
    from dashboard import session

    return session.server_predictor()


@functools.cache
def _limiter(per_minute: int) -> RateLimiter:
    return RateLimiter(per_minute)


_public: tuple[float, bool] = (-math.inf, False)
"""When the server was last found public or not (``_server_is_public``), and what was found."""


def _server_is_public() -> bool:
    """Whether an admin credential is set, looked up at most every CREDENTIAL_RECHECK_S: without a secrets.toml
    Streamlit searches for one at every look, which cost ~5 % of a request."""
    global _public
    checked, public = _public
    if time.monotonic() - checked >= CREDENTIAL_RECHECK_S:
        public = credential_configured()
        _public = (time.monotonic(), public)
    return public


def _retry_after(request: Request) -> float:
    """0 if the client may ask now. Clients on this machine are not limited unless the server is public
    (an admin credential is set: then a local proxy's clients would otherwise all pass)."""
    client = request.client.host if request.client else "unknown"
    if is_loopback(client) and not _server_is_public():
        return 0.0
    return _limiter(VisitorLimits.from_env().api_per_minute).wait_s(client)


async def answer(request: Request, predictor: Callable[[], Predictor], inline: bool) -> JSONResponse:
    """``POST /api/predict`` answered with the model ``predictor()`` gives: the rate limit, the body and its
    limits, the mode, and every error as ``{"error": ...}`` with its status. The prediction runs in a thread, so
    the event loop goes on serving meanwhile, or with ``inline`` on the event loop itself (see ``predict_routes``)."""
    wait = _retry_after(request)
    if wait > 0:
        limit, seconds = VisitorLimits.from_env().api_per_minute, max(1, math.ceil(wait))
        return JSONResponse({"error": f"too many requests: at most {limit} per minute per client; try again in "
                                      f"{seconds} s"}, status_code=429, headers={"Retry-After": str(seconds)})
    try:
        image = await _image_bytes(request)
        if not image:
            raise BadRequest(400, "empty request: send the image as the body, or as a multipart field 'file'")
        mode = request.query_params.get("mode", "digit")
        if mode not in ("digit", "number"):
            raise BadRequest(400, f"unknown mode {mode!r}: use mode=digit (the default) or mode=number")
        number = mode == "number"
        result = (_predict(predictor, image, number) if inline
                  else await anyio.to_thread.run_sync(_predict, predictor, image, number))
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    except ImageTooLarge as exc:
        return JSONResponse({"error": str(exc)}, status_code=413)
    except ImageError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse(result)


async def metrics(request: Request) -> Response:
    return Response(await run_in_threadpool(exposition), media_type=PROMETHEUS_TEXT)


async def usage(request: Request) -> JSONResponse:
    """Anything but POST on /api/predict: say how to use it (instead of falling through to the dashboard's page)."""
    return JSONResponse({"error": "POST an image to /api/predict: the file as the body, or a multipart field 'file'; "
                                  "?mode=number reads a whole number"}, status_code=405, headers={"Allow": "POST"})


def predict_routes(predictor: Callable[[], Predictor], inline: bool = False) -> list[Route]:
    """``/api/predict``: POST answered with ``predictor()``'s model, any other method told how to use it.

    ``inline`` predicts on the event loop: for a process whose one job is predicting, one at a time (the prediction
    service's workers), where handing each prediction to a thread and back only costs the hand-over. The
    dashboard's route predicts in threads: its event loop also carries every page's websocket."""

    async def predict(request: Request) -> JSONResponse:
        return await answer(request, predictor, inline)

    return [Route("/api/predict", predict, methods=["POST"]), Route("/api/predict", usage)]


ROUTES = [*predict_routes(_server_predictor), Route("/metrics", metrics, methods=["GET"])]
