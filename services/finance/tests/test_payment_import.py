"""Payments imported from a spreadsheet by an institution: all rows or none, with a report per spreadsheet row."""

from __future__ import annotations

import io
import uuid
from datetime import datetime

import pytest

from servicekit.testing import xlsx

from .conftest import OTHER_INSTITUTION, registered_event, withdrawn_event

pytestmark = pytest.mark.servers

HEADER = ["报名编号 Enrolment id", "金额 Amount", "缴费日期 Paid on", "单据号 Reference"]


def upload(funded, content: bytes, key: str, institution: dict | None = None):
    return funded.client.post(
        "/payments/import",
        headers={**(institution or funded.institution()), "Idempotency-Key": key},
        data={"file": (io.BytesIO(content), "缴费.xlsx")},
        content_type="multipart/form-data",
    )


def test_one_refused_row_records_nothing_and_the_good_file_records_every_payment_once(funded):
    students = [registered_event("skills", employee_id=f"emp-{n}") for n in range(2)]
    withdrawn, other = (
        registered_event("skills", employee_id="emp-9"),
        registered_event("skills", employee_id="emp-8", institution_id=OTHER_INSTITUTION),
    )
    funded.deliver(
        *[("enrollment.registered", s) for s in (*students, withdrawn, other)],
        ("enrollment.withdrawn", withdrawn_event(withdrawn)),
    )
    day = datetime(2013, 11, 22)
    rows = [[students[0]["enrolment_id"], 2530, day, "POS-1"], [students[1]["enrolment_id"], "1000.50", day, "POS-2"]]
    refused = upload(
        funded,
        xlsx([HEADER, *rows, [withdrawn["enrolment_id"], 100, day, "POS-3"], [other["enrolment_id"], 100, day, None]]),
        "k1",
    )
    assert refused.status_code == 422 and refused.get_json()["code"] == "import_rejected"
    assert [row["row"] for row in refused.get_json()["errors"]["rows"]] == [4, 5]
    bad_amount = upload(funded, xlsx([HEADER, [students[0]["enrolment_id"], "12.345", day, None]]), "k2")
    assert bad_amount.status_code == 422 and "amount" in bad_amount.get_json()["errors"]["rows"][0]["errors"]
    assert funded.get("/payments", funded.federation) == []

    key = str(uuid.uuid4())
    recorded = upload(funded, xlsx([HEADER, *rows]), key)
    assert recorded.status_code == 201, recorded.get_json()
    body = recorded.get_json()
    assert [(p["row"], p["amount"], p["status"]) for p in body["payments"]] == [
        (2, "2530.00", "full"),
        (3, "1000.50", "partial"),
    ]
    assert upload(funded, xlsx([HEADER, *rows]), key).get_json() == body  # the file sent again: nothing more
    assert len(funded.get("/payments", funded.federation)) == 2
    assert funded.invariants()["passed"] is True
