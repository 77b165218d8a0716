"""Allocation over HTTP: preview, save, edit, import, publish, reallocate, export (PostgreSQL + RabbitMQ)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.support.processes import wait_for

from .conftest import xlsx

pytestmark = pytest.mark.servers
PAST_WINDOWS = {
    "registration_start": "2020-11-01",
    "registration_end": "2021-01-15",
    "study_start": "2020-12-01",
    "study_end": "2021-06-30",
    "exams_from": "2021-03-01",
}


def three_units(quota):
    quota.unit("GZ-HZ", 120_000)
    quota.unit("GZ-TH", 98_000)
    quota.unit("GZ-JT", 50_000, category="industry", key_industry=True)  # the campaign's weight 1.20


def lines_of(allocation) -> dict:
    return {line["unit_id"]: (line["academic_seats"], line["skills_money"]) for line in allocation["lines"]}


def test_preview_then_save_snapshots_the_weighted_apportionment(quota):
    three_units(quota)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    preview = quota.ok("GET", f"{url}/preview")
    assert preview["status"] == "preview" and preview["id"] is None
    assert preview["totals"] == {"academic_seats": 3333, "skills_money": "5000000.00"}
    # weighted headcounts 120000, 98000, 60000 of 278000
    assert lines_of(preview) == {
        "GZ-HZ": (1439, "2158273.38"),
        "GZ-JT": (719, "1079136.69"),
        "GZ-TH": (1175, "1762589.93"),
    }
    assert quota.call("GET", url).status_code == 404  # a preview saves nothing

    saved = quota.ok("POST", url, 201)
    assert saved["status"] == "draft" and lines_of(saved) == lines_of(preview)
    quota.ok("PATCH", "/units/GZ-HZ", json={"headcount": 1})
    after = quota.ok("GET", url)
    assert lines_of(after) == lines_of(preview)
    assert {line["unit_id"]: line["headcount"] for line in after["lines"]}["GZ-HZ"] == 120_000


def test_a_what_if_preview_tries_settings_and_changes_nothing(quota):
    three_units(quota)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    before = quota.ok("GET", f"{url}/preview")
    tried = quota.ok("GET", f"{url}/preview?skills_pool=1000000&key_industry_weight=1.00")
    assert tried["totals"] == {"academic_seats": 3333, "skills_money": "1000000.00"}
    # unweighted headcounts 120000, 98000, 50000 of 268000 (largest remainder)
    assert {unit: seats for unit, (seats, _money) in lines_of(tried).items()} == {
        "GZ-HZ": 1492,
        "GZ-TH": 1219,
        "GZ-JT": 622,
    }
    assert sum(int(money.replace(".", "")) for _seats, money in lines_of(tried).values()) == 100_000_000
    assert quota.call("GET", url).status_code == 404  # nothing saved
    assert quota.ok("GET", f"{url}/preview") == before  # the campaign's own settings untouched
    assert quota.ok("GET", f"/campaigns/{campaign['id']}")["key_industry_weight"] == campaign["key_industry_weight"]
    refused = quota.call("GET", f"{url}/preview?academic_subsidy_per_student=0")
    assert refused.status_code == 422 and "academic_subsidy_per_student" in refused.get_json()["errors"]


def test_edits_are_audited_and_can_never_exceed_the_pool(quota):
    three_units(quota)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    quota.ok("POST", url, 201)
    over = quota.call("PATCH", f"{url}/lines/GZ-HZ", json={"academic_seats": 1449, "reason": "more"})
    assert over.status_code == 422
    problem = over.get_json()
    assert problem["code"] == "allocation_exceeds_pool" and problem["excess"] == {
        "academic_seats": 10,
        "skills_money": "0.00",
    }
    assert "超出 10 个名额" in problem["detail"]
    over_money = quota.call("PATCH", f"{url}/lines/GZ-TH", json={"skills_money": "1762590.00", "reason": "x"})
    assert over_money.get_json()["excess"]["skills_money"] == "0.07"

    quota.ok(
        "PATCH",
        f"{url}/lines/GZ-HZ",
        json={"academic_seats": 1400, "reason": "按实际报名需求调整"},
        headers={},
        role="federation_admin",
    )
    assert quota.call("PATCH", f"{url}/lines/GZ-HZ", json={"academic_seats": 1}).status_code == 422  # no reason
    assert quota.call("PATCH", f"{url}/lines/GZ-XX", json={"academic_seats": 1, "reason": "x"}).status_code == 404
    assert (
        quota.call("PATCH", f"{url}/lines/GZ-HZ", role="auditor", json={"academic_seats": 1, "reason": "x"}).status_code
        == 403
    )
    [change] = quota.ok("GET", f"{url}/changes", role="auditor")
    assert change["unit_id"] == "GZ-HZ" and change["action"] == "edited"
    assert (change["old_seats"], change["new_seats"]) == (1439, 1400)
    assert change["old_money"] == change["new_money"] == "2158273.38"
    assert change["reason"] == "按实际报名需求调整" and change["changed_by"] == "tester" and change["changed_at"]
    assert quota.ok("GET", url)["totals"]["academic_seats"] == 3294

    # a pool cannot shrink below what is allocated, named in seats and money
    shrink = quota.call(
        "PATCH", f"/campaigns/{campaign['id']}", json={"fund_pools": {"academic": "4000000.00", "skills": "4999999.99"}}
    )
    assert shrink.status_code == 422 and shrink.get_json()["excess"] == {"academic_seats": 628, "skills_money": "0.01"}
    assert quota.ok("GET", f"/campaigns/{campaign['id']}")["fund_pools"]["academic"] == "5000000.00"


def test_publish_announces_each_unit_and_later_edits_raise_the_revision(quota):
    tap = quota.stack.tap("allocation.published")
    quota.stack.worker()
    three_units(quota)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    quota.ok("POST", url, 201)
    early = quota.call("POST", f"{url}/publish")
    assert early.status_code == 409 and early.get_json()["code"] == "campaign_not_published"
    quota.ok("POST", f"/campaigns/{campaign['id']}/publish")
    assert quota.ok("POST", f"{url}/publish")["status"] == "published"
    assert quota.call("POST", f"{url}/publish").status_code == 409
    assert quota.call("POST", url).status_code == 409  # no recomputing a published allocation
    quota.ok("PATCH", f"{url}/lines/GZ-TH", json={"skills_money": "1700000.00", "reason": "调减"})

    events = wait_for(lambda: (found := quota.events(tap)) and len(found) >= 4 and found, message="4 events")
    data = sorted((e["data"] for e in events), key=lambda d: (d["unit_id"], d["revision"]))
    assert [(d["unit_id"], d["revision"], d["reason"]) for d in data] == [
        ("GZ-HZ", 1, "initial"),
        ("GZ-JT", 1, "initial"),
        ("GZ-TH", 1, "initial"),
        ("GZ-TH", 2, "edited"),
    ]
    assert data[3]["skills_money"] == "1700000.00" and data[3]["academic_seats"] == 1175
    assert {d["allocation_id"] for d in data} == {quota.ok("GET", url)["id"]}


def test_unit_officers_see_only_their_own_line(quota):
    three_units(quota)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    quota.ok("POST", url, 201)
    mine = quota.ok("GET", url, role="unit_officer", scope={"unit_id": "GZ-TH"})
    assert [line["unit_id"] for line in mine["lines"]] == ["GZ-TH"]
    assert quota.call("GET", f"{url}/preview", role="unit_officer", scope={"unit_id": "GZ-TH"}).status_code == 403
    assert quota.call("GET", url, role="employee", scope={"employee_id": "e1"}).status_code == 403


IMPORT_HEADER = ["单位编号 Unit id", "学历教育名额 Academic seats", "技能培训补助额度 Skills money"]


def test_import_the_official_table_all_or_nothing_and_export_it_again(quota):
    three_units(quota)
    campaign = quota.campaign()
    url = f"/campaigns/{campaign['id']}/allocation"
    bad = quota.upload(
        f"{url}/import",
        xlsx([IMPORT_HEADER, ["GZ-HZ", 1000, "1000000.00"], ["GZ-NO", 1, "1.00"], ["GZ-TH", 1.5, "10"]]),
        "附件1.xlsx",
    )
    assert bad.status_code == 422 and [r["row"] for r in bad.get_json()["errors"]["rows"]] == [4]
    unknown = quota.upload(
        f"{url}/import", xlsx([IMPORT_HEADER, ["GZ-HZ", 1000, "1000000.00"], ["GZ-NO", 1, "1.00"]]), "附件1.xlsx"
    )
    assert unknown.status_code == 422 and [r["row"] for r in unknown.get_json()["errors"]["rows"]] == [3]
    over = quota.upload(
        f"{url}/import",
        xlsx([IMPORT_HEADER, ["GZ-HZ", 3000, "4000000.00"], ["GZ-TH", 334, "1000000.01"]]),
        "附件1.xlsx",
    )
    assert over.status_code == 422 and over.get_json()["excess"] == {"academic_seats": 1, "skills_money": "0.01"}
    assert quota.call("GET", url).status_code == 404  # nothing written

    imported = quota.upload(
        f"{url}/import", xlsx([IMPORT_HEADER, ["GZ-HZ", 1500, 2000000], ["GZ-TH", 1200, "1800000.50"]]), "附件1.xlsx"
    ).get_json()
    assert imported["source"] == "imported"
    assert lines_of(imported) == {"GZ-HZ": (1500, "2000000.00"), "GZ-TH": (1200, "1800000.50")}

    exported = quota.call("GET", f"{url}/export?format=xlsx")
    assert exported.status_code == 200 and exported.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = list(load_workbook(io.BytesIO(exported.get_data())).active.iter_rows(values_only=True))
    assert sheet[0][0] == "单位编号 Unit id" and sheet[1][0] == "GZ-HZ" and sheet[1][4] == 1500
    again = quota.upload(f"{url}/import", exported.get_data(), "allocation.xlsx")
    assert lines_of(again.get_json()) == lines_of(imported)
    assert len(quota.ok("GET", f"{url}/changes")) == 2  # the second import changed nothing
    # a new table replaces the lines: a unit left out keeps its line at zero
    replaced = quota.upload(f"{url}/import", xlsx([IMPORT_HEADER, ["GZ-JT", 100, "1000.00"]]), "附件1.xlsx")
    assert lines_of(replaced.get_json()) == {"GZ-HZ": (0, "0.00"), "GZ-JT": (100, "1000.00"), "GZ-TH": (0, "0.00")}
    csv = quota.call("GET", f"{url}/export?format=csv").get_data().decode("utf-8-sig").splitlines()
    assert csv[2] == "GZ-JT,GZ-JT 总工会,50000,1.20,100,1000.00"


def test_unused_quota_moves_between_units_only_after_the_registration_deadline(quota):
    tap = quota.stack.tap("allocation.published")
    three_units(quota)
    open_campaign = quota.campaign()
    closed = quota.campaign(windows=PAST_WINDOWS)
    for campaign in (open_campaign, closed):
        quota.ok("POST", f"/campaigns/{campaign['id']}/allocation", 201)
        quota.ok("POST", f"/campaigns/{campaign['id']}/publish")
        quota.ok("POST", f"/campaigns/{campaign['id']}/allocation/publish")
    move = {
        "from_unit_id": "GZ-HZ",
        "to_unit_id": "GZ-JT",
        "academic_seats": 39,
        "skills_money": "158273.38",
        "reason": "海珠区报名不足，调剂给交通运输工会",
    }
    early = quota.call("POST", f"/campaigns/{open_campaign['id']}/allocation/reallocations", json=move)
    assert early.status_code == 409 and early.get_json()["code"] == "reallocation_not_open"

    url = f"/campaigns/{closed['id']}/allocation"
    too_much = quota.call("POST", f"{url}/reallocations", json={**move, "academic_seats": 1440})
    assert too_much.status_code == 409 and too_much.get_json()["code"] == "not_enough_unused_quota"
    moved = quota.ok("POST", f"{url}/reallocations", json=move)
    assert lines_of(moved) == {"GZ-HZ": (1400, "2000000.00"), "GZ-JT": (758, "1237410.07")}
    assert quota.ok("GET", url)["totals"] == {"academic_seats": 3333, "skills_money": "5000000.00"}
    assert [c["action"] for c in quota.ok("GET", f"{url}/changes")] == ["reallocated", "reallocated"]
    same = quota.call("POST", f"{url}/reallocations", json={**move, "to_unit_id": "GZ-HZ"})
    assert same.status_code == 422

    quota.stack.worker()
    events = wait_for(lambda: (found := quota.events(tap)) and len(found) >= 8 and found, message="8 events")
    moves = [e["data"] for e in events if e["data"]["reason"] == "reallocated"]
    assert {(d["unit_id"], d["revision"], d["academic_seats"]) for d in moves} == {
        ("GZ-HZ", 2, 1400),
        ("GZ-JT", 2, 758),
    }
