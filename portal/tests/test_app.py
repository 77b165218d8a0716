"""The portal on its own (the browser journeys against the whole stack: tests/test_portal.py): the session
cookie, the pages' headers and assets, and a gateway that does not answer shown as 稍后再试, never a trace."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from portal.app import create_app
from portal.config import Settings

PORTAL = Path(__file__).resolve().parent.parent


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the probe is: nothing listens there


@pytest.fixture
def app(tmp_path):
    settings = Settings(
        gateway_url=f"http://127.0.0.1:{closed_port()}",
        secret_key="test-secret",
        session_dir=tmp_path / "sessions",
        session_hours=1,
        secure_cookies=None,
        timeout=2,
    )
    return create_app(settings)


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_login_page_is_chinese_and_sets_a_server_side_session_cookie(app):
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in text and "用户登录" in text
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    over_https = app.test_client().get("/login", base_url="https://portal.example")
    assert "Secure" in over_https.headers["Set-Cookie"]
    # The cookie is a random id: what the session holds stays on the server.
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert "." not in session_id and len(session_id) >= 40


def test_a_gateway_that_does_not_answer_shows_try_again_later_with_no_trace(app):
    client = app.test_client()
    answer = client.post(
        "/login", data={"username": "someone", "password": "a password 123", "csrf_token": csrf_token(client)}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "系统繁忙，请稍后再试（约 30 秒后）" in text
    assert "Traceback" not in text and "requests" not in text


def test_forms_without_their_csrf_token_are_refused(app):
    answer = app.test_client().post("/login", data={"username": "someone", "password": "a password 123"})
    assert answer.status_code == 400
    assert "页面已过期" in answer.get_data(as_text=True)


def test_pages_need_a_login_and_unknown_pages_are_a_page_too(app):
    client = app.test_client()
    answer = client.get("/federation/allocation")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "没有这个页面" in missing.get_data(as_text=True)


def test_every_asset_is_the_portals_own():
    """No CDN and no external URL in any template, script or style (intranets, the mainland firewall)."""
    for path in [*PORTAL.glob("templates/**/*.html"), *PORTAL.glob("static/*.js"), *PORTAL.glob("static/*.css")]:
        assert not re.search(r"(src|href)=\"(https?:)?//", path.read_text()), path
        assert "@import url(http" not in path.read_text(), path
    assert (PORTAL / "static/vendor/htmx.min.js").stat().st_size < 60_000


def test_english_is_offered_and_kept_for_the_session(app):
    client = app.test_client()
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page


def test_every_word_of_the_portal_has_its_english():
    from portal.catalogue import untranslated

    assert untranslated() == [], "run `python -m portal.catalogue` and fill in the English"
