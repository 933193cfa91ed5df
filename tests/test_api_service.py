"""What only the prediction service (``make serve-api``: ``python -m dashboard.api_service``, one worker per core)
has: its health route, ``/metrics`` counts added up over its workers, bad input answered as the dashboard answers
it while clients load the service, int8 weights unless asked for the exact float model, and the rate limit per
worker. The contract itself is tested on both servers
in test_api.py."""

from __future__ import annotations

import http.client
import io
import json
import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from harness.api_service import running_api_service
from harness.synthetic_drawings import stroke_digit
from model.preprocess import MAX_FILE_BYTES

LOAD_S = 8.0
"""How long the concurrent clients load the service while bad input is sent."""


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with running_api_service({"DIGITS_DATA_DIR": str(tmp_path_factory.mktemp("data"))}) as url:
        yield url


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def post(connection: http.client.HTTPConnection, body: bytes | None, headers: dict[str, str] | None = None,
         chunks: list[bytes] | None = None) -> tuple[int, dict]:
    """One POST on a kept-alive connection; ``chunks`` send the body chunked, with no declared length."""
    if chunks is None:
        connection.request("POST", "/api/predict", body=body, headers=headers or {})
    else:
        connection.request("POST", "/api/predict", body=iter(chunks), encode_chunked=True)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def api_predictions(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    return float(re.search(r'^digits_predictions_total\{source="api"\} (\S+)$', text, re.M)[1])


def test_health_answers_ok(url):
    with urllib.request.urlopen(f"{url}/health", timeout=30) as response:
        assert (response.status, response.read()) == (200, b"ok")


def test_metrics_count_every_worker_s_predictions(url):
    before, seven = api_predictions(url), png(stroke_digit(7))

    def client(_: int) -> list[int]:
        connection = connect(url)  # a connection each: the kernel hands them to both workers
        return [post(connection, seven)[1]["digit"] for _ in range(5)]

    with ThreadPoolExecutor(16) as pool:
        digits = [d for answers in pool.map(client, range(16)) for d in answers]
    assert digits == [7] * 80
    assert api_predictions(url) == before + 80, "one worker's /metrics counts the other's predictions too"


BAD_INPUT = {
    "empty body": ({"body": b""}, 400, "empty request"),
    "not an image": ({"body": b"this is not an image at all"}, 422, "not an image file"),
    "corrupt PNG": ({"body": png(stroke_digit(4))[:200]}, 422, "corrupt or truncated"),
    "huge dimensions": ({"body": png(np.zeros((20_000, 2_500), np.uint8))}, 413, "too large"),
    "declared over the limit": ({"body": None, "headers": {"Content-Length": str(MAX_FILE_BYTES + 1)}}, 413,
                                "the limit is 10 MB"),
    "streamed over the limit": ({"body": None, "chunks": [bytes(2**20)] * 10 + [b"!"]}, 413, "the limit is 10 MB"),
}
"""What test_api.py sends the dashboard's route, with the answer it gets: (post's arguments, status, words)."""


def test_bad_input_is_answered_as_by_the_dashboard_while_clients_load_the_service(url):
    seven, stop, answers = png(stroke_digit(7, "bottom-left", "small")), threading.Event(), []

    def load() -> None:
        connection = connect(url)
        while not stop.is_set():
            answers.append(post(connection, seven, {"Content-Type": "image/png"}))

    loaders = [threading.Thread(target=load) for _ in range(8)]
    for thread in loaders:
        thread.start()
    try:
        deadline, rounds = time.monotonic() + LOAD_S, 0
        while time.monotonic() < deadline or rounds == 0:
            for name, (request, status, words) in BAD_INPUT.items():
                connection = connect(url)  # a refused body may close it: a fresh one per request
                answer = post(connection, **request)
                assert answer[0] == status and words in answer[1]["error"], f"{name}: {answer}"
                connection.close()
            rounds += 1
    finally:
        stop.set()
        for thread in loaders:
            thread.join(timeout=60)
    assert len(answers) > 8 * rounds, "the load ran alongside the bad input"
    assert all(status == 200 and answer["digit"] == 7 for status, answer in answers)


def answer_to(url: str, image: np.ndarray) -> dict:
    connection = connect(url)
    status, answer = post(connection, png(image))
    connection.close()
    assert status == 200, answer
    return answer


def test_int8_weights_by_default_and_the_dashboard_s_own_numbers_when_exact(url, predictor, tmp_path):
    drawings = [stroke_digit(digit, "top-right", "small") for digit in range(10)]
    exact = [predictor.predict(drawing) for drawing in drawings]
    served = [answer_to(url, drawing) for drawing in drawings]
    assert [answer["digit"] for answer in served] == [prediction.digit for prediction in exact] == list(range(10))
    moved = [np.abs(np.array(answer["probabilities"]) - prediction.probabilities).max()
             for answer, prediction in zip(served, exact)]
    assert max(moved) < 0.05 and max(moved) > 1e-5, "the default serves int8 weights: close, not identical"
    with running_api_service({"DIGITS_DATA_DIR": str(tmp_path), "DIGITS_API_EXACT": "1"}, workers=1) as exact_url:
        for drawing, prediction in zip(drawings, exact):
            np.testing.assert_allclose(answer_to(exact_url, drawing)["probabilities"], prediction.probabilities,
                                       atol=1e-5)


def test_each_worker_holds_clients_to_the_api_limit_when_the_service_is_public(tmp_path):
    env = {"DIGITS_DATA_DIR": str(tmp_path), "DIGITS_ADMIN_PASSWORD": "let me in, please",
           "DIGITS_LIMIT_API_PER_MINUTE": "5"}
    with running_api_service(env, workers=1) as public:
        connection = connect(public)
        answers = [post(connection, b"not an image") for _ in range(6)]
        connection.request("POST", "/api/predict", body=b"not an image")
        retry_after = connection.getresponse().getheader("Retry-After")
    assert [status for status, _ in answers] == [422] * 5 + [429]
    assert "at most 5 per minute per client" in answers[5][1]["error"] and int(retry_after) >= 1

