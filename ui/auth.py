"""Who may see the shop's data: Streamlit's own OIDC sign-in, a shared password, or nobody beyond this machine.

Set-ups (README, "Hosting"), read from `.streamlit/secrets.toml`:
- `[auth]` (redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url): Streamlit's OIDC sign-in
  (`st.login`); every page asks the visitor to sign in with the identity provider first.
- `[clv] password = "…"`: one shared password, compared in constant time; each wrong attempt waits longer
  (0.5 s doubling up to 8 s, counted across all sessions of the server, so a new tab does not reset it), and at
  most 5 attempts a minute from one client and 20 on the whole server are checked at all.
- neither: the app is open to whoever reaches it. `.streamlit/config.toml` binds the server to localhost so that
  is only this machine; started to listen beyond it (`--server.address 0.0.0.0`), every page says so in red.
"""
from __future__ import annotations

import hmac
import threading
import time

import streamlit as st

__all__ = ["mode", "gate", "listening_beyond_localhost", "FAILURE_WINDOW_S"]

LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}
FAILURE_WINDOW_S = 300
_failures: list[float] = []
_lock = threading.Lock()
_sleep = time.sleep  # (tests replace this, not time.sleep, which Streamlit's own loop uses)


def secret_section(name: str) -> dict:
    """A section of .streamlit/secrets.toml as a dict ({} when absent or there is no secrets file)."""
    try:
        return dict(st.secrets[name]) if name in st.secrets else {}
    except Exception:  # no secrets file at all: nothing configured  # noqa: BLE001
        return {}


def mode() -> str:
    """"oidc", "password" or "open" — how this server is configured."""
    if secret_section("auth"):
        return "oidc"
    if secret_section("clv").get("password"):
        return "password"
    return "open"


def listening_beyond_localhost() -> bool:
    """True when the server accepts connections from other machines (address unset = every interface)."""
    address = st.get_option("server.address")
    return not address or address not in LOCAL_ADDRESSES


def _delay() -> float:
    """Seconds to wait after a wrong password: 0.5 s doubling with each recent failure, at most 8 s."""
    now = time.monotonic()
    with _lock:
        _failures[:] = [t for t in _failures if now - t < FAILURE_WINDOW_S]
        _failures.append(now)
        n = len(_failures)
    return min(8.0, 0.5 * 2 ** (n - 1))


#: sign-in attempts allowed per minute: from one client, and on the whole server (many tabs or clients at once
#: made 45 guesses a minute when each attempt only waited its own delay)
ATTEMPTS_PER_MINUTE_CLIENT = 5
ATTEMPTS_PER_MINUTE_SERVER = 20
_attempts: dict[str, list[float]] = {}


def _client() -> str:
    """The visitor's address as the server sees it (behind a reverse proxy: the proxy's, so the server-wide limit
    is the one that holds)."""
    try:
        ip = st.context.ip_address
    except Exception:  # no request context  # noqa: BLE001
        ip = None
    return ip if isinstance(ip, str) and ip else "unknown"


def _rate_limited() -> float:
    """0 when this attempt may be checked, else the seconds until it may (the attempt is counted either way)."""
    now = time.monotonic()
    with _lock:
        for key in list(_attempts):
            _attempts[key] = [t for t in _attempts[key] if now - t < 60]
            if not _attempts[key]:
                del _attempts[key]
        mine = _attempts.setdefault(_client(), [])
        everyone = sorted(t for times in _attempts.values() for t in times)
        wait = 0.0
        if len(mine) >= ATTEMPTS_PER_MINUTE_CLIENT:
            wait = max(wait, 60 - (now - mine[-ATTEMPTS_PER_MINUTE_CLIENT]))
        if len(everyone) >= ATTEMPTS_PER_MINUTE_SERVER:
            wait = max(wait, 60 - (now - everyone[-ATTEMPTS_PER_MINUTE_SERVER]))
        if not wait:
            mine.append(now)
        return wait


def _password_form() -> None:
    st.title("Sign in")
    st.caption("This dashboard shows customers' e-mails and spend; it is protected by a shared password.")
    with st.form("sign_in"):
        given = st.text_input("Password", type="password", key="sign_in_password")
        sent = st.form_submit_button("Sign in")
    if sent:
        wait = _rate_limited()
        if wait:  # not even compared: a guess beyond the rate is refused whatever it is
            st.error(f"Too many sign-in attempts in the last minute; try again in {wait:.0f} s.")
            return
        expected = str(secret_section("clv")["password"])
        if hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            st.session_state["signed_in_as"] = "shared password"
            st.rerun()
        _sleep(_delay())
        st.error("Wrong password.")


def gate() -> str | None:
    """Call first on every page: stops the run until the visitor is signed in. Returns who is signed in (the
    e-mail or name for OIDC, "shared password"), or None when the app is open."""
    how = mode()
    if how == "oidc":
        if not st.user.is_logged_in:
            st.title("Sign in")
            st.caption("This dashboard shows customers' e-mails and spend; sign in to continue.")
            st.button("Sign in", on_click=st.login, type="primary", key="sign_in_oidc")
            st.stop()
        return str(st.user.get("email") or st.user.get("name") or "signed in")
    if how == "password":
        if st.session_state.get("signed_in_as") != "shared password":
            _password_form()
            st.stop()
        return "shared password"
    if listening_beyond_localhost():
        st.error("**Anyone who can reach this server sees your customers' data**: it listens beyond this machine "
                 "and no sign-in is set up. Add a password or a sign-in provider to `.streamlit/secrets.toml` "
                 "(README, Hosting), or run it on localhost only.", icon="🔓")
    return None


def sign_out() -> None:
    if mode() == "oidc":
        st.logout()
    else:
        st.session_state.pop("signed_in_as", None)
