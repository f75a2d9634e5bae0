"""Sign-in: open on localhost, a red warning when served beyond it with no sign-in, a shared password (constant-time
comparison, growing delay), and Streamlit's OIDC sign-in."""
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from conftest import APP_TIMEOUT, ROOT

import ui.auth


def _app() -> AppTest:
    """A session that opens Your data first (the gate is the same on every page; the Overview would fit every
    model of the sample shop for nothing)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/1_Data.py")
    return at


@pytest.fixture
def beyond_localhost():
    old = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", old)


@pytest.fixture(autouse=True)
def no_failures():
    ui.auth._failures.clear()
    ui.auth._attempts.clear()
    yield
    ui.auth._failures.clear()
    ui.auth._attempts.clear()


def test_open_beyond_localhost_warns_on_every_page(beyond_localhost):
    at = _app()
    at.run()
    assert any("Anyone who can reach this server" in e.value for e in at.error)
    at.switch_page("pages/3_Customer_value.py").run()
    assert not at.exception
    assert any("Anyone who can reach this server" in e.value for e in at.error)
    assert at.metric  # still usable: the warning does not lock the owner out


def test_password_gate(beyond_localhost, monkeypatch):
    slept = []
    monkeypatch.setattr(ui.auth, "_sleep", slept.append)
    at = _app()
    at.secrets["clv"] = {"password": "correct horse"}
    at.run()
    assert not at.exception
    assert not at.metric and [t.label for t in at.text_input] == ["Password"]   # nothing of the shop is shown
    for attempt in range(3):
        at.text_input(key="sign_in_password").input(f"guess {attempt}")  # a form: typed, then submitted
        at.button[0].click().run()
        assert any(e.value == "Wrong password." for e in at.error) and not at.metric
    assert slept == [0.5, 1.0, 2.0]                                           # each failure waits longer
    at.text_input(key="sign_in_password").input("correct horse")
    at.button[0].click().run()
    assert not at.exception and at.metric
    assert any("Signed in as shared password" in c.value for c in at.sidebar.caption)
    assert not any("Anyone who can reach" in e.value for e in at.error)      # protected: no warning
    at.switch_page("pages/2_Segments.py").run()
    assert not at.exception and at.dataframe                                # signed in across pages
    at.sidebar.button(key="sign_out").click().run()
    assert not at.metric and [t.label for t in at.text_input] == ["Password"]


def test_password_comparison_is_constant_time(monkeypatch):
    calls = []
    real = ui.auth.hmac.compare_digest
    monkeypatch.setattr(ui.auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    monkeypatch.setattr(ui.auth, "_sleep", lambda s: None)
    at = _app()
    at.secrets["clv"] = {"password": "pw"}
    at.run()
    at.text_input(key="sign_in_password").input("nope")
    at.button[0].click().run()
    assert calls == [(b"nope", b"pw")]


def test_delay_grows_and_is_capped():
    delays = [ui.auth._delay() for _ in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_oidc_sign_in(beyond_localhost):
    at = _app()
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration"}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception and not at.metric
    assert [b.label for b in at.button] == ["Sign in"]
    at.user = {"is_logged_in": True, "email": "founder@shop.example", "name": "Founder"}  # no stable subject
    at.run()
    assert not at.exception and not at.metric
    assert any("stable way" in e.value for e in at.error)  # refused: the workspace could be someone else's
    at.user = {"is_logged_in": True, "email": "founder@shop.example", "name": "Founder",
               "iss": "https://accounts.example.com", "sub": "1234"}
    at.run()
    assert not at.exception and at.metric
    assert any(c.value == r"Signed in as founder\@shop\.example" for c in at.sidebar.caption)  # shown as text
    assert not any("Anyone who can reach" in e.value for e in at.error)
    assert at.session_state["signed_in_owner"] == "oidc:https://accounts.example.com|1234"


def test_a_file_beyond_the_memory_budget_is_refused_naming_the_budget():
    from streamlit.testing.v1 import AppTest

    from clv.store import SAMPLE_ORDERS
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/1_Data.py").run()
    assert not at.exception
    at.secrets["clv"] = {"memory_budget": "1MB"}  # set by whoever runs the server
    at.file_uploader(key="orders").set_value(("big.csv", SAMPLE_ORDERS.read_bytes(), "text/csv")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    errors = [e.replace("\\", "") for e in errors]  # shown escaped (it may quote the file)
    assert any("memory_budget = 1MB" in e and "secrets.toml" in e for e in errors), errors


def test_password_attempts_are_rate_limited_across_sessions(monkeypatch):
    """Beyond 5 attempts a minute from one client (or 20 on the server), a guess is refused without being
    compared — the right password too — however many tabs make them."""
    monkeypatch.setattr(ui.auth, "_sleep", lambda s: None)
    checked = []
    real = ui.auth.hmac.compare_digest
    monkeypatch.setattr(ui.auth.hmac, "compare_digest", lambda a, b: checked.append(a) or real(a, b))
    sessions = [_app() for _ in range(3)]
    for at in sessions:
        at.secrets["clv"] = {"password": "pw"}
        at.run()
    for i in range(6):  # two tabs take turns
        at = sessions[i % 2]
        at.text_input(key="sign_in_password").input(f"guess {i}")
        at.button[0].click().run()
    assert len(checked) == 5
    assert any("Too many sign-in attempts" in e.value for e in sessions[1].error)
    third = sessions[2]
    third.text_input(key="sign_in_password").input("pw")
    third.button[0].click().run()
    assert not third.metric and len(checked) == 5  # the right password, refused while the limit holds
