"""The quota service's audit trail: each decision with who, what changed and why; read only (PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import text

pytestmark = pytest.mark.servers


def entries(quota, role="auditor", **query) -> list[dict]:
    return quota.ok("GET", "/audit", role=role, query_string=query)


def test_campaign_unit_and_allocation_decisions_are_audited_with_actor_and_reason(quota):
    quota.unit("GZ-HZ", 120_000)
    quota.unit("GZ-TH", 98_000)
    campaign = quota.campaign()
    quota.ok("PATCH", f"/campaigns/{campaign['id']}", json={"name": "2026 提升计划（修订）"})
    quota.ok("PATCH", "/units/GZ-HZ", json={"headcount": 121_000})
    url = f"/campaigns/{campaign['id']}/allocation"
    quota.ok("POST", url, 201)
    body = {"academic_seats": 10, "reason": "区总工会申请"}
    quota.ok("PATCH", f"{url}/lines/GZ-HZ", json=body, role="federation_admin")

    made = entries(quota)
    actions = [e["action"] for e in made]
    assert actions[:3] == ["allocation_line.edited", "allocation.proposed", "unit.updated"]
    assert {"campaign.created", "campaign.updated", "unit.created"} <= set(actions)
    edited = made[0]
    assert edited["actor_id"] == "tester" and edited["actor_role"] == "federation_admin"
    assert edited["actor_kind"] == "user" and edited["entity_id"] == f"{campaign['id']}/GZ-HZ"
    assert edited["after"]["academic_seats"] == 10 and edited["before"]["academic_seats"] != 10
    assert edited["reason"] == "区总工会申请"
    renamed = next(e for e in made if e["action"] == "campaign.updated")
    assert renamed["before"]["name"] == "2026 百万职工素质提升" and "year" not in renamed["before"]
    assert renamed["after"]["name"] == "2026 提升计划（修订）"

    # filters and paging: two at a time visits every entry exactly once, newest first
    assert [e["entity_id"] for e in entries(quota, entity_type="unit")] == ["GZ-HZ", "GZ-TH", "GZ-HZ"]
    seen, query = [], {"limit": 2}
    while True:
        response = quota.call("GET", "/audit", role="federation_admin", query_string=query)
        assert response.status_code == 200
        seen += [e["id"] for e in response.get_json()]
        link = response.headers.get("Link")
        if not link:
            break
        query = {"limit": 2, "cursor": link.split("cursor=")[1].split(">")[0]}
    assert seen == [e["id"] for e in made]

    assert quota.call("GET", "/audit", role="unit_officer", scope={"unit_id": "GZ-HZ"}).status_code == 403
    assert quota.call("GET", "/audit", query_string={"cursor": "nonsense"}).status_code == 422


def test_a_reason_is_required_and_entries_can_never_be_changed(quota):
    quota.unit("GZ-HZ", 120_000)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    quota.ok("POST", url, 201)
    refused = quota.call("PATCH", f"{url}/lines/GZ-HZ", json={"academic_seats": 5, "reason": ""})
    assert refused.status_code == 422
    assert not entries(quota, action="allocation_line.edited")  # refused: nothing written, nothing audited

    for method in ("DELETE", "PUT", "PATCH", "POST"):
        assert quota.call(method, "/audit").status_code == 405
    with quota.stack.runtime.engine.connect() as db:
        for statement in ("UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="never changed nor deleted"):
                db.execute(text(statement))
            db.rollback()
