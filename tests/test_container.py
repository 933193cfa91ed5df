"""Docker, tested the closest way a machine without a Docker engine allows.

hadolint lints the Dockerfile; the compose file is parsed and checked; and the container's start is
replayed: the build context filtered through .dockerignore into a fresh folder, the Dockerfile's ENV
applied, and its CMD run from its WORKDIR as an unprivileged user whose only writable place is the data
directory — then /_stcore/health and a real prediction in Chromium.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import ROOT
from harness.browser import CANVAS, CHROMIUM, CHROMIUM_ARGS, draw_digit, free_port, running_app

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def dockerfile_instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [tuple(line.strip().split(None, 1)) for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", args))
    return env


def dockerfile_value(name: str) -> str:
    return [args for instruction, args in dockerfile_instructions() if instruction == name][-1]


def dockerignore_allows(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path (or a parent folder of it) decides."""
    allowed = True
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        regex = re.escape(body).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, c) for c in candidates):
            allowed = negate
    return allowed


def build_context_copy(destination: Path) -> list[str]:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    copied = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".venv")]
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(ROOT).as_posix()
            if dockerignore_allows(rel, patterns):
                (destination / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, destination / rel)
                copied.append(rel)
    return copied


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_follows_streamlits_conventions():
    assert dockerfile_value("FROM").startswith("python:3.11-slim")
    assert dockerfile_value("WORKDIR") == "/app"
    assert dockerfile_value("EXPOSE") == "5001"
    assert "/_stcore/health" in dockerfile_value("HEALTHCHECK")
    assert dockerfile_value("USER") not in ("root", "0")
    assert "--no-cache-dir" in DOCKERFILE
    assert json.loads(dockerfile_value("VOLUME")) == [dockerfile_env()["DIGITS_DATA_DIR"]]
    cmd = json.loads(dockerfile_value("CMD"))
    assert cmd == ["streamlit", "run", "dashboard/server.py", "--server.port=5001", "--server.address=0.0.0.0"]


def test_compose_maps_the_port_mounts_the_data_volume_and_checks_health():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["dashboard"]
    assert "profiles" not in service, "plain `docker compose up` is this one container"
    assert [name for name, s in compose["services"].items() if "profiles" not in s] == ["dashboard"]
    assert "5001:5001" in service["ports"]
    data_dir = dockerfile_env()["DIGITS_DATA_DIR"]
    volume = next(v for v in service["volumes"] if v.endswith(f":{data_dir}"))
    assert volume.split(":")[0] in compose["volumes"], "a named volume, so trained models survive upgrades"
    assert "/_stcore/health" in " ".join(service["healthcheck"]["test"])
    assert service["restart"] in ("unless-stopped", "always")
    assert "DIGITS_MNIST_DIR" in service["environment"]
    assert "DIGITS_WORKER" not in service["environment"], "the single container starts its own worker"


def test_the_scaled_profile_has_replicas_behind_a_sticky_balancer_a_worker_and_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    web, worker, redis, lb = (services[name] for name in ("web", "worker", "redis", "lb"))
    assert all(s["profiles"] == ["scaled"] for s in (web, worker, redis, lb))
    assert web["deploy"]["replicas"] >= 2 and "ports" not in web, "replicas are reached through the balancer"
    for service in (web, worker):
        assert service["environment"]["DIGITS_REDIS_URL"].startswith("redis://redis:")
        assert service["volumes"] == services["dashboard"]["volumes"], "one shared data volume"
    assert web["environment"]["DIGITS_WORKER"] == "external"
    assert worker["command"] == ["python", "-m", "training.worker"]
    assert lb["ports"] == ["5001:80"] and lb["image"].startswith("nginx:")
    mounted = next(v for v in lb["volumes"] if v.endswith("/etc/nginx/conf.d/default.conf:ro"))
    nginx = (ROOT / mounted.split(":")[0]).read_text()
    assert "hash $digits_affinity consistent" in nginx and "server web:5001;" in nginx
    assert "proxy_set_header Upgrade $http_upgrade" in nginx, "Streamlit needs its websocket"
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]


def test_prometheus_config_is_valid_and_scrapes_every_replica_and_the_worker():
    config = ROOT / "deploy" / "prometheus.yml"
    scrape = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert scrape["digits-web"]["dns_sd_configs"][0]["names"][0] == "web"
    assert scrape["digits-worker"]["static_configs"][0]["targets"] == ["worker:9101"]
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("promtool is missing: apt-get install prometheus")
        pytest.skip("promtool is missing (apt-get install prometheus)")
    result = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_contents_are_only_what_the_app_needs(tmp_path):
    copied = build_context_copy(tmp_path)
    assert "model/weights/default.keras" in copied and "dashboard/streamlit_app.py" in copied
    assert "training/sample/mnist_sample.npz" in copied and ".streamlit/config.toml" in copied
    assert not [p for p in copied if p.startswith(("tests/", "bench/", ".ci/", ".git")) or "__pycache__" in p]


def unprivileged_user() -> dict[str, int]:
    """Popen arguments that run as 'nobody', like the image's USER — if this Python is reachable by it.

    As root with the interpreter in a world-readable place (as in the image) the replay runs as nobody;
    where the interpreter lives under a private home (pyenv in /root), it runs as the current user and
    the test checks instead that nothing was written beside the code.
    """
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    try:
        probe = subprocess.run([sys.executable, "-c", "import streamlit"], user=nobody.pw_uid,
                               group=nobody.pw_gid, capture_output=True, cwd="/")
    except PermissionError:
        return {}
    return {"user": nobody.pw_uid, "group": nobody.pw_gid} if probe.returncode == 0 else {}


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def test_replayed_container_start_serves_health_and_predicts(tmp_path):
    app, data = tmp_path / "app", tmp_path / "data"
    app.mkdir()
    build_context_copy(app)
    for path in [app, *app.rglob("*")]:  # the code is root's and read-only, as COPY leaves it for USER
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    data.mkdir()
    user = unprivileged_user()
    if user:
        os.chown(data, user["user"], user["group"])
        tmp_path.chmod(0o755)
    before = snapshot(app)

    # The image's /app and /data are these two folders here.
    env = {key: re.sub(r"^/(app|data)\b", lambda m: str({"app": app, "data": data}[m[1]]), value)
           for key, value in dockerfile_env().items()}
    cmd = json.loads(dockerfile_value("CMD"))
    port = free_port()
    cmd = [str(Path(sys.executable).with_name(cmd[0]))] + [
        f"--server.port={port}" if arg.startswith("--server.port=") else arg for arg in cmd[1:]]
    base_env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    with running_app({**base_env, **env}, command=cmd, cwd=app, port=port, clean_env=True, **user) as url:
        if not Path(CHROMIUM).exists():
            pytest.skip(f"{CHROMIUM} is missing: health checked, prediction not")
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url)
            page.locator(CANVAS).wait_for(timeout=60_000)
            draw_digit(page, 7)
            expect(page.get_by_test_id("stMetricValue")).to_have_text("7", timeout=30_000)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            # The single container also trains: the dashboard starts its worker on the first run.
            page.goto(f"{url}/train")
            for label, value in (("Epochs", 1), ("Train size", 1000)):
                page.get_by_label(label, exact=True).fill(str(value))
                page.get_by_label(label, exact=True).press("Tab")
            page.get_by_role("button", name="Start training").click()
            expect(page.get_by_text("Run “run”: finished")).to_be_visible(timeout=120_000)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            browser.close()
    assert snapshot(app) == before, "the app must write only to its data directory"
