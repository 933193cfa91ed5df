"""The scaled-out setup of docker-compose.yml without Docker: two dashboard processes sharing one data
directory, the repo's own nginx config (deploy/nginx.conf) in front of them with Debian's nginx, the training
worker, Debian's redis-server carrying the queue and the prediction service taking /api/ — then Chromium
sessions and API clients through the balancer."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from harness import ROOT
from harness import cluster as cluster_servers
from harness.api_service import running_api_service
from harness.browser import CANVAS, CHROMIUM, clear_canvas, draw_digit, running_server
from harness.cluster import balancer, redis_server
from harness.synthetic_drawings import stroke_digit

TIMEOUT = 60_000


def required(program: str, package: str) -> str:
    """A server program's path: a failure where CI must have it, else a skip."""
    try:
        return cluster_servers.required(program, package)
    except cluster_servers.Missing as missing:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(balancer URL, [replica URLs], data directory, prediction service URL) with the worker running; everything
    stopped afterwards."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing")
    required("redis-server", "redis-server")
    required("nginx", "nginx-light")
    tmp = tmp_path_factory.mktemp("cluster")
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(tmp))
        env = {"DIGITS_DATA_DIR": str(tmp / "data"), "DIGITS_REDIS_URL": redis_url, "DIGITS_WORKER": "external"}
        replicas = [stack.enter_context(running_server(env))[0] for _ in range(2)]
        log = stack.enter_context((tmp / "worker.log").open("w"))  # read it when a run does not start
        worker = subprocess.Popen([sys.executable, "-m", "training.worker"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT)
        stack.callback(worker.wait, 60)
        stack.callback(worker.terminate)
        api = stack.enter_context(running_api_service(env))
        url = stack.enter_context(balancer(tmp, [r.removeprefix("http://") for r in replicas],
                                           api.removeprefix("http://")))
        yield url, replicas, tmp / "data", api


def prediction(page):
    return page.get_by_test_id("stMetricValue").first


def active_sessions(replica: str) -> float:
    with urllib.request.urlopen(f"{replica}/metrics", timeout=30) as response:
        return float(re.search(r"^digits_active_sessions (\S+)$", response.read().decode(), re.M)[1])


def test_sessions_spread_over_both_replicas_and_stay_on_theirs_across_many_strokes(cluster, browser):
    from playwright.sync_api import expect

    url, replicas, *_ = cluster
    students = []
    # Six browsers, and more while every one has landed on the same replica: six random cookies all hash onto one
    # of two replicas about once in 32 runs; sixteen, once in 30,000.
    while len(students) < 6 or (len(students) < 16 and not all(active_sessions(r) >= 1 for r in replicas)):
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        answered_by = set()
        page.on("response", lambda r, seen=answered_by: seen.add(r.headers.get("x-digits-replica")) if
                r.url.startswith(url) else None)
        page.goto(url)
        page.locator(CANVAS).wait_for(timeout=TIMEOUT)
        students.append((context, page, answered_by))
    assert all(active_sessions(replica) >= 1 for replica in replicas), "the balancer must use both replicas"
    for digits in ((7, 1, 0), (3, 4, 2)):
        for (_, page, _), digit in zip(students, digits * (len(students) // 3 + 1)):
            draw_digit(page, digit)
            expect(prediction(page)).to_have_text(str(digit), timeout=TIMEOUT)
            clear_canvas(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)
    for context, page, answered_by in students:
        answered_by.discard(None)
        assert len(answered_by) == 1, f"one browser, one replica: {answered_by}"
        assert page.get_by_text("Connection error").count() == 0
        context.close()


def test_a_run_queued_on_one_replica_trains_on_the_shared_worker_and_shows_on_the_other(cluster, browser):
    from playwright.sync_api import expect

    _, (first, second), *_ = cluster
    queuing = browser.new_page(viewport={"width": 1300, "height": 1000})
    queuing.goto(f"{first}/train")
    for label, value in (("Epochs", 3), ("Train size", 3000)):
        queuing.get_by_label(label, exact=True).fill(str(value))
        queuing.get_by_label(label, exact=True).press("Tab")
    queuing.get_by_label("Run name").fill("through-one")
    queuing.get_by_role("button", name="Start training").click()
    watching = browser.new_page(viewport={"width": 1300, "height": 1000})
    watching.goto(f"{second}/train")
    expect(watching.get_by_text("Run “through-one”: running")).to_be_visible(timeout=TIMEOUT)
    expect(watching.get_by_text("Run “through-one”: finished")).to_be_visible(timeout=180_000)
    queuing.close()
    watching.close()


def test_a_default_set_on_one_replica_is_used_by_new_sessions_on_the_other(cluster, browser):
    from playwright.sync_api import expect

    _, (first, second), data, _ = cluster
    run_id = next((data / "runs").glob("*through-one")).name  # the run the previous test trained
    admin = browser.new_page(viewport={"width": 1300, "height": 1000})
    admin.goto(f"{first}/train")
    admin.get_by_role("button", name="Set as default").click()  # the model picked first: the newest run
    expect(admin.get_by_text(f"new sessions on this server use {run_id}")).to_be_visible(timeout=TIMEOUT)
    student = browser.new_page(viewport={"width": 1300, "height": 1000})
    student.goto(second)
    expect(student.get_by_text(f"Model: {run_id}")).to_be_visible(timeout=TIMEOUT)
    draw_digit(student, 1)
    expect(prediction(student)).to_have_text(re.compile(r"\d"), timeout=TIMEOUT)
    admin.close()
    student.close()


def test_the_api_goes_to_the_prediction_service_and_pages_to_the_replicas(cluster):
    url, replicas, _, api = cluster
    image = io.BytesIO()
    Image.fromarray(stroke_digit(3)).save(image, format="PNG")
    request = urllib.request.Request(f"{url}/api/predict", data=image.getvalue(), headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.loads(response.read())["digit"] == 3
        assert f"http://{response.headers['X-Digits-Replica']}" == api
    with urllib.request.urlopen(f"{api}/metrics", timeout=30) as response:
        assert re.search(r'^digits_predictions_total\{source="api"\} 1\.0$', response.read().decode(), re.M)
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
        assert f"http://{response.headers['X-Digits-Replica']}" in replicas
