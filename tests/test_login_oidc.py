"""The login mode against a real OpenID Connect provider: the certified ``oidc-provider`` from npm
(``harness/oidc_provider``), started here on 127.0.0.1, and dashboards configured against it with ``[auth]``
and ``DIGITS_ADMIN_EMAILS``. In Chromium: a visitor logs in; the listed address becomes admin (Set as default
enabled), another account does not; logging out (through the provider's own logout) returns to a visitor;
a wrong client secret and an unreachable provider each get a sentence on the Train page, not an error page.

Needs Node.js and npm (the provider is installed from the npm registry on first use, as package-lock.json
pins it): skipped with a notice where they are missing, a failure where REQUIRE_NODE is set (CI).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import login
from harness import ROOT
from harness.browser import as_make_run, free_port, running_server

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
PROVIDER = ROOT / "harness" / "oidc_provider"
SECRET = "the client secret the provider knows"
ADMIN, STUDENT = "teacher", "student"
"""Account names on the provider; each one's email is NAME@school.test."""
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def ports():
    """The provider's port and the dashboards' (the provider must know each one's callback)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail("node and npm are missing: apt-get install nodejs npm")
        pytest.skip("node and npm are missing (apt-get install nodejs npm): the login tests are skipped")
    if not (PROVIDER / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER, check=True, capture_output=True,
                       timeout=300)
    return {"provider": free_port(), "dashboard": free_port(), "wrong secret": free_port()}


@pytest.fixture(scope="module")
def provider(ports):
    """The provider, running until the module's tests end; yields its discovery document's URL."""
    callbacks = [f"http://127.0.0.1:{ports[name]}/oauth2callback" for name in ("dashboard", "wrong secret")]
    process = subprocess.Popen(["node", "provider.mjs", str(ports["provider"]), SECRET, *callbacks], cwd=PROVIDER,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    discovery = f"http://127.0.0.1:{ports['provider']}/.well-known/openid-configuration"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, process.stdout.read().decode()
        with contextlib.suppress(OSError), urllib.request.urlopen(discovery, timeout=2):
            break
        assert time.monotonic() < deadline, "the provider did not start"
        time.sleep(0.2)
    yield discovery
    process.terminate()
    process.wait(timeout=20)


@contextlib.contextmanager
def dashboard(folder: Path, port: int, discovery: str, secret: str = SECRET):
    """The dashboard in login mode on ``port``, its [auth] pointing at ``discovery``; yields its URL."""
    folder.mkdir()
    secrets = folder / "secrets.toml"
    secrets.write_text(f'''[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a cookie secret for the tests"
client_id = "digits"
client_secret = "{secret}"
server_metadata_url = "{discovery}"
client_kwargs = {{ prompt = "login" }}  # Streamlit asks for select_account by default; oidc-provider knows "login"
''')
    env = {"DIGITS_DATA_DIR": str(folder / "data"), "DIGITS_ADMIN_EMAILS": f"{ADMIN}@school.test"}
    with running_server(env, command=[*as_make_run(port), f"--secrets.files={secrets}"], port=port) as (url, _):
        yield url


@pytest.fixture(scope="module")
def app(ports, provider, tmp_path_factory):
    with dashboard(tmp_path_factory.mktemp("login") / "app", ports["dashboard"], provider) as url:
        yield url


def open_train_page(browser, url: str):
    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    page.goto(f"{url}/train")
    expect(page.get_by_role("button", name="Set as default")).to_be_visible(timeout=TIMEOUT)
    return page


def log_in(page, account: str) -> None:
    """Press Log in, sign in on the provider's own pages as ``account`` and consent."""
    page.get_by_role("button", name="Log in as admin").click()
    page.locator("input[name=login]").fill(account, timeout=TIMEOUT)
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click(timeout=TIMEOUT)  # the consent page


def log_out(page, app: str) -> None:
    """Press Log out, confirm on the provider's own page (OpenID Connect logout), and open the Train page again."""
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click(timeout=TIMEOUT)
    page.wait_for_url(f"{app}/**", timeout=TIMEOUT)
    page.goto(f"{app}/train")
    expect(page.get_by_role("button", name="Log in as admin")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Set as default")).to_be_disabled()


def test_the_listed_address_becomes_admin_and_logging_out_makes_a_visitor(browser, app):
    page = open_train_page(browser, app)
    expect(page.get_by_role("button", name="Set as default")).to_be_disabled()
    log_in(page, ADMIN)
    page.wait_for_url(f"{app}/**", timeout=TIMEOUT)
    page.get_by_role("link", name="Train", exact=True).click()
    expect(page.get_by_text(f"Logged in as {ADMIN}@school.test (admin).")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Set as default")).to_be_enabled()
    log_out(page, app)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_another_account_logs_in_but_stays_a_visitor(browser, app):
    page = open_train_page(browser, app)
    log_in(page, STUDENT)
    page.wait_for_url(f"{app}/**", timeout=TIMEOUT)
    page.get_by_role("link", name="Train", exact=True).click()
    expect(page.get_by_text(f"Logged in as {STUDENT}@school.test, which is not on the list of admins.")).to_be_visible(
        timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Set as default")).to_be_disabled()
    log_out(page, app)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_wrong_client_secret_is_told_on_the_train_page(browser, ports, provider, tmp_path):
    with dashboard(tmp_path / "wrong", ports["wrong secret"], provider, secret="not the provider's") as url:
        page = open_train_page(browser, url)
        log_in(page, ADMIN)
        expect(page.get_by_text(login.MESSAGES[login.Failure.NOT_CONFIRMED])).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_role("button", name="Log in as admin")).to_be_visible()
        expect(page.get_by_role("button", name="Set as default")).to_be_disabled()


def test_an_unreachable_provider_is_told_on_the_train_page(browser, ports, tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"  # nothing listens there
    with dashboard(tmp_path / "unreachable", free_port(), nowhere) as url:
        page = open_train_page(browser, url)
        page.get_by_role("button", name="Log in as admin").click()
        expect(page.get_by_text(login.MESSAGES[login.Failure.UNREACHABLE])).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_test_id("stException")).to_have_count(0)
