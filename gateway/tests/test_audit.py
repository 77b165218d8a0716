"""The gateway's audit trail (account changes) and /api/audit, the merged view of every trail (PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy.exc
from flask import Flask, jsonify, request
from openpyxl import load_workbook
from sqlalchemy import text

from servicekit import audit
from servicekit.identity import HEADER, verify
from servicekit.keys import identity_public_keys
from servicekit.paging import page_in_memory
from tests.support.wsgi_server import Server

from .conftest import ADMIN_PASSWORD, admin_token, auth, bearer, gateway_app, make_user

pytestmark = pytest.mark.servers
SERVICES = ("quota", "enrollment", "finance", "evaluation")
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def trail_app(var_dir) -> Flask:
    """A service's GET /audit as servicekit answers it: 7 entries, newest first by default, keyset-paged (sort,
    cursor, count, the Link rel="next"); the
    `service` query names which service's trail (the stand-in serves all four)."""
    app = Flask("trail")
    keys = identity_public_keys(var_dir)
    app.config["callers"] = []

    @app.get("/<service>/audit")
    def trail(service):
        # Verified as that service verifies it: for its audience and its own path, /audit.
        identity = verify(
            request.headers[HEADER],
            keys,
            audience=service,
            method="GET",
            path="/audit",
            request_id=request.headers.get("X-Request-ID", ""),
        )
        assert identity.role in ("federation_admin", "auditor")
        app.config["callers"].append(identity.role)
        offset = SERVICES.index(service)
        entries = [  # two services share a moment: the merge orders them by name, then id
            {"id": n, "at": START + timedelta(minutes=10 * n + (offset if n % 2 else 0)), "action": f"{service}.{n}"}
            for n in range(7, 0, -1)
        ]
        args = {
            "sort": request.args.get("sort", "-at"),
            "limit": int(request.args["limit"]),
            "count": request.args.get("count") == "true",
            "cursor": request.args.get("cursor"),
        }
        page, headers = page_in_memory(entries, args, id_key="id")  # servicekit.paging's contract
        for entry in page:
            entry.update(at=entry["at"].isoformat(), actor_id="tester", entity_type="thing", entity_id=str(entry["id"]))
        return jsonify(page), 200, headers

    return app


@pytest.fixture
def merged(runtime, var_dir):
    server = Server(trail_app(var_dir))
    env = {"GATEWAY_BOOTSTRAP_ADMIN": "admin", "GATEWAY_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD}
    running = gateway_app(runtime, env, **{name: f"{server.url}/{name}" for name in SERVICES})
    yield running, server
    server.stop()


def walk(client, headers, **query) -> list[dict]:
    seen = []
    while True:
        response = client.get("/api/audit", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        seen += response.get_json()
        if query.get("count") == "true":
            total = len(walk(client, headers, **{k: v for k, v in query.items() if k not in ("cursor", "count")}))
            assert response.headers["X-Total-Count"] == str(total)
        link = response.headers.get("Link")
        if not link:
            return seen
        query = {k: v[0] for k, v in parse_qs(urlsplit(link[1 : link.index(">")]).query).items()}


def test_account_changes_are_audited_in_their_transaction_and_merged_with_every_service(merged, runtime):
    running, server = merged
    client = running.test_client()
    made = make_user(client, "tianhe.officer", "unit_officer", unit_id="GZ-TH")
    admin = auth(admin_token(client))
    assert client.post(f"/auth/users/{made['id']}/disable", headers=admin).status_code == 200

    auditor = bearer(running, "auditor", "auditor.li")
    entries = walk(client, auditor, limit=2)
    ours = [(e["service"], e["action"]) for e in entries if e["service"] == "gateway"]
    assert ours == [("gateway", "user.disabled"), ("gateway", "user.created")]
    disabled = next(e for e in entries if e["action"] == "user.disabled")
    assert (disabled["actor_id"], disabled["actor_role"], disabled["entity_id"]) == (
        "admin",
        "federation_admin",
        made["id"],
    )
    assert (disabled["before"], disabled["after"]) == ({"active": True}, {"active": False})
    assert "tianhe.officer" not in str(entries)  # an account's username is not in its entries

    # four services' seven entries each, and the gateway's two: each once, newest first (ties by source)
    assert len(entries) == 4 * 7 + 2
    assert len({(e["service"], e["id"]) for e in entries}) == len(entries)
    keys = [(datetime.fromisoformat(e["at"]), e["service"]) for e in entries]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
    assert all(a[1] < b[1] for a, b in zip(keys, keys[1:]) if a[0] == b[0])
    assert set(server.app.config["callers"]) == {"auditor"}  # the services saw the caller, signed

    only = walk(client, auditor, service="finance", limit=3)
    assert [e["action"] for e in only] == [f"finance.{n}" for n in range(7, 0, -1)]

    # the list convention: sort by id (ties: source), count = the sum of the sources' counts on every page
    by_id = walk(client, auditor, sort="id", limit=4, count="true")
    assert [(e["id"], e["service"]) for e in by_id] == sorted((e["id"], e["service"]) for e in entries)
    assert walk(client, auditor, service="quota", limit=5, count="true")[0]["service"] == "quota"
    first = client.get("/api/audit", query_string={"limit": 2}, headers=auditor)
    assert first.headers["Link"].startswith("<?limit=2&cursor=") and "X-Total-Count" not in first.headers
    cursor = first.headers["Link"].split("cursor=")[1].split(">")[0]
    other_sort = client.get("/api/audit", query_string={"sort": "id", "cursor": cursor}, headers=auditor)
    assert other_sort.status_code == 422 and "cursor" in other_sort.get_json()["errors"]

    export = client.get("/api/audit", query_string={"format": "xlsx"}, headers=auditor)
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.data), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + len(entries) and rows[1][1] == entries[0]["service"]

    for role, scope in (("unit_officer", {"unit_id": "GZ-TH"}), ("institution_system", {"institution_id": "GZ-A"})):
        assert client.get("/api/audit", headers=bearer(running, role, **scope)).status_code == 403
    assert client.get("/api/audit", query_string={"cursor": "bm9wZQ"}, headers=auditor).status_code == 422
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/api/audit", headers=admin).status_code == 405

    with runtime.engine.connect() as db, pytest.raises(sqlalchemy.exc.DBAPIError, match="never changed nor deleted"):
        db.execute(text("DELETE FROM audit_entries"))


def test_the_unit_of_works_masking_keeps_no_personal_data_in_clear():
    masked = audit.mask(
        {
            "resident_id": "44010619850312003X",
            "phone": "13920130001",
            "bank_account": "6222020200112233",
            "private_key_pem": "-----BEGIN",
            "others": {"employee 1": {"resident_id": "4401**********003X"}},
        }
    )
    assert masked == {
        "resident_id": "4401**********003X",
        "phone": "1392***0001",
        "bank_account": "************2233",
        "private_key_pem": "***",
        "others": {"employee 1": {"resident_id": "4401**********003X"}},
    }
    assert audit.person_masked({"name": "陈小明", "unit_id": "GZ-TH"}) == {"name": "陈**", "unit_id": "GZ-TH"}
