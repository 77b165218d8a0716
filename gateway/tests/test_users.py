"""The federation admin's user management, employees linked by resident ID number, on PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from servicekit.pseudonym import employee_id, employee_id_key
from servicekit.resident_id import check_digit
from tests.support.processes import REPO

from .conftest import admin_token, auth, bearer, login, make_user

pytestmark = pytest.mark.servers

PASSWORD = "a long password 1"
ENGLISH = {"Accept-Language": "en"}
FIRST17 = "44010619850312003"  # 天河区, born 1985-03-12
RESIDENT_ID = FIRST17 + check_digit(FIRST17)
WRONG_CHECK = FIRST17 + ("0" if RESIDENT_ID[-1] != "0" else "1")


@pytest.fixture
def admin(gateway):
    return auth(admin_token(gateway))


@pytest.fixture
def audit_lines():
    """The gateway's audit log lines, as JSON objects (the log plugin is off in these runs)."""
    from servicekit.logging import JsonFormatter

    stream, handler = io.StringIO(), logging.StreamHandler()
    handler.stream = stream
    handler.setFormatter(JsonFormatter("gateway"))
    logger = logging.getLogger("gateway.audit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def refresh(client, token):
    return client.post("/auth/refresh", json={"refresh_token": token})


# ---------------------------------------------------------------- employees by resident ID number


def test_an_employee_account_from_a_resident_id_number_gets_enrollments_employee_id(gateway, admin, var_dir, runtime):
    response = gateway.post(
        "/auth/users",
        json={"username": "worker.chen", "password": PASSWORD, "role": "employee", "resident_id": RESIDENT_ID.lower()},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    expected = employee_id(RESIDENT_ID, employee_id_key(var_dir))
    assert response.get_json()["employee_id"] == expected
    assert RESIDENT_ID not in response.get_data(as_text=True)

    token = login(gateway, "worker.chen", PASSWORD).get_json()["access_token"]
    seen = gateway.get("/api/enrollment/whoami", headers=auth(token)).get_json()
    assert (seen["role"], seen["employee_id"]) == ("employee", expected)
    with runtime.engine.connect() as db:  # only the pseudonym is kept
        row = db.execute(text("SELECT * FROM users WHERE username = 'worker.chen'")).one()
    assert RESIDENT_ID not in " ".join(str(value) for value in row)


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"role": "employee", "resident_id": WRONG_CHECK}, "resident_id", "check digit"),
        ({"role": "employee", "resident_id": "44010619851332003X"}, "resident_id", "birth date"),
        ({"role": "employee", "resident_id": "1234"}, "resident_id", "18 characters"),
        ({"role": "employee", "resident_id": RESIDENT_ID, "employee_id": "emp-1"}, "resident_id", "not both"),
        ({"role": "unit_officer", "unit_id": "u1", "resident_id": RESIDENT_ID}, "resident_id", "not part of"),
        ({"role": "employee"}, "employee_id", "required"),
    ],
)
def test_a_bad_resident_id_number_is_a_422_problem_and_makes_nobody(gateway, admin, body, field, message):
    response = gateway.post(
        "/auth/users", json={"username": "worker.wu", "password": PASSWORD} | body, headers=admin | ENGLISH
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert list(errors) == [field] and message in errors[field]
    assert WRONG_CHECK not in response.get_data(as_text=True)
    assert login(gateway, "worker.wu", PASSWORD).status_code == 401


# ---------------------------------------------------------------- listing and showing


def test_the_admin_lists_users_by_role_and_scope_a_page_at_a_time(gateway, admin):
    for n in range(3):
        make_user(gateway, f"tianhe.{n}", "unit_officer", unit_id="unit-tianhe")
    make_user(gateway, "haizhu.0", "unit_officer", unit_id="unit-haizhu")
    make_user(gateway, "inst.op", "institution_operator", institution_id="inst-1")

    def names(**query):
        return [user["username"] for user in listed(**query).get_json()]

    def listed(**query):
        response = gateway.get("/auth/users", query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()
        return response

    assert names(role="unit_officer") == ["haizhu.0", "tianhe.0", "tianhe.1", "tianhe.2"]
    assert names(unit_id="unit-tianhe", limit=2) == ["tianhe.0", "tianhe.1"]
    first = listed(unit_id="unit-tianhe", limit=2, count="true")
    assert first.headers["X-Total-Count"] == "3"
    following = first.headers["Link"].removeprefix("<?").removesuffix('>; rel="next"')
    assert [user["username"] for user in gateway.get("/auth/users?" + following, headers=admin).get_json()] == [
        "tianhe.2"
    ]
    assert names(q="tianhe") == ["tianhe.0", "tianhe.1", "tianhe.2"]
    assert names(institution_id="inst-1") == ["inst.op"]
    assert names(role="federation_admin") == ["admin"]
    assert gateway.get("/auth/users", query_string={"role": "king"}, headers=admin).status_code == 422
    counted = listed(unit_id="unit-tianhe", limit=0)  # count only: no user, their number
    assert (counted.get_json(), counted.headers["X-Total-Count"]) == ([], "3") and "Link" not in counted.headers
    assert gateway.get("/auth/users", query_string={"limit": -1}, headers=admin).status_code == 422


def test_the_admin_shows_one_user_and_nobody_else_manages_accounts(gateway, admin):
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    shown = gateway.get(f"/auth/users/{made['id']}", headers=admin)
    assert shown.status_code == 200 and shown.get_json() == made
    assert "password" not in shown.get_json() and "password_hash" not in shown.get_json()
    missing = gateway.get("/auth/users/no-such-user", headers=admin)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"

    for role, scope in (("auditor", {}), ("unit_officer", {"unit_id": "unit-tianhe"})):
        headers = bearer(gateway.application, role, **scope)
        for method, path, body in (
            ("GET", "/auth/users", None),
            ("GET", f"/auth/users/{made['id']}", None),
            ("POST", f"/auth/users/{made['id']}/disable", None),
            ("POST", f"/auth/users/{made['id']}/enable", None),
            ("PUT", f"/auth/users/{made['id']}/password", {"password": "x" * 12}),
            ("PUT", f"/auth/users/{made['id']}/role", {"role": "federation_admin"}),
        ):
            assert gateway.open(path, method=method, json=body, headers=headers).status_code == 403, (role, path)
    assert login(gateway, "tianhe.officer", PASSWORD).get_json()["identity"]["role"] == "unit_officer"


# ---------------------------------------------------------------- disabling, passwords, roles


def test_a_disabled_user_cannot_log_in_nor_refresh_until_enabled(gateway, admin, audit_lines):
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    tokens = login(gateway, "tianhe.officer", PASSWORD).get_json()

    disabled = gateway.post(f"/auth/users/{made['id']}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert login(gateway, "tianhe.officer", PASSWORD).status_code == 401
    refused = refresh(gateway, tokens["refresh_token"])
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    listed = gateway.get("/auth/users", query_string={"active": "false"}, headers=admin).get_json()
    assert [user["username"] for user in listed] == ["tianhe.officer"]

    assert gateway.post(f"/auth/users/{made['id']}/enable", headers=admin).get_json()["active"] is True
    assert login(gateway, "tianhe.officer", PASSWORD).status_code == 200
    assert refresh(gateway, tokens["refresh_token"]).status_code == 401  # the old login stays revoked

    lines = [line for line in audit_lines() if line["user_id"] == made["id"]]
    assert [line["msg"] for line in lines] == ["user created", "user disabled", "user enabled"]
    admin_id = gateway.get("/auth/users", query_string={"role": "federation_admin"}, headers=admin).get_json()[0]["id"]
    assert {line["by_user_id"] for line in lines} == {admin_id}
    assert "tianhe.officer" not in json.dumps(audit_lines())


def test_an_admin_cannot_disable_or_demote_themself(gateway, admin):
    me = gateway.get("/auth/users", query_string={"role": "federation_admin"}, headers=admin).get_json()[0]
    for path, body in (("disable", None), ("role", {"role": "auditor"})):
        response = gateway.open(
            f"/auth/users/{me['id']}/{path}", method="POST" if body is None else "PUT", json=body, headers=admin
        )
        assert response.status_code == 409 and response.get_json()["code"] == "conflict"
    assert login(gateway).get_json()["identity"]["role"] == "federation_admin"


def test_a_password_reset_replaces_the_password_and_ends_every_login(gateway, admin):
    made = make_user(gateway, "inst.op", "institution_operator", institution_id="inst-1")
    tokens = login(gateway, "inst.op", PASSWORD).get_json()
    short = gateway.put(f"/auth/users/{made['id']}/password", json={"password": "short"}, headers=admin)
    assert short.status_code == 422 and list(short.get_json()["errors"]) == ["password"]
    assert refresh(gateway, tokens["refresh_token"]).status_code == 200  # a refused reset changed nothing

    tokens = login(gateway, "inst.op", PASSWORD).get_json()
    reset = gateway.put(f"/auth/users/{made['id']}/password", json={"password": "a new long password"}, headers=admin)
    assert reset.status_code == 200
    assert login(gateway, "inst.op", PASSWORD).status_code == 401
    assert refresh(gateway, tokens["refresh_token"]).status_code == 401
    assert login(gateway, "inst.op", "a new long password").status_code == 200


def test_a_role_change_is_checked_as_at_creation_and_the_next_refresh_carries_it(gateway, admin, var_dir):
    made = make_user(gateway, "tianhe.officer", "unit_officer", unit_id="unit-tianhe")
    tokens = login(gateway, "tianhe.officer", PASSWORD).get_json()
    path = f"/auth/users/{made['id']}/role"

    wrong = gateway.put(path, json={"role": "grassroots_officer", "grassroots_union_id": "g-1"}, headers=admin)
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"] == {"unit_id": "单位：角色 grassroots_officer 必须填写"}
    bad_number = gateway.put(path, json={"role": "employee", "resident_id": WRONG_CHECK}, headers=admin)
    assert bad_number.status_code == 422 and "校验码不符" in bad_number.get_json()["errors"]["resident_id"]
    assert gateway.get(f"/auth/users/{made['id']}", headers=admin).get_json() == made  # nothing changed

    changed = gateway.put(
        path, json={"role": "grassroots_officer", "grassroots_union_id": "g-1", "unit_id": "unit-tianhe"}, headers=admin
    )
    assert changed.status_code == 200
    assert (changed.get_json()["role"], changed.get_json()["grassroots_union_id"]) == ("grassroots_officer", "g-1")
    identity = refresh(gateway, tokens["refresh_token"]).get_json()["identity"]
    assert identity == {
        "subject": "tianhe.officer",
        "role": "grassroots_officer",
        "unit_id": "unit-tianhe",
        "grassroots_union_id": "g-1",
    }

    employee = gateway.put(path, json={"role": "employee", "resident_id": RESIDENT_ID}, headers=admin).get_json()
    assert employee["employee_id"] == employee_id(RESIDENT_ID, employee_id_key(var_dir))
    assert employee["unit_id"] is None and employee["grassroots_union_id"] is None


# ---------------------------------------------------------------- the operator commands


def test_the_operator_commands_manage_users(gateway, runtime, var_dir):
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": runtime.settings.database_url,
        "VAR_DIR": str(var_dir),
        "GATEWAY_NEW_PASSWORD": PASSWORD,
        "GATEWAY_NEW_RESIDENT_ID": RESIDENT_ID,
    }

    def run(*args, **extra):
        done = subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            cwd=REPO,
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert RESIDENT_ID not in done.stdout + done.stderr
        return done

    made = run("create-user", "worker.chen", "--role", "employee", "--resident-id")
    assert made.returncode == 0, made.stderr
    identity = login(gateway, "worker.chen", PASSWORD).get_json()["identity"]
    assert identity["employee_id"] == employee_id(RESIDENT_ID, employee_id_key(var_dir))
    bad = run("create-user", "worker.wu", "--role", "employee", "--resident-id", GATEWAY_NEW_RESIDENT_ID=WRONG_CHECK)
    assert bad.returncode == 2 and "check digit" in bad.stderr

    listed = run("list-users", "--role", "employee")
    assert listed.returncode == 0 and [line.split()[1] for line in listed.stdout.splitlines()] == ["worker.chen"]

    tokens = login(gateway, "worker.chen", PASSWORD).get_json()
    assert run("disable-user", "worker.chen").returncode == 0
    assert login(gateway, "worker.chen", PASSWORD).status_code == 401
    assert refresh(gateway, tokens["refresh_token"]).status_code == 401
    assert run("enable-user", "worker.chen").returncode == 0
    assert run("reset-password", "worker.chen", GATEWAY_NEW_PASSWORD="another long one").returncode == 0
    assert login(gateway, "worker.chen", "another long one").status_code == 200

    changed = run("change-role", "worker.chen", "--role", "unit_officer", "--unit-id", "unit-tianhe")
    assert changed.returncode == 0, changed.stderr
    assert login(gateway, "worker.chen", "another long one").get_json()["identity"]["unit_id"] == "unit-tianhe"
    unknown = run("disable-user", "nobody.here")
    assert unknown.returncode == 2 and "no such user" in unknown.stderr


# ---------------------------------------------------------------- one's own password


def test_a_user_changes_their_own_password_with_the_current_one_and_every_login_ends(gateway, admin):
    make_user(gateway, "clerk.own", "auditor")
    first = login(gateway, "clerk.own", PASSWORD).get_json()
    token = auth(first["access_token"])

    wrong = gateway.put(
        "/auth/me/password", json={"current_password": "not it at all", "password": "a new password 2"}, headers=token
    )
    assert wrong.status_code == 422
    assert "current_password" in wrong.get_json()["errors"]
    short = gateway.put("/auth/me/password", json={"current_password": PASSWORD, "password": "short"}, headers=token)
    assert short.status_code == 422 and "password" in short.get_json()["errors"]

    done = gateway.put(
        "/auth/me/password", json={"current_password": PASSWORD, "password": "a new password 2"}, headers=token
    )
    assert done.status_code == 204
    assert refresh(gateway, first["refresh_token"]).status_code == 401  # the old login ended
    assert login(gateway, "clerk.own", PASSWORD).status_code == 401
    assert login(gateway, "clerk.own", "a new password 2").status_code == 200
    assert gateway.put("/auth/me/password", json={"current_password": "x", "password": "y" * 12}).status_code == 401
