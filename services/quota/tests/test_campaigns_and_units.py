"""Campaigns and organisation units over HTTP, with the events they publish (PostgreSQL + RabbitMQ)."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_for

from .conftest import xlsx

pytestmark = pytest.mark.servers


def test_a_campaign_takes_the_plans_values_by_default(quota):
    campaign = quota.ok("POST", "/campaigns", 201, json={"name": "2013-14 百万职工素质提升", "year": 2013})
    assert campaign["status"] == "draft" and campaign["revision"] == 0
    assert campaign["fund_pools"] == {"academic": "5000000.00", "skills": "5000000.00"}
    assert campaign["academic_subsidy_per_student"] == "1500.00"
    assert campaign["academic_seats"] == 3333
    assert campaign["skills_federation_rate"] == "0.40"
    assert campaign["windows"] == {
        "registration_start": "2013-11-01",
        "registration_end": "2014-01-15",
        "study_start": "2013-12-01",
        "study_end": "2014-06-30",
        "exams_from": "2014-03-01",
    }
    assert (
        campaign["dedicated_class_threshold"],
        campaign["public_notice_days"],
        campaign["roster_lead_working_days"],
    ) == (30, 5, 5)
    assert quota.ok("GET", f"/campaigns/{campaign['id']}", role="unit_officer", scope={"unit_id": "X"}) == campaign


def test_publish_then_every_edit_publishes_the_next_revision(quota):
    tap = quota.stack.tap("campaign.published")
    quota.stack.worker()
    campaign = quota.campaign(skills_rate_overrides={"电工": "0.5"})
    quota.ok("PATCH", f"/campaigns/{campaign['id']}", json={"public_notice_days": 7})  # draft: no event
    published = quota.ok("POST", f"/campaigns/{campaign['id']}/publish")
    assert (published["status"], published["revision"]) == ("published", 1)
    again = quota.call("POST", f"/campaigns/{campaign['id']}/publish")
    assert again.status_code == 409 and again.get_json()["code"] == "campaign_already_published"
    edited = quota.ok(
        "PATCH",
        f"/campaigns/{campaign['id']}",
        json={
            "fund_pools": {"academic": "3000000.00", "skills": "4000000.00"},
            "windows": {"registration_end": "2099-06-30"},
        },
    )
    assert edited["revision"] == 2 and edited["academic_seats"] == 2000
    unchanged = quota.ok("PATCH", f"/campaigns/{campaign['id']}", json={"public_notice_days": 7})
    assert unchanged["revision"] == 2  # an edit that changes nothing announces nothing

    events = wait_for(lambda: (found := quota.events(tap)) and len(found) >= 2 and found, message="2 revisions")
    data = [e["data"] for e in events]
    assert [d["revision"] for d in data] == [1, 2]
    assert data[0]["public_notice_days"] == 7 and data[0]["skills_rate_overrides"] == {"电工": "0.50"}
    assert data[0]["skills_federation_rate"] == "0.40"
    assert data[1]["fund_pools"] == {"academic": "3000000.00", "skills": "4000000.00"}
    assert data[1]["windows"]["registration_end"] == "2099-06-30"
    assert data[1]["windows"]["registration_start"] == "2020-01-01"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "year": 2026, "fund_pools": {"academic": 5000000.0, "skills": "1.00"}}, "fund_pools"),
        ({"name": "x", "year": 2026, "academic_subsidy_per_student": "0.00"}, "academic_subsidy_per_student"),
        ({"name": "x", "year": 2026, "skills_federation_rate": "1.5"}, "skills_federation_rate"),
        ({"name": "x", "year": "2026"}, "year"),
        (
            {
                "name": "x",
                "year": 2026,
                "windows": {
                    **{
                        "registration_start": "2026-12-01",
                        "registration_end": "2026-11-01",
                        "study_start": "2026-12-01",
                        "study_end": "2027-06-30",
                        "exams_from": "2027-03-01",
                    }
                },
            },
            "windows",
        ),
    ],
)
def test_bad_campaign_settings_are_problems_naming_the_field(quota, body, field):
    response = quota.call("POST", "/campaigns", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_edit_that_crosses_windows_is_refused(quota):
    campaign = quota.campaign()
    response = quota.call("PATCH", f"/campaigns/{campaign['id']}", json={"windows": {"registration_end": "2019-01-01"}})
    assert response.status_code == 422 and "registration_end" in response.get_json()["errors"]["windows"]


def test_only_the_federation_admin_writes_campaigns(quota):
    for role, scope in (("auditor", {}), ("unit_officer", {"unit_id": "GZ-HZ"})):
        response = quota.call("POST", "/campaigns", role=role, scope=scope, json={"name": "x", "year": 2026})
        assert response.status_code == 403
    assert quota.client.get("/campaigns").status_code == 401
    assert quota.call("GET", "/campaigns/nope").status_code == 404


def test_units_crud_scoping_and_events(quota):
    tap = quota.stack.tap("unit.upserted")
    quota.stack.worker()
    quota.unit("GZ-HZ", 120000)
    quota.unit("GZ-JT", 50000, category="industry", key_industry=True, key_industry_weight="1.5")
    union = quota.ok(
        "POST",
        "/units",
        201,
        json={
            "id": "GZ-HZ-001",
            "name": "海珠某公司工会",
            "level": "grassroots",
            "category": "grassroots",
            "parent_id": "GZ-HZ",
            "headcount": 800,
        },
    )
    assert union["revision"] == 1
    assert (
        quota.call(
            "POST",
            "/units",
            json={"id": "GZ-HZ", "name": "dup", "level": "first_level", "category": "district", "headcount": 1},
        ).status_code
        == 409
    )
    orphan = quota.call(
        "POST",
        "/units",
        json={
            "id": "GZ-X-1",
            "name": "x",
            "level": "grassroots",
            "category": "grassroots",
            "parent_id": "GZ-NONE",
            "headcount": 1,
        },
    )
    assert orphan.status_code == 422 and orphan.get_json()["code"] == "unit_invalid"
    mixed = quota.call(
        "POST",
        "/units",
        json={"id": "GZ-X-2", "name": "x", "level": "first_level", "category": "grassroots", "headcount": 1},
    )
    assert mixed.status_code == 422

    edited = quota.ok("PATCH", "/units/GZ-HZ", json={"headcount": 125000})
    assert (edited["headcount"], edited["revision"]) == (125000, 2)
    demote = quota.call(
        "PATCH", "/units/GZ-HZ", json={"level": "grassroots", "category": "grassroots", "parent_id": "GZ-JT"}
    )
    assert demote.status_code == 422

    officer = {"role": "unit_officer", "scope": {"unit_id": "GZ-HZ"}}
    assert {u["id"] for u in quota.ok("GET", "/units", **officer)} == {"GZ-HZ", "GZ-HZ-001"}
    assert quota.call("GET", "/units/GZ-JT", **officer).status_code == 404
    assert quota.call("PATCH", "/units/GZ-HZ", json={"headcount": 1}, **officer).status_code == 403
    assert len(quota.ok("GET", "/units", role="auditor")) == 3
    assert [u["id"] for u in quota.ok("GET", "/units?parent_id=GZ-HZ")] == ["GZ-HZ-001"]

    events = wait_for(lambda: (found := quota.events(tap)) and len(found) >= 4 and found, message="4 unit events")
    by_unit = {(e["data"]["unit_id"], e["data"]["revision"]): e["data"] for e in events}
    assert by_unit[("GZ-HZ", 2)]["headcount"] == 125000
    assert by_unit[("GZ-JT", 1)]["key_industry_weight"] == "1.50"
    assert by_unit[("GZ-HZ-001", 1)]["parent_id"] == "GZ-HZ"


HEADER = [
    "单位编号 Unit id",
    "单位名称 Unit name",
    "层级",
    "类别",
    "上级单位编号 Parent unit id",
    "职工人数",
    "重点产业",
    "权重",
]


def test_import_units_from_xlsx_and_csv_all_or_nothing(quota):
    good = xlsx(
        [
            HEADER,
            ["GZ-HZ-001", "海珠某公司工会", "grassroots", "grassroots", "GZ-HZ", 800, "否", None],
            ["GZ-HZ", "海珠区总工会", "first_level", "district", None, 120000, "否", None],
            ["GZ-JT", "交通运输工会", "first_level", "industry", None, 50000.0, "是", 1.5],
        ]
    )
    assert quota.upload("/units/import", good, "units.xlsx").get_json() == {"imported": 3, "changed": 3}
    units = {u["id"]: u for u in quota.ok("GET", "/units")}
    assert units["GZ-JT"]["key_industry"] is True and units["GZ-JT"]["key_industry_weight"] == "1.50"
    assert units["GZ-HZ-001"]["parent_id"] == "GZ-HZ"

    # the same file again changes nothing; a changed headcount changes one unit
    assert quota.upload("/units/import", good, "units.xlsx").get_json() == {"imported": 3, "changed": 0}
    csv = (
        "\ufeffunit_id,name,level,category,parent_id,headcount,key_industry,weight\n"
        "GZ-HZ,海珠区总工会,first_level,district,,130000,否,\n"
    )
    assert quota.upload("/units/import", csv.encode(), "units.csv").get_json() == {"imported": 1, "changed": 1}

    bad = xlsx(
        [
            HEADER,
            ["GZ-TH", "天河区总工会", "first_level", "district", None, 98000, "否", None],
            ["GZ-TH-1", "x", "grassroots", "grassroots", "GZ-NOPE", 10, "否", None],
            ["GZ-BY", "白云区总工会", "first_level", "district", None, "many", "否", None],
            ["GZ-TH", "again", "first_level", "district", None, 1, "否", None],
        ]
    )
    refused = quota.upload("/units/import", bad, "units.xlsx")
    assert refused.status_code == 422 and refused.get_json()["code"] == "import_rejected"
    assert [r["row"] for r in refused.get_json()["errors"]["rows"]] == [4]  # schema errors first
    bad_refs = xlsx(
        [
            HEADER,
            ["GZ-TH", "天河区总工会", "first_level", "district", None, 98000, "否", None],
            ["GZ-TH-1", "x", "grassroots", "grassroots", "GZ-NOPE", 10, "否", None],
            ["GZ-TH", "again", "first_level", "district", None, 1, "否", None],
        ]
    )
    refused = quota.upload("/units/import", bad_refs, "units.xlsx")
    assert sorted(r["row"] for r in refused.get_json()["errors"]["rows"]) == [2, 3, 4]
    assert "GZ-TH" not in {u["id"] for u in quota.ok("GET", "/units")}  # nothing of it was written
    assert quota.upload("/units/import", b"garbage", "units.xlsx").status_code == 400


def test_every_endpoint_is_in_the_openapi_document_with_its_problems(quota):
    spec = quota.client.get("/openapi.json").get_json()
    operations = {(method.upper(), path): op for path, item in spec["paths"].items() for method, op in item.items()}
    expected = {
        ("POST", "/campaigns"),
        ("GET", "/campaigns"),
        ("GET", "/campaigns/{campaign_id}"),
        ("PATCH", "/campaigns/{campaign_id}"),
        ("POST", "/campaigns/{campaign_id}/publish"),
        ("POST", "/units"),
        ("GET", "/units"),
        ("GET", "/units/{unit_id}"),
        ("PATCH", "/units/{unit_id}"),
        ("POST", "/units/import"),
        ("GET", "/campaigns/{campaign_id}/allocation/preview"),
        ("POST", "/campaigns/{campaign_id}/allocation"),
        ("GET", "/campaigns/{campaign_id}/allocation"),
        ("PATCH", "/campaigns/{campaign_id}/allocation/lines/{unit_id}"),
        ("POST", "/campaigns/{campaign_id}/allocation/import"),
        ("POST", "/campaigns/{campaign_id}/allocation/publish"),
        ("POST", "/campaigns/{campaign_id}/allocation/reallocations"),
        ("GET", "/campaigns/{campaign_id}/allocation/changes"),
        ("GET", "/campaigns/{campaign_id}/allocation/export"),
        ("GET", "/campaigns/{campaign_id}/report"),
        ("GET", "/campaigns/{campaign_id}/reservations"),
    }
    assert expected <= set(operations)
    for key in expected:
        assert operations[key].get("summary"), key
    assert "422" in operations[("POST", "/campaigns")]["responses"]
