"""``POST /api/predict``'s contract, held by both servers that answer it, each started as users start it: the
dashboard (``streamlit run dashboard/server.py``) and the prediction service (``make serve-api``, a worker per core):
the canvas's preprocessing and model, clear 4xx errors, ``GET /metrics``. What only the service has (health,
counts over its workers, errors under load) is in test_api_service.py."""

from __future__ import annotations

import http.client
import io
import json
import re
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from harness import run_module
from harness.api_service import running_api_service
from harness.browser import running_app
from harness.synthetic_drawings import stroke_digit
from model.preprocess import MAX_FILE_BYTES

SERVERS = {"dashboard": running_app, "service": running_api_service}


@pytest.fixture(scope="module", params=SERVERS)
def url(request, tmp_path_factory):
    env = {"DIGITS_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    with SERVERS[request.param](env) as url:
        yield url


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def post(url: str, body: bytes, content_type: str = "application/octet-stream") -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/api/predict", data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def multipart(field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "digits-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def api_predictions(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    return float(re.search(r'^digits_predictions_total\{source="api"\} (\S+)$', text, re.M)[1])


@pytest.mark.parametrize("digit, place", [(7, "centre"), (3, "top-left"), (0, "bottom-right")])
def test_a_drawn_digit_is_read_anywhere_on_the_canvas(url, digit, place):
    status, answer = post(url, png(stroke_digit(digit, place, "small")))
    assert status == 200 and answer["digit"] == digit
    assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-3
    assert answer["confidence"] == max(answer["probabilities"])


def test_a_multipart_upload_in_the_file_field(url):
    status, answer = post(url, *multipart("file", "seven.png", png(stroke_digit(7))))
    assert (status, answer["digit"]) == (200, 7)
    status, answer = post(url, *multipart("image", "seven.png", png(stroke_digit(7))))
    assert status == 400 and "'file'" in answer["error"]


def test_bad_input_gets_a_4xx_json_error_in_the_cli_s_words(url, tmp_path):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not an image at all")
    cli = run_module("model.predict", str(garbage))
    cli_error = json.loads(cli.stdout.splitlines()[-1])["error"]
    status, answer = post(url, garbage.read_bytes())
    assert status == 422 and answer["error"] in cli_error
    truncated = png(stroke_digit(4))[:200]
    status, answer = post(url, truncated)
    assert status == 422 and "corrupt or truncated" in answer["error"]
    status, answer = post(url, b"")
    assert status == 400 and "empty request" in answer["error"]
    status, answer = post(url, png(np.zeros((20_000, 2_500), np.uint8)))
    assert status == 413 and "too large" in answer["error"]


def test_a_body_over_the_limit_is_refused_before_it_is_sent(url):
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/predict")
    connection.putheader("Content-Length", str(MAX_FILE_BYTES + 1))
    connection.endheaders()  # headers only: the answer must come without waiting for 10 MB
    response = connection.getresponse()
    answer = json.loads(response.read())
    assert response.status == 413 and "file too large" in answer["error"] and "the limit is 10 MB" in answer["error"]


def test_a_blank_image_gets_no_made_up_digit(url):
    status, answer = post(url, png(np.full((280, 280), 255, np.uint8)))
    assert status == 200 and answer["digit"] is None and answer["no_digit"] == "no ink: the image is blank"


def test_predictions_total_grows_with_each_api_prediction(url):
    before = api_predictions(url)
    for _ in range(3):
        assert post(url, png(stroke_digit(2)))[0] == 200
    assert post(url, b"not an image")[0] == 422
    assert api_predictions(url) == before + 3, "answered images count, refused ones do not"


def test_metrics_are_in_prometheus_format_and_the_dashboard_s_report_training_jobs_and_sessions(url, request):
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    series = ['digits_prediction_seconds_bucket{le="0.05",source="api"}']
    if request.node.callspec.params["url"] == "dashboard":  # the service reports its predictions only
        series += ['digits_training_jobs{state="queued"}', "digits_training_queue_length", "digits_active_sessions",
                   "digits_worker_heartbeat_age_seconds"]
    for name in series:
        assert name in text


def test_get_on_the_api_says_how_to_use_it(url):
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{url}/api/predict", timeout=30)
    assert answer.value.code == 405 and answer.value.headers["Allow"] == "POST"
    assert "POST an image to /api/predict" in json.loads(answer.value.read())["error"]
