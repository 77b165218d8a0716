"""Logins, tokens, machine signatures and the identity the services receive, on PostgreSQL."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import request
from sqlalchemy import text

from gateway.config import load_auth_settings
from gateway.incoming import client_address, parse_networks
from gateway.signatures import signed_headers
from servicekit.identity import HEADER, Identity, sign, verify
from servicekit.keys import identity_private_key, identity_public_keys, key_id
from tests.support.processes import REPO

from .conftest import ADMIN_PASSWORD, admin_token, auth, bearer, login, make_user
from .upstream import service_app

pytestmark = pytest.mark.servers

PROBLEM_JSON = "application/problem+json"


# ---------------------------------------------------------------- passwords and tokens


def test_password_login_gives_a_token_whose_identity_reaches_the_service_signed(gateway, var_dir):
    make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    tokens = login(gateway, "Tianhe.Officer", "a long password 1").get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["identity"] == {"subject": "tianhe.officer", "role": "unit_officer", "unit_id": "unit-tianhe"}

    seen = gateway.get("/api/quota/whoami", headers=auth(tokens["access_token"])).get_json()
    assert (seen["subject"], seen["role"], seen["unit_id"]) == ("tianhe.officer", "unit_officer", "unit-tianhe")
    assert gateway.get("/auth/me", headers=auth(tokens["access_token"])).get_json()["unit_id"] == "unit-tianhe"


def test_a_login_names_the_accounts_previous_login_a_refresh_does_not(gateway):
    make_user(gateway, "yuexiu.union1", "grassroots_officer", unit_id="GZ-YX", grassroots_union_id="GZ-YX-G1")
    first = login(gateway, "yuexiu.union1", "a long password 1").get_json()
    assert "previous_login_at" not in first  # never logged in before
    second = login(gateway, "yuexiu.union1", "a long password 1").get_json()
    previous = datetime.fromisoformat(second["previous_login_at"])
    assert previous.tzinfo is not None and abs((datetime.now(UTC) - previous).total_seconds()) < 300
    third = login(gateway, "yuexiu.union1", "a long password 1").get_json()
    assert datetime.fromisoformat(third["previous_login_at"]) >= previous
    refreshed = gateway.post("/auth/refresh", json={"refresh_token": third["refresh_token"]}).get_json()
    assert "previous_login_at" not in refreshed
    assert login(gateway, "yuexiu.union1", "a wrong password").status_code == 401
    fourth = login(gateway, "yuexiu.union1", "a long password 1").get_json()
    assert datetime.fromisoformat(fourth["previous_login_at"]) >= datetime.fromisoformat(third["previous_login_at"])


def test_the_identity_header_the_service_gets_verifies_with_the_gateways_public_key(gateway, service, var_dir):
    captured = {}
    service.app.before_request(lambda: captured.setdefault("headers", dict(request.headers)))
    gateway.get("/api/finance/whoami", headers=auth(admin_token(gateway)))
    headers = captured["headers"]
    identity = verify(
        headers[HEADER],
        identity_public_keys(var_dir),
        audience="finance",
        method="GET",
        path="/whoami",
        request_id=headers["X-Request-Id"],
    )
    assert identity == Identity(subject="admin", role="federation_admin")
    # A JWS naming its key, signed with the gateway's private key alone (the services never hold it).
    assert jwt.get_unverified_header(headers[HEADER]) == {
        "alg": "EdDSA",
        "typ": "JWT",
        "kid": key_id(identity_private_key(var_dir).public_key()),
    }


def test_an_identity_header_replayed_against_another_service_or_path_is_refused(gateway, service, var_dir):
    """What one service sees (a compromised one, a log) opens no other service and no other route."""
    captured = {}
    service.app.before_request(lambda: captured.setdefault("headers", dict(request.headers)))
    gateway.get("/api/quota/whoami", headers=auth(admin_token(gateway)))
    seen = {name: captured["headers"][name] for name in (HEADER, "X-Request-Id")}
    quota, finance = (service_app(var_dir, audience).test_client() for audience in ("quota", "finance"))
    assert quota.get("/whoami", headers=seen).get_json()["role"] == "federation_admin"
    for client, method, path in ((finance, "GET", "/whoami"), (quota, "POST", "/whoami"), (quota, "GET", "/whoami/")):
        response = client.open(path, method=method, headers=seen)
        assert response.status_code == 401 and response.mimetype == PROBLEM_JSON, (method, path)
        assert "another" in response.get_json()["detail"]
    assert quota.get("/whoami", headers=seen | {"X-Request-Id": "another"}).status_code == 401


def test_wrong_password_and_unknown_user_get_the_same_answer_in_similar_time(gateway):
    def attempt(username):
        started = time.perf_counter()
        response = login(gateway, username, "not the password")
        return response, time.perf_counter() - started

    wrong, unknown = [attempt("admin") for _ in range(3)], [attempt("nobody.here") for _ in range(3)]
    for response, _ in wrong + unknown:
        assert response.status_code == 401 and response.mimetype == PROBLEM_JSON
    bodies = {(r.get_json()["detail"], r.get_json()["code"]) for r, _ in wrong + unknown}
    assert len(bodies) == 1
    wrong_time, unknown_time = (statistics.median(t for _, t in runs) for runs in (wrong, unknown))
    assert 0.4 < unknown_time / wrong_time < 2.5, (wrong_time, unknown_time)


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_login(gateway):
    first = login(gateway).get_json()
    second = gateway.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert gateway.get("/api/quota/whoami", headers=auth(second["access_token"])).status_code == 200

    reused = gateway.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and "already used" in reused.get_json()["detail"]
    # Whoever holds the newer token (maybe the thief) is cut off too.
    after = gateway.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401 and "revoked" in after.get_json()["detail"]
    # A new login is unaffected.
    assert login(gateway).status_code == 200


def test_a_login_ends_at_its_absolute_lifetime_however_often_it_is_refreshed(make_gateway, guard_clock):
    gateway = make_gateway(GATEWAY_SESSION_SECONDS="3", GATEWAY_REFRESH_TOKEN_SECONDS="3600").test_client()
    tokens = login(gateway).get_json()
    assert tokens["refresh_expires_in"] == 3 and tokens["expires_in"] <= 3
    for left in (2, 1):  # refreshing keeps the login going, never past its end
        guard_clock.now += 1
        refreshed = gateway.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200
        tokens = refreshed.get_json()
        assert tokens["refresh_expires_in"] <= left
    guard_clock.now += 1.2
    ended = gateway.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert ended.status_code == 401 and ended.mimetype == PROBLEM_JSON
    assert login(gateway).status_code == 200  # a new login starts a new one


def test_logins_last_twelve_hours_at_most_unless_configured():
    assert load_auth_settings({}).session_seconds_of("federation_admin") == 12 * 3600
    configured = load_auth_settings({"GATEWAY_SESSION_SECONDS": "28800", "GATEWAY_EMPLOYEE_SESSION_SECONDS": "604800"})
    assert (
        configured.session_seconds_of("unit_officer") == 28800 and configured.session_seconds_of("employee") == 604800
    )


def test_logout_revokes_the_refresh_token(gateway):
    tokens = login(gateway).get_json()
    assert gateway.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert gateway.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "0" * 32 + ".nope"])
def test_a_made_up_refresh_token_is_refused(gateway, token):
    response = gateway.post("/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401 and response.mimetype == PROBLEM_JSON


def test_an_expired_access_token_is_refused(make_gateway):
    app = make_gateway()
    headers = bearer(app, "federation_admin", now=time.time() - 3600, lifetime=900)
    response = app.test_client().get("/api/quota/whoami", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_with_a_wrong_signature_or_changed_claims_is_refused(gateway):
    token = admin_token(gateway)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, b"someone else's key that is long enough", algorithm="HS256")
    header, payload, signature = token.split(".")
    promoted = jwt.encode(claims | {"role": "federation_admin", "sub": "mallory"}, b"x" * 32, algorithm="HS256")
    tampered = ".".join([header, promoted.split(".")[1], signature])
    unsigned = (
        jwt.encode(claims, None, algorithm="none")
        if "none" in jwt.algorithms.get_default_algorithms()
        else header + "." + payload + "."
    )
    for bad in (forged, tampered, unsigned, token[:-2], "not-a-jwt"):
        response = gateway.get("/api/quota/whoami", headers=auth(bad))
        assert response.status_code == 401, bad
        assert response.mimetype == PROBLEM_JSON


def test_no_credentials_is_a_401_problem(gateway):
    response = gateway.get("/api/quota/whoami")
    assert response.status_code == 401 and response.mimetype == PROBLEM_JSON
    assert "X-Request-ID" in response.headers


def test_a_forged_identity_header_from_the_client_is_dropped(gateway, var_dir, service):
    make_user(gateway, "worker.li", "employee", employee_id="emp-1")
    token = login(gateway, "worker.li", "a long password 1").get_json()["access_token"]
    # Even a header signed with the real key (a leaked one) is replaced by the caller's own identity.
    bound = {"audience": "enrollment", "method": "GET", "path": "/whoami", "request_id": "r-forged"}
    forged = sign(Identity(subject="mallory", role="federation_admin"), identity_private_key(var_dir), **bound)
    seen = gateway.get("/api/enrollment/whoami", headers=auth(token) | {HEADER: forged}).get_json()
    assert (seen["subject"], seen["role"], seen["employee_id"]) == ("worker.li", "employee", "emp-1")
    # Without a token the forged header gets nowhere.
    assert gateway.get("/api/enrollment/whoami", headers={HEADER: forged}).status_code == 401


def test_a_forged_identity_header_sent_straight_to_a_service_is_refused(service):
    client = service.app.test_client()
    bound = {"audience": "quota", "method": "GET", "path": "/whoami", "request_id": "r-forged"}
    forged = sign(Identity(subject="mallory", role="federation_admin"), Ed25519PrivateKey.generate(), **bound)
    for headers in ({}, {HEADER: forged}, {HEADER: "v1.e30.AAAA"}):
        response = client.get("/whoami", headers=headers)
        assert response.status_code == 401
    assert service.app.config["hits"] == []


# ---------------------------------------------------------------- roles, public routes


def test_the_auditor_never_writes_and_machines_stay_out_of_quota(gateway):
    app = gateway.application
    auditor = bearer(app, "auditor")
    assert gateway.get("/api/quota/whoami", headers=auditor).status_code == 200
    for method in ("POST", "PUT", "DELETE"):
        response = gateway.open("/api/quota/whoami", method=method, headers=auditor)
        assert response.status_code == 403 and response.mimetype == PROBLEM_JSON
    system = bearer(app, "institution_system", institution_id="inst-1")
    assert gateway.get("/api/quota/whoami", headers=system).status_code == 403
    assert gateway.post("/api/evaluation/whoami", headers=system).status_code == 200


def test_public_certificate_route_needs_no_login_and_carries_no_identity(gateway, service):
    response = gateway.get("/api/evaluation/public/certificates/GZ-2014-0001")
    assert response.status_code == 200
    assert response.get_json() == {"path": "certificates/GZ-2014-0001", "identity_header": None}
    assert gateway.post("/api/evaluation/public/certificates/x").status_code == 401
    assert gateway.get("/api/quota/public/x").status_code == 401


def test_only_a_federation_admin_makes_accounts(gateway):
    officer = bearer(gateway.application, "unit_officer", unit_id="u1")
    response = gateway.post(
        "/auth/users",
        json={"username": "someone", "password": "long enough pw", "role": "federation_admin"},
        headers=officer,
    )
    assert response.status_code == 403
    assert gateway.post("/auth/clients", json={"name": "x", "institution_id": "i"}, headers=officer).status_code == 403
    assert gateway.post("/auth/users", json={}, headers=auth(admin_token(gateway))).status_code == 422


def test_account_input_is_checked(gateway):
    headers = auth(admin_token(gateway))
    response = gateway.post(
        "/auth/users",
        json={
            "username": "gr.officer",
            "password": "long enough pw",
            "role": "grassroots_officer",
            "grassroots_union_id": "g1",
            "institution_id": "i1",
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "unit_id": "单位：角色 grassroots_officer 必须填写",
        "institution_id": "培训机构：不属于角色 grassroots_officer",
    }
    duplicate = gateway.post(
        "/auth/users", json={"username": "ADMIN", "password": "long enough pw", "role": "auditor"}, headers=headers
    )
    assert duplicate.status_code == 422 and duplicate.get_json()["errors"] == {"username": "用户名：已被使用"}
    machine = gateway.post(
        "/auth/users",
        json={"username": "robot", "password": "long enough pw", "role": "institution_system", "institution_id": "i"},
        headers=headers,
    )
    assert machine.status_code == 422 and "role" in machine.get_json()["errors"]


# ---------------------------------------------------------------- institution systems


@pytest.fixture
def machine(gateway):
    response = gateway.post(
        "/auth/clients",
        json={"name": "广州职工教育网 exam system", "institution_id": "inst-7"},
        headers=auth(admin_token(gateway)),
    )
    assert response.status_code == 201
    return response.get_json()


def signed(machine, method, target, body=b"", **options):
    return signed_headers(machine["key_id"], machine["secret"], method, target, body, **options)


def test_a_signed_machine_request_reaches_the_service_as_the_institution_system(gateway, machine):
    body = '{"results": [{"exam": "电工", "score": "88.5"}]}'.encode()
    target = "/api/evaluation/whoami?batch=3&note=%E6%89%B9"
    response = gateway.post(target, data=body, headers=signed(machine, "POST", target, body))
    assert response.status_code == 200, response.get_json()
    seen = response.get_json()
    assert (seen["role"], seen["institution_id"]) == ("institution_system", "inst-7")
    assert seen["subject"] == f"client:{machine['key_id']}"
    assert seen["body"] == body.decode()


def test_a_replayed_machine_request_is_refused(gateway, machine):
    headers = signed(machine, "POST", "/api/evaluation/whoami", b"{}")
    assert gateway.post("/api/evaluation/whoami", data=b"{}", headers=headers).status_code == 200
    replay = gateway.post("/api/evaluation/whoami", data=b"{}", headers=headers)
    assert replay.status_code == 401 and "重放" in replay.get_json()["detail"]


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_machine_request_is_refused(gateway, machine, skew):
    headers = signed(machine, "GET", "/api/evaluation/whoami", now=time.time() + skew)
    response = gateway.get("/api/evaluation/whoami", headers=headers)
    assert response.status_code == 401 and "five minutes" in response.get_json()["detail"]


def test_a_machine_request_with_a_wrong_signature_is_refused(gateway, machine, service):
    target = "/api/evaluation/whoami"
    cases = [
        (b'{"score": "99"}', signed(machine, "POST", target, b'{"score": "60"}')),  # body changed
        (b"{}", signed(machine, "POST", target + "?x=1", b"{}")),  # other target
        (b"{}", signed(machine | {"secret": "guessed"}, "POST", target, b"{}")),
        (b"{}", signed(machine | {"key_id": "ik_unknown"}, "POST", target, b"{}")),
        (b"{}", {k: v for k, v in signed(machine, "POST", target, b"{}").items() if k != "X-Nonce"}),
    ]
    for body, headers in cases:
        response = gateway.post(target, data=body, headers=headers)
        assert response.status_code == 401 and response.mimetype == PROBLEM_JSON, headers
    assert service.app.config["hits"] == []


# ---------------------------------------------------------------- limits


def test_the_rate_limit_is_shared_by_every_gateway_process_and_answers_429_with_retry_after(make_gateway, guard_clock):
    # Two apps on one database stand for two gunicorn workers (or two gateway replicas).
    first, second = (
        make_gateway(GATEWAY_RATE_LIMIT_PER_MINUTE="3", GATEWAY_RATE_LIMITS_BY_ROLE="unit_officer=3").test_client()
        for _ in range(2)
    )
    headers = bearer(first.application, "unit_officer", unit_id="u1")
    statuses = [
        client.get("/api/quota/whoami", headers=headers).status_code for client in (first, second, first, second)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    refused = second.get("/api/quota/whoami", headers=headers)
    assert refused.mimetype == PROBLEM_JSON and refused.get_json()["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client has its own allowance.
    other = bearer(first.application, "auditor", subject="someone.else")
    assert first.get("/api/quota/whoami", headers=other).status_code == 200


def test_concurrent_requests_on_two_gateway_processes_never_pass_the_limit(make_gateway, guard_clock):
    limit, lease = 600, 20  # 600 a minute: leases of 20 (gateway.limits.lease_size)
    gateways = [make_gateway(GATEWAY_RATE_LIMITS_BY_ROLE=f"unit_officer={limit}") for _ in range(2)]
    headers = bearer(gateways[0], "unit_officer", unit_id="u1")

    def burst(gateway) -> list[int]:
        client = gateway.test_client()
        return [client.get("/api/quota/whoami", headers=headers).status_code for _ in range(90)]

    with ThreadPoolExecutor(8) as pool:
        statuses = [status for run in pool.map(burst, gateways * 4) for status in run]
    assert len(statuses) == 720 and set(statuses) == {200, 429}
    # Never above the limit; below it by at most what each process leased and has not spent (two leases).
    assert limit - 2 * 2 * lease <= statuses.count(200) <= limit


def test_each_role_has_its_own_rate_a_machine_client_and_officers_are_not_capped_at_the_default(
    make_gateway, guard_clock
):
    client = make_gateway(GATEWAY_RATE_LIMIT_PER_MINUTE="2", GATEWAY_RATE_LIMITS_BY_ROLE="unit_officer=5").test_client()
    app = client.application

    def statuses(headers, count: int) -> list[int]:
        return [client.get("/api/evaluation/whoami", headers=headers).status_code for _ in range(count)]

    employee = bearer(app, "employee", "an.employee", employee_id="e1")
    assert statuses(employee, 3) == [200, 200, 429]  # the default
    officer = bearer(app, "unit_officer", "an.officer", unit_id="u1")
    assert statuses(officer, 6) == [200] * 5 + [429]  # set for the role
    machine = bearer(app, "institution_system", "a.machine", institution_id="i1")
    assert statuses(machine, 21) == [200] * 20 + [429]  # ten times the default unless set
    auditor = bearer(app, "auditor", subject="busy.auditor")
    assert statuses(auditor, 7) == [200] * 6 + [429]  # three times the default


@pytest.mark.parametrize("setting", ["institution_system", "nobody=5", "auditor=0", "auditor=lots"])
def test_a_role_rate_setting_that_cannot_be_read_stops_the_start(setting):
    with pytest.raises(ValueError, match="GATEWAY_RATE_LIMITS_BY_ROLE"):
        load_auth_settings({"GATEWAY_RATE_LIMITS_BY_ROLE": setting})


def test_wrong_passwords_for_admin_never_lock_admin_out_from_another_address(make_gateway, guard_clock):
    running = make_gateway()
    attacker, admin = running.test_client(source="127.0.0.1"), running.test_client(source="127.0.0.2")
    statuses = [login(attacker, "admin", f"guess {n}") for n in range(50)]
    # 5 free failures and the one that starts the delays; then each try waits its delay.
    assert [a.status_code for a in statuses] == [401] * 6 + [429] * 44
    assert {a.headers["Retry-After"] for a in statuses[6:]} == {"1"}
    # The failing address waits, even with the right password; the admin's own address does not.
    assert login(attacker, "admin", ADMIN_PASSWORD).status_code == 429
    started = time.perf_counter()
    answer = login(admin, "admin", ADMIN_PASSWORD)
    assert answer.status_code == 200 and time.perf_counter() - started < 2
    # The delay doubles with each further failure.
    guard_clock.now += 1
    assert login(attacker, "admin", "guess 50").status_code == 401
    assert login(attacker, "admin", "guess 51").headers["Retry-After"] == "2"
    # An unknown username is delayed exactly the same way: the answers tell nothing about who exists.
    unknown = [login(attacker, "nobody.at.all", f"guess {n}").status_code for n in range(10)]
    assert unknown == [401] * 6 + [429] * 4


def test_300_wrong_logins_from_one_address_get_429_with_retry_after(make_gateway, guard_clock):
    running = make_gateway()
    attacker = running.test_client(source="127.0.0.1")
    answers = [login(attacker, f"user{n}", "wrong") for n in range(300)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:100] == [401] * 100 and set(statuses[100:]) == {429}
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 15 * 60
    assert answers[-1].mimetype == PROBLEM_JSON
    assert login(attacker, "admin", ADMIN_PASSWORD).status_code == 429  # the address waits for the window
    assert login(running.test_client(source="127.0.0.2"), "admin", ADMIN_PASSWORD).status_code == 200


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(make_gateway, guard_clock):
    spoofing = make_gateway(GATEWAY_LOGIN_FAILURES_PER_ADDRESS="2").test_client()
    statuses = [
        login(spoofing, f"user{n}", "wrong", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]  # what the client writes itself changes nothing
    proxied = make_gateway(GATEWAY_LOGIN_FAILURES_PER_ADDRESS="2", GATEWAY_TRUSTED_PROXIES="127.0.0.0/8").test_client()
    behind = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 10.1.2.3"}  # the client, then the proxies' hops
    statuses = [login(proxied, f"user{n}", "wrong", headers=behind).status_code for n in range(3)]
    assert statuses == [401, 401, 429]
    assert login(proxied, "user9", "wrong", headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 401


def test_client_address():
    trusted = parse_networks("T", "10.0.0.0/8, 127.0.0.1")
    assert client_address("127.0.0.1", "1.2.3.4, 10.0.0.5", trusted) == "1.2.3.4"
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4", trusted) == "1.2.3.4"  # the left one is the client's word
    assert client_address("8.8.8.8", "1.2.3.4", trusted) == "8.8.8.8"  # not from a trusted proxy: ignored
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"


def test_the_bootstrap_admin_is_made_once(make_gateway, runtime):
    make_gateway()
    make_gateway()  # a second worker starting finds it there
    with runtime.engine.connect() as db:
        assert db.execute(text("SELECT role FROM users WHERE username = 'admin'")).scalars().all() == [
            "federation_admin"
        ]


def test_the_operator_commands_make_accounts_that_work(gateway, runtime, var_dir):
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": runtime.settings.database_url,
        "VAR_DIR": str(var_dir),
        "GATEWAY_NEW_PASSWORD": "a long password 2",
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )

    assert run("migrate").returncode == 0  # again: harmless
    made = run("create-user", "haizhu.officer", "--role", "unit_officer", "--unit-id", "unit-haizhu")
    assert made.returncode == 0, made.stderr
    tokens = login(gateway, "haizhu.officer", "a long password 2").get_json()
    assert tokens["identity"]["unit_id"] == "unit-haizhu"
    refused = run("create-user", "someone", "--role", "unit_officer")
    assert refused.returncode == 2 and "unit_id" in refused.stderr

    client = run("create-client", "职工技协 exam system", "--institution-id", "inst-3")
    assert client.returncode == 0, client.stderr
    machine = dict(line.split("=", 1) for line in client.stdout.split())
    headers = signed(machine, "GET", "/api/evaluation/whoami")
    seen = gateway.get("/api/evaluation/whoami", headers=headers).get_json()
    assert (seen["role"], seen["institution_id"]) == ("institution_system", "inst-3")
