"""Who may change what everyone on the server gets: the admin, or a visitor.

Four modes, decided per session:

* **password** — ``DIGITS_ADMIN_PASSWORD`` (environment) or ``admin_password`` (``st.secrets``) is set:
  everyone is a visitor until they type the password into the Train page's password field.
* **login** — ``[auth]`` is configured in ``st.secrets`` (OpenID Connect, ``st.login``) and
  ``DIGITS_ADMIN_EMAILS`` / ``admin_emails`` lists the admins: a logged-in admin is admin.
* **local** — neither is set and the browser runs on the server's machine: one person on their own
  computer, who may do everything (the dashboard as it always was).
* **locked** — neither is set and the browser is elsewhere (a server reachable from the network, the
  Docker default): everyone is a visitor, and the page says how to set a password.

Visitors draw, upload, inspect, label and delete their own drawings, train within ``training.limits``
and use any model in their own browser; only the admin sets the server default, deletes models,
learns from everyone's drawings, exports or deletes all drawings, and trains without limits.
"""

from __future__ import annotations

import enum
import functools
import os

import streamlit as st

from dashboard import login
from dashboard.identity import client_address, client_is_local
from dashboard.password import PasswordGate
from training.limits import VisitorLimits

PASSWORD_ENV = "DIGITS_ADMIN_PASSWORD"
EMAILS_ENV = "DIGITS_ADMIN_EMAILS"
ADMIN_KEY = "admin_unlocked"
"""Session state: True once this session typed the right password (the password itself is never kept)."""
FIELD_KEY = "admin_password"
MESSAGE_KEY = "admin_message"


class Mode(enum.StrEnum):
    LOCAL = "local"
    PASSWORD = "password"
    LOGIN = "login"
    LOCKED = "locked"


def _secret(name: str) -> object:
    try:
        return st.secrets.get(name)
    except FileNotFoundError:  # no secrets.toml: Streamlit's StreamlitSecretNotFoundError
        return None


def admin_password() -> str | None:
    return os.environ.get(PASSWORD_ENV) or _secret("admin_password") or None


def admin_emails() -> frozenset[str]:
    listed = os.environ.get(EMAILS_ENV) or _secret("admin_emails") or ()
    emails = listed.split(",") if isinstance(listed, str) else listed
    return frozenset(str(e).strip().lower() for e in emails if str(e).strip())


def _credential_mode() -> Mode | None:
    """PASSWORD or LOGIN when that admin credential is set up (the password wins); None without one."""
    if admin_password():
        return Mode.PASSWORD
    if _secret("auth") is not None and admin_emails():
        return Mode.LOGIN
    return None


def credential_configured() -> bool:
    """A password or an admin login is set up: the server is public, and loopback clients are visitors too."""
    return _credential_mode() is not None


def mode() -> Mode:
    return _credential_mode() or (Mode.LOCAL if client_is_local() else Mode.LOCKED)


def is_admin() -> bool:
    """May this session change what everyone gets (and train without limits)?"""
    current = mode()
    if current == Mode.LOCAL:
        return True
    if current == Mode.PASSWORD:
        return st.session_state.get(ADMIN_KEY) is True
    if current == Mode.LOGIN:
        return bool(st.user.is_logged_in) and str(st.user.get("email", "")).lower() in admin_emails()
    return False


def limits() -> VisitorLimits | None:
    """The limits this session's requests are held to; None for the admin."""
    return None if is_admin() else VisitorLimits.from_env()


@functools.cache
def _gate(password: str) -> PasswordGate:
    """One gate per password for the whole server, so wrong tries from many tabs add up."""
    return PasswordGate(password)


def _client() -> str:
    return client_address() or "localhost"


def _try_password() -> None:
    """The password field's on_change (Enter): check, then clear the field so the try is not kept anywhere."""
    attempt = st.session_state.get(FIELD_KEY) or ""
    st.session_state[FIELD_KEY] = ""
    password = admin_password()
    if not attempt or not password:
        return
    gate = _gate(password)
    wait = gate.wait_s(_client())
    if wait > 0:
        st.session_state[MESSAGE_KEY] = f"Too many wrong passwords: try again in {wait:.0f} s."
    elif gate.check(_client(), attempt):
        st.session_state[ADMIN_KEY] = True
    else:
        wait = gate.wait_s(_client())
        st.session_state[MESSAGE_KEY] = "Wrong password." + (f" Try again in {wait:.0f} s." if wait else "")


def _lock() -> None:
    st.session_state.pop(ADMIN_KEY, None)


def admin_controls() -> None:
    """The Train page's admin box: unlock (password or login), lock again, or how to set a credential up."""
    current = mode()
    if current == Mode.LOCAL:
        return
    admin = is_admin()
    with st.expander("Admin: unlocked" if admin else "Admin", icon=":material/admin_panel_settings:",
                     expanded=current != Mode.LOCKED):
        failure = st.query_params.get(login.PARAM)
        if current == Mode.LOGIN and failure in login.MESSAGES:
            st.error(login.MESSAGES[login.Failure(failure)], icon=":material/error:")
        if current == Mode.PASSWORD and admin:
            st.caption("You can set the server default, delete models, learn from everyone's drawings and train "
                       "without visitor limits.")
            st.button("Lock", icon=":material/lock:", on_click=_lock)
        elif current == Mode.PASSWORD:
            st.text_input("Admin password", type="password", key=FIELD_KEY, on_change=_try_password,
                          help="Press Enter to unlock the admin actions")
            message = st.session_state.pop(MESSAGE_KEY, None)
            if message:
                st.error(message, icon=":material/lock:")
        elif current == Mode.LOGIN and admin:
            st.caption(f"Logged in as {st.user.get('email')} (admin).")
            st.button("Log out", icon=":material/logout:", on_click=st.logout)
        elif current == Mode.LOGIN and st.user.is_logged_in:  # log out to log in with another account
            st.caption(f"Logged in as {st.user.get('email')}, which is not on the list of admins.")
            st.button("Log out", icon=":material/logout:", on_click=st.logout)
        elif current == Mode.LOGIN:
            st.button("Log in as admin", icon=":material/login:", on_click=st.login)
        else:
            st.info("This server is reachable from other computers and has no admin password, so setting the "
                    "server default, deleting models and learning from everyone's drawings are locked. To unlock "
                    f"them, start it with the environment variable `{PASSWORD_ENV}` set (or `admin_password` in "
                    ".streamlit/secrets.toml), or open it on the server's own machine.",
                    icon=":material/lock:")
