"""When ``st.login`` fails, the Train page says why, instead of a bare "Authentication error" or silence.

Streamlit's own login routes answer a provider that cannot be reached (``/auth/login``: its discovery
document or keys do not load) with a plain-text 400 page, and a login the provider did not confirm
(``/oauth2callback``: a wrong client secret, a cancelled consent) with a quiet redirect to the app, logged
out. ``LoginOutcome`` watches those two answers and sends the browser to the Train page instead, with
``?login=<Failure>``; ``dashboard/access.py`` shows the matching sentence in the admin box. The details
stay in the server's log, where Streamlit writes them.
"""

from __future__ import annotations

import enum
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PARAM = "login"
"""The query parameter that carries a failure to the Train page."""
USER_COOKIE = "_streamlit_user"
"""Streamlit's cookie of the logged-in user: set, non-empty, exactly when a login succeeded."""


class Failure(enum.StrEnum):
    UNREACHABLE = "unreachable"
    NOT_CONFIRMED = "not-confirmed"


MESSAGES = {
    Failure.UNREACHABLE: "Logging in is not possible right now: the login provider could not be reached (or did not "
                         "answer as an OpenID Connect provider). Try again later; the server's log has the details.",
    Failure.NOT_CONFIRMED: "The login did not complete: the provider did not confirm it (the login was cancelled, or "
                           "the dashboard's client secret is not the one the provider knows; the server's log says "
                           "which). You are still a visitor.",
}


def _logged_in(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"set-cookie" and value.startswith(USER_COOKIE.encode() + b"="):
            cookie = value.split(b";", 1)[0].split(b"=", 1)[1]
            if cookie.strip(b'"'):
                return True
    return False


def _failure(path: str, query: bytes, status: int, headers: list[tuple[bytes, bytes]]) -> Failure | None:
    if path.endswith("/auth/login") and status >= 400:
        return Failure.UNREACHABLE
    if path.endswith("/oauth2callback") and 300 <= status < 400 and not _logged_in(headers):
        asked = parse_qs(query.decode(errors="replace"))
        if "code" in asked or "error" in asked:  # a provider's answer, not the return after a logout
            return Failure.NOT_CONFIRMED
    return None


class LoginOutcome:
    """ASGI middleware: a failed login's answer becomes a redirect to the Train page that says why."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.endswith(("/auth/login", "/oauth2callback")):
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_outcome(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                failure = _failure(path, scope.get("query_string", b""), message["status"], message.get("headers", []))
                if failure is not None:
                    replaced = True
                    base = path.rsplit("/auth/login", 1)[0].rsplit("/oauth2callback", 1)[0]
                    location = f"{base}/train?{PARAM}={failure}".encode()
                    kept = [(n, v) for n, v in message.get("headers", []) if n.lower() == b"set-cookie"]
                    await send({"type": "http.response.start", "status": 302,
                                "headers": [(b"location", location), (b"content-length", b"0"), *kept]})
                    await send({"type": "http.response.body", "body": b""})
                    return
            if not replaced:
                await send(message)

        await self.app(scope, receive, send_outcome)
