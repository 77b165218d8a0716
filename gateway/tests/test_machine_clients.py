"""Institution systems' API keys: listed without secrets, disabled and enabled with a reason (refused by every
gateway process at once), secrets rotated with an overlap; every change in the gateway's audit trail (PostgreSQL)."""

from __future__ import annotations

import pytest

from gateway.signatures import signed_headers
from tests.support.processes import wait_for

from .conftest import admin_token, auth, bearer

pytestmark = pytest.mark.servers
TARGET = "/api/evaluation/whoami"


def signed_status(client, key_id: str, secret: str) -> int:
    return client.post(TARGET, data=b"{}", headers=signed_headers(key_id, secret, "POST", TARGET, b"{}")).status_code


def test_machine_clients_are_listed_disabled_enabled_and_rotated_and_every_gateway_refuses_at_once(make_gateway):
    first, second = make_gateway(), make_gateway()  # two gateway processes on the one database
    one, other = first.test_client(), second.test_client()
    admin = auth(admin_token(one))
    made = [
        one.post("/auth/clients", json={"name": name, "institution_id": institution}, headers=admin).get_json()
        for name, institution in (
            ("广州职工教育网 考试系统", "inst-7"),
            ("番禺技校 成绩系统", "inst-8"),
            ("旧系统", "inst-7"),
        )
    ]
    key, secret = made[0]["key_id"], made[0]["secret"]
    assert signed_status(other, key, secret) == 200

    # the list: paged like every list, filtered, searched, never a secret; the auditor reads it
    auditor = bearer(first, "auditor", "auditor.li")
    page = one.get("/auth/clients", query_string={"limit": 2, "count": "true"}, headers=auditor)
    assert page.status_code == 200 and page.headers["X-Total-Count"] == "3"
    assert page.headers["Link"].startswith("<?limit=2&count=true&cursor=")
    rows = (
        page.get_json() + one.get(f"/auth/clients{page.headers['Link'][1:].split('>')[0]}", headers=auditor).get_json()
    )
    assert sorted(r["key_id"] for r in rows) == sorted(m["key_id"] for m in made)
    assert not any("secret" in row for row in rows) and all(m["secret"] not in str(rows) for m in made)
    used = next(r for r in rows if r["key_id"] == key)
    assert used["status"] == "active" and used["last_used_at"] is not None and used["created_by"] == "admin"
    assert [r["institution_id"] for r in one.get("/auth/clients?institution_id=inst-8", headers=admin).get_json()] == [
        "inst-8"
    ]
    assert [r["name"] for r in one.get("/auth/clients", query_string={"q": "成绩"}, headers=admin).get_json()] == [
        "番禺技校 成绩系统"
    ]
    bad_cursor = one.get("/auth/clients", query_string={"cursor": "bm9wZQ"}, headers=admin)  # servicekit's refusal
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.get_json()["errors"]
    officer = bearer(first, "unit_officer", "officer", unit_id="GZ-TH")
    assert one.get("/auth/clients", headers=officer).status_code == 403
    # an institution's operator (its IT page) sees its own institution's clients only, whatever it asks for
    operator = bearer(first, "institution_operator", "inst7.operator", institution_id="inst-7")
    own = one.get("/auth/clients", query_string={"institution_id": "inst-8"}, headers=operator)
    assert own.status_code == 200 and own.get_json() == []
    own = one.get("/auth/clients", headers=operator).get_json()
    assert sorted(r["key_id"] for r in own) == sorted(m["key_id"] for m in made if m["institution_id"] == "inst-7")
    assert one.post(f"/auth/clients/{key}/disable", json={"reason": "x"}, headers=operator).status_code == 403
    # and its own clients' last signed requests with their outcome (recorded after the answer, in the background)
    assert signed_status(one, key, "not the secret") == 401
    assert signed_status(one, made[1]["key_id"], made[1]["secret"]) == 200  # inst-8's: not shown to inst-7
    assert signed_status(one, "ik_nobody", "guess") == 401  # an unknown key id: nothing kept

    def received():
        rows = one.get("/auth/clients/requests", headers=operator).get_json()
        return rows if len(rows) >= 2 else None

    rows = wait_for(received, timeout=10, message="the signed requests kept")
    assert [(r["key_id"], r["method"], r["path"], r["status"]) for r in rows] == [
        (key, "POST", TARGET, 401),
        (key, "POST", TARGET, 200),
    ]
    everyone = wait_for(lambda: len(one.get("/auth/clients/requests", headers=auditor).get_json()) >= 3, timeout=10)
    assert everyone and one.get("/auth/clients/requests", headers=officer).status_code == 403
    assert one.post(f"/auth/clients/{key}/disable", json={"reason": "x"}, headers=auditor).status_code == 403

    # disabled, with a reason, in one process: the other refuses the client's next request at once
    no_reason = one.post(f"/auth/clients/{key}/disable", json={"reason": " "}, headers=admin)
    assert no_reason.status_code == 422 and "理由" in str(no_reason.get_json()["errors"])
    disabled = one.post(f"/auth/clients/{key}/disable", json={"reason": "密钥疑似泄露"}, headers=admin)
    assert disabled.status_code == 200 and disabled.get_json()["status"] == "disabled"
    assert signed_status(other, key, secret) == 401 and signed_status(one, key, secret) == 401
    assert [r["key_id"] for r in one.get("/auth/clients?active=false", headers=admin).get_json()] == [key]
    assert signed_status(other, made[1]["key_id"], made[1]["secret"]) == 200  # the others go on
    enabled = other.post(f"/auth/clients/{key}/enable", json={"reason": "已更换服务器"}, headers=admin)
    assert enabled.status_code == 200 and signed_status(one, key, secret) == 200

    # rotation: the new secret shown once; the old one works for the overlap; with none, the old is refused
    rotated = one.post(f"/auth/clients/{key}/secret", json={"reason": "定期轮换"}, headers=admin).get_json()
    assert rotated["secret"] != secret and rotated["previous_secret_until"]
    assert signed_status(other, key, rotated["secret"]) == 200 and signed_status(other, key, secret) == 200
    again = one.post(f"/auth/clients/{key}/secret", json={"overlap_hours": 0}, headers=admin).get_json()
    assert again["previous_secret_until"] is None
    assert signed_status(other, key, again["secret"]) == 200
    assert signed_status(other, key, rotated["secret"]) == 401 and signed_status(one, key, secret) == 401
    assert one.post("/auth/clients/ik_nobody/secret", json={}, headers=admin).status_code == 404

    # every change in the gateway's audit trail, with who and why; never a secret
    trail = one.get(
        "/api/audit",
        query_string={"service": "gateway", "entity_type": "machine_client", "entity_id": key, "sort": "at"},
        headers=auditor,
    ).get_json()
    assert [(e["action"], e["reason"]) for e in trail] == [
        ("machine_client.created", None),
        ("machine_client.disabled", "密钥疑似泄露"),
        ("machine_client.enabled", "已更换服务器"),
        ("machine_client.secret_rotated", "定期轮换"),
        ("machine_client.secret_rotated", None),
    ]
    assert trail[1]["before"] == {"active": True} and trail[1]["after"] == {"active": False}
    assert {e["actor_id"] for e in trail} == {"admin"}
    assert all(s not in str(trail) for s in (secret, rotated["secret"], again["secret"]))
