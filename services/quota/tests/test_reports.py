"""Reports per unit and per campaign in JSON, .xlsx and .csv, scoped to the caller."""

from __future__ import annotations

import io
import uuid

import pytest
from openpyxl import load_workbook

from .test_reservations import Saga, published_campaign

pytestmark = pytest.mark.servers


def test_report_reconciles_with_the_pools_and_is_scoped_to_the_caller(quota):
    quota.unit("GZ-HZ", 1000)
    quota.unit("GZ-TH", 3000)
    campaign_id = published_campaign(quota, seats=100, money="2000.00")  # GZ-TH keeps its computed line
    saga = Saga(quota, campaign_id)
    quota.stack.worker()
    saga.asked(saga.request(str(uuid.uuid4())))
    saga.asked(saga.request(str(uuid.uuid4()), kind="skills", amount="750.50"))
    saga.asked(saga.request(str(uuid.uuid4()), unit="GZ-TH"))
    url = f"/campaigns/{campaign_id}/report"

    report = quota.ok("GET", url, role="auditor")
    assert report["allocation_status"] == "published"
    assert report["pools"] == {"seats": 3333, "money": "5000000.00"}
    units = {u["unit_id"]: u for u in report["units"]}
    assert units["GZ-HZ"]["seats"] == {
        "allocated": 100,
        "reserved": 1,
        "consumed": 0,
        "spent": 0,
        "released": 0,
        "available": 99,
    }
    assert units["GZ-HZ"]["money"]["reserved"] == "750.50" and units["GZ-HZ"]["money"]["available"] == "1249.50"
    assert units["GZ-TH"]["seats"]["allocated"] == 2500 and units["GZ-TH"]["seats"]["reserved"] == 1
    totals = report["totals"]
    assert totals["seats"]["allocated"] == 2600 and totals["seats"]["reserved"] == 2
    assert totals["money"]["allocated"] == "3752000.00"
    assert report["unallocated"] == {"seats": 733, "money": "1248000.00"}  # pool = allocated + unallocated

    mine = quota.ok("GET", url, role="unit_officer", scope={"unit_id": "GZ-TH"})
    assert [u["unit_id"] for u in mine["units"]] == ["GZ-TH"] and "pools" not in mine
    assert mine["totals"] == {k: v for k, v in units["GZ-TH"].items() if k in ("seats", "money")}
    assert quota.call("GET", url, role="institution_operator", scope={"institution_id": "I"}).status_code == 403

    sheet = load_workbook(io.BytesIO(quota.call("GET", f"{url}?format=xlsx").get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("单位编号 Unit id", "单位名称 Unit name", "名额 seats 已分配 allocated")
    assert rows[1][:4] == ("GZ-HZ", "GZ-HZ 总工会", 100, 1) and rows[-1][1] == "合计 Total"
    assert rows[-1][2] == 2600
    csv = quota.call("GET", f"{url}?format=csv", role="unit_officer", scope={"unit_id": "GZ-HZ"})
    lines = csv.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and lines[1].startswith("GZ-HZ,GZ-HZ 总工会,100,1,0,0,0,99,2000.00,750.50")
    assert quota.call("GET", f"{url}?format=pdf").status_code == 422

    listed = quota.ok("GET", f"/campaigns/{campaign_id}/reservations?status=reserved")
    assert sorted((r["unit_id"], r["kind"], r["seats"], r["amount"]) for r in listed) == [
        ("GZ-HZ", "academic", 1, "0.00"),
        ("GZ-HZ", "skills", 0, "750.50"),
        ("GZ-TH", "academic", 1, "0.00"),
    ]
    theirs = quota.ok(
        "GET", f"/campaigns/{campaign_id}/reservations?unit_id=GZ-HZ", role="unit_officer", scope={"unit_id": "GZ-TH"}
    )
    assert [r["unit_id"] for r in theirs] == ["GZ-TH"]  # a unit officer never sees another unit's


def test_a_campaign_without_allocation_reports_nothing_allocated(quota):
    campaign = quota.campaign()
    report = quota.ok("GET", f"/campaigns/{campaign['id']}/report")
    assert report["allocation_status"] == "none" and report["units"] == []
    assert report["unallocated"] == {"seats": 3333, "money": "5000000.00"}
