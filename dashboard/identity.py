"""Who is asking: the browser (for ownership of runs and drawings) and the client's address.

A browser is known by a random id in the ``digits_browser`` cookie, which ``BrowserCookie`` sets on the
first page a browser loads from ``dashboard/server.py`` (HttpOnly: page scripts cannot read it). It
survives reloads and new tabs, so "my runs" and "my drawings" stay mine. Where there is no cookie
(``streamlit run dashboard/streamlit_app.py`` without the server's middleware, AppTest), the id lives
in the session instead and lasts until the tab is closed.

Addresses come from the connection; behind a proxy on this machine (nginx in front), uvicorn has
already replaced the proxy's address with the client's from ``X-Forwarded-For`` (its
``FORWARDED_ALLOW_IPS``, loopback by default, says which proxies are believed).
"""

from __future__ import annotations

import ipaddress
import re
import secrets

import streamlit as st
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "digits_browser"
MAX_AGE_S = 365 * 24 * 3600
SESSION_KEY = "browser_id"
_VALID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_id() -> str:
    return secrets.token_urlsafe(16)


def browser_id() -> str:
    """This browser's id: its cookie, else one kept for this session."""
    cookie = st.context.cookies.get(COOKIE)
    if isinstance(cookie, str) and _VALID.match(cookie):  # (AppTest's context is a mock: no cookie there)
        return cookie
    return st.session_state.setdefault(SESSION_KEY, new_id())


def is_loopback(address: str | None) -> bool:
    """True for this machine's own addresses (None: Streamlit's word for a localhost connection)."""
    if address is None:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def client_address() -> str | None:
    """This session's client address; None on the server's machine (and in AppTest, which has no connection)."""
    address = st.context.ip_address
    return address if isinstance(address, str) else None


def client_is_local() -> bool:
    """This session's browser runs on the server's own machine."""
    return is_loopback(client_address())


class BrowserCookie:
    """ASGI middleware: give a browser that has no ``digits_browser`` cookie one with its first HTML page."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"cookie" and COOKIE.encode() + b"=" in value
                                          for name, value in scope["headers"]):
            await self.app(scope, receive, send)
            return
        cookie = f"{COOKIE}={new_id()}; Path=/; Max-Age={MAX_AGE_S}; HttpOnly; SameSite=Lax".encode()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers):
                    message = {**message, "headers": [*headers, (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def on_phone() -> bool:
    """The browser says it is a phone ("Mobi" in its User-Agent, as every phone browser's has): the page then
    sizes wide things, like the number canvas, to a phone's width (a canvas is drawn at a fixed pixel size)."""
    agent = st.context.headers.get("User-Agent")
    return isinstance(agent, str) and "Mobi" in agent
