"""Access tokens ended before expiry: disabled users, new passwords, new roles, on PostgreSQL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import admin_token, auth, login, make_user

pytestmark = pytest.mark.servers

PASSWORD = "a long password 1"
INTERVAL = 0.1  # GATEWAY_REVOCATION_REFRESH_SECONDS in these tests


@pytest.fixture
def app(make_gateway):
    return make_gateway(GATEWAY_REVOCATION_REFRESH_SECONDS=str(INTERVAL))


@pytest.fixture
def gateway(app):
    return app.test_client()


@pytest.fixture
def admin(gateway):
    return auth(admin_token(gateway))


def access_token(client, username: str, password: str = PASSWORD) -> str:
    response = login(client, username, password)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def me(client, token: str):
    return client.get("/auth/me", headers=auth(token))


def after_the_interval():
    time.sleep(INTERVAL * 1.5)


def assert_revoked(response):
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert "revoked" in response.get_json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_issued_before_a_disable_is_refused_and_one_issued_after_re_enabling_works(gateway, admin):
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    make_user(gateway, "yuexiu.officer", "unit_officer", unit_id="unit-yuexiu")
    old, unrelated = access_token(gateway, "tianhe.officer"), access_token(gateway, "yuexiu.officer")
    assert me(gateway, old).status_code == 200

    assert gateway.post(f"/auth/users/{made['id']}/disable", headers=admin).status_code == 200
    after_the_interval()
    assert_revoked(me(gateway, old))
    assert_revoked(gateway.get("/api/quota/whoami", headers=auth(old)))  # forwarded routes as well
    assert me(gateway, unrelated).status_code == 200

    assert gateway.post(f"/auth/users/{made['id']}/enable", headers=admin).status_code == 200
    new = access_token(gateway, "tianhe.officer")  # within the same second as the disable, most likely
    after_the_interval()
    assert me(gateway, new).get_json()["subject"] == "tianhe.officer"
    assert_revoked(me(gateway, old))  # enabling again does not bring the old token back


def test_a_role_change_refuses_the_old_token_and_a_new_login_carries_the_new_role(gateway, admin):
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    old = access_token(gateway, "tianhe.officer")
    assert me(gateway, old).get_json()["role"] == "unit_officer"

    changed = gateway.put(
        f"/auth/users/{made['id']}/role",
        json={"role": "grassroots_officer", "grassroots_union_id": "g-1", "unit_id": "unit-tianhe"},
        headers=admin,
    )
    assert changed.status_code == 200
    after_the_interval()
    assert_revoked(me(gateway, old))

    new = access_token(gateway, "tianhe.officer")
    identity = {name: value for name, value in me(gateway, new).get_json().items() if value}
    assert identity == {
        "subject": "tianhe.officer",
        "role": "grassroots_officer",
        "unit_id": "unit-tianhe",
        "grassroots_union_id": "g-1",
    }
    assert gateway.get("/api/quota/whoami", headers=auth(new)).status_code != 401


def test_a_password_reset_refuses_the_tokens_of_the_old_password(gateway, admin):
    made = make_user(gateway, "inst.op", "institution_operator", institution_id="inst-1")
    old = access_token(gateway, "inst.op")
    reset = gateway.put(f"/auth/users/{made['id']}/password", json={"password": "a new long password"}, headers=admin)
    assert reset.status_code == 200
    after_the_interval()
    assert_revoked(me(gateway, old))
    assert me(gateway, access_token(gateway, "inst.op", "a new long password")).status_code == 200


def test_a_refused_change_revokes_nothing(gateway, admin):
    made = make_user(gateway, "inst.op", "institution_operator", institution_id="inst-1")
    token = access_token(gateway, "inst.op")
    assert (
        gateway.put(f"/auth/users/{made['id']}/password", json={"password": "short"}, headers=admin).status_code == 422
    )
    assert (
        gateway.put(f"/auth/users/{made['id']}/role", json={"role": "unit_officer"}, headers=admin).status_code == 422
    )
    after_the_interval()
    assert me(gateway, token).status_code == 200


def test_every_gateway_process_refuses_within_its_interval_and_not_through_a_database_read(
    make_gateway, app, gateway, admin
):
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    token = access_token(gateway, "tianhe.officer")
    slow = make_gateway(GATEWAY_REVOCATION_REFRESH_SECONDS="3600").test_client()  # another replica
    assert me(slow, token).status_code == 200  # its one load, before the disable

    assert gateway.post(f"/auth/users/{made['id']}/disable", headers=admin).status_code == 200
    after_the_interval()
    assert_revoked(me(gateway, token))
    # The slow replica answers from its map until its hour is up: no account is read per request.
    assert me(slow, token).status_code == 200
    fresh = make_gateway(GATEWAY_REVOCATION_REFRESH_SECONDS="3600").test_client()  # a replica started now
    assert_revoked(me(fresh, token))


def test_threads_reloading_at_once_answer_every_request_and_converge(make_gateway, admin):
    app = make_gateway(GATEWAY_REVOCATION_REFRESH_SECONDS="0.01")  # a reload due on almost every request
    gateway = app.test_client()
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    token = access_token(gateway, "tianhe.officer")

    def calls(_):
        client = app.test_client()
        return [me(client, token).status_code for _ in range(40)]

    with ThreadPoolExecutor(8) as pool:
        running = pool.map(calls, range(8))
        assert gateway.post(f"/auth/users/{made['id']}/disable", headers=admin).status_code == 200
        statuses = [status for thread in running for status in thread]
    assert set(statuses) <= {200, 401}
    time.sleep(0.02)
    assert_revoked(me(gateway, token))
