"""The service on the dashboard's port: ``POST /api/predict`` and ``GET /metrics`` (Starlette routes).

``/api/predict`` takes one image — the request body itself, or a multipart form field ``file`` — and
answers ``{"digit", "confidence", "probabilities"}`` through the same preprocessing and model as the
canvas (the server's default model). An image with no digit answers ``digit: null`` and the reason. Bad
input gets a 4xx ``{"error": ...}`` in the CLI's words; a body over ``MAX_FILE_BYTES`` is refused by its
declared length, or as soon as that many bytes have arrived, never read whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard import session
from dashboard.monitoring import Source, exposition, timed_prediction
from model.inference import Prediction
from model.preprocess import MAX_FILE_BYTES, ImageError, ImageTooLarge, file_too_large

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


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


def _predict(image: bytes) -> Prediction:
    with timed_prediction(Source.API):
        return session.server_predictor().predict(image)


async def predict(request: Request) -> JSONResponse:
    try:
        image = await _image_bytes(request)
        if not image:
            raise BadRequest(400, "empty request: send the image as the body, or as a multipart field 'file'")
        prediction = await run_in_threadpool(_predict, image)
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    except ImageTooLarge as exc:
        return JSONResponse({"error": str(exc)}, status_code=413)
    except ImageError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    answer = prediction.to_dict()
    if prediction.no_digit is not None:
        answer["no_digit"] = str(prediction.no_digit)
    return JSONResponse(answer)


async def metrics(request: Request) -> Response:
    return Response(await run_in_threadpool(exposition), media_type=PROMETHEUS_TEXT)


ROUTES = [Route("/api/predict", predict, methods=["POST"]), Route("/metrics", metrics, methods=["GET"])]
