"""The training queue on a real Redis (Debian's redis-server), as when the dashboard runs on several machines."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from harness.browser import free_port
from training.hyperparams import Hyperparams
from training.jobs import JobSpec, JobState
from training.queue import TrainingQueue
from training.worker import Worker


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("redis-server is missing: apt-get install redis-server")
        pytest.skip("redis-server is missing (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_jobs_travel_through_redis_and_a_cancelled_one_is_skipped(redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_REDIS_URL", redis_url)
    monkeypatch.setenv("DIGITS_WORKER", "external")
    queue = TrainingQueue(tmp_path)
    assert type(queue.huey).__name__ == "RedisHuey"
    small = Hyperparams(epochs=1, batch_size=32, train_size=1000, seed=1)
    kept, cancelled = queue.submit(JobSpec(small, "via-redis")), queue.submit(JobSpec(small, "cancelled"))
    queue.cancel(cancelled.id)
    assert queue.huey.pending_count() == 2, "both messages wait in Redis; the cancelled one is revoked"
    Worker(queue).serve(idle_exit=0)
    assert queue.huey.pending_count() == 0
    assert queue.jobs.get(kept.id).state == JobState.FINISHED
    assert queue.jobs.get(cancelled.id).state == JobState.CANCELLED and queue.jobs.get(cancelled.id).started is None
