"""The scaled-out setup's servers as a user starts them, without Docker: Debian's redis-server for the training
queue and Debian's nginx running the repo's own deploy/nginx.conf in front of dashboard replicas
(tests/test_scale_out.py, bench/school.py)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from pathlib import Path

from harness import ROOT
from harness.browser import free_port


class Missing(RuntimeError):
    """A server program this machine lacks; the message says which Debian package has it."""


def required(program: str, package: str) -> str:
    """The program's path; Missing when it is not installed."""
    path = shutil.which(program) or (f"/usr/sbin/{program}" if Path(f"/usr/sbin/{program}").exists() else None)
    if path is None:
        raise Missing(f"{program} is missing: apt-get install {package}")
    return path


@contextlib.contextmanager
def redis_server(tmp_path: Path):
    """A throwaway redis-server on a free loopback port, nothing persisted; yields its URL."""
    port = free_port()
    process = subprocess.Popen([required("redis-server", "redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        import redis

        client, deadline = redis.Redis(port=port), time.monotonic() + 20
        while not _answers(client.ping):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(ping) -> bool:
    try:
        return bool(ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


@contextlib.contextmanager
def balancer(tmp_path: Path, replicas: list[str], api: str | None = None):
    """deploy/nginx.conf as shipped, with compose's `server web:5001;` line replaced by ``replicas``
    (host:port each) and `server api:5002;` by ``api``, the prediction service (without one, the first replica,
    whose own route answers /api/ too), listening on a free loopback port; yields its URL. Room for a school's
    connections: each student holds a websocket to nginx and one from nginx to a replica."""
    nginx = required("nginx", "nginx-light")
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server {address};\n    " for address in replicas)
    site, found = re.subn(r"server web:5001;\s*(#.*)?\n\s*", servers, site)
    assert found == 1, "deploy/nginx.conf must name its upstream `server web:5001;` (compose's replicas)"
    site, found = re.subn(r"server api:5002;", f"server {api or replicas[0]};", site)
    assert found == 1, "deploy/nginx.conf must name its upstream `server api:5002;` (compose's prediction service)"
    port = free_port()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "digits.conf").write_text(site)
    (prefix / "nginx.conf").write_text(f"""
worker_processes 1;
worker_rlimit_nofile 8192;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/digits.conf;
}}
""")
    check = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
