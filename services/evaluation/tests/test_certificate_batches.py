"""Certificates in bulk (JSON list or .xlsx/.csv): all or none, every row checked as a single issue, replay-safe."""

import io
import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from servicekit.testing import xlsx
from services.evaluation.models import outbox
from tests.support.processes import wait_for

from .helpers import line

pytestmark = pytest.mark.servers

HEADER = ["报名编号 Enrolment id", "证书编号 Certificate number", "发证日期 Issued on"]


def upload(evaluation, content: bytes, filename: str):
    return evaluation.client.post(
        "/certificates/import",
        headers=evaluation.institution(),
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def announced(evaluation) -> int:
    with evaluation.stack.runtime.engine.connect() as db:
        return db.scalar(select(func.count()).select_from(outbox).where(outbox.c.type == "certificate.issued"))


def test_one_bad_row_issues_none_the_good_file_issues_all_and_a_replay_issues_nothing(evaluation):
    tap = evaluation.stack.tap("certificate.issued")
    evaluation.stack.worker()
    students, failed = [evaluation.enrol() for _ in range(3)], evaluation.enrol()
    evaluation.post_batch([line(s) for s in students] + [line(failed, passed=False, score="40.00")])
    rows = [[s["enrolment_id"], f"ZGJS-2014-{n:03d}", datetime(2014, 5, 6)] for n, s in enumerate(students)]

    refused = upload(
        evaluation, xlsx([HEADER, *rows, [failed["enrolment_id"], "ZGJS-2014-999", datetime(2014, 5, 6)]]), "证书.xlsx"
    )
    assert refused.status_code == 422 and refused.get_json()["code"] == "import_rejected"
    assert refused.get_json()["errors"]["rows"] == [
        {"row": 5, "errors": {"enrolment_id": ["报读记录：该学员尚未通过本报读记录登记的全部考试。"]}}
    ]
    assert evaluation.client.get("/certificates", headers=evaluation.admin()).get_json() == []
    assert announced(evaluation) == 0

    good = xlsx([HEADER, *rows])
    issued = upload(evaluation, good, "证书.xlsx")
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert (body["issued"], body["already_issued"]) == (3, 0)
    assert [(c["row"], c["number"], c["issued_on"]) for c in body["certificates"]] == [
        (2, "ZGJS-2014-000", "2014-05-06"),
        (3, "ZGJS-2014-001", "2014-05-06"),
        (4, "ZGJS-2014-002", "2014-05-06"),
    ]
    messages = []
    wait_for(lambda: messages.extend(evaluation.stack.drain(tap)) or len(messages) == 3, message="3 announcements")
    assert sorted(json.loads(m.body)["data"]["number"] for m in messages) == [
        "ZGJS-2014-000",
        "ZGJS-2014-001",
        "ZGJS-2014-002",
    ]

    replay = upload(evaluation, good, "证书.xlsx")
    assert replay.status_code == 200
    again = replay.get_json()
    assert (again["issued"], again["already_issued"]) == (0, 3)
    assert [c["certificate_id"] for c in again["certificates"]] == [c["certificate_id"] for c in body["certificates"]]
    assert announced(evaluation) == 3  # nothing announced twice
    csv = "\n".join(",".join(row) for row in [HEADER, *([r[0], r[1], "2014-05-06"] for r in rows)]).encode()
    assert upload(evaluation, csv, "证书.csv").get_json()["already_issued"] == 3  # the same list as CSV


def test_every_row_is_checked_as_a_single_issue_and_reported_by_field(evaluation):
    operator = evaluation.stack.as_caller("institution_operator", subject="user-zgjs", institution_id="GZ-ZGJS")
    a, b, c, certified, e = (evaluation.enrol() for _ in range(5))
    foreign = evaluation.enrol("GZ-FCG")
    evaluation.post_batch([line(s) for s in (a, b, c, certified, e)])
    earlier = evaluation.client.post(
        "/certificates",
        headers=operator,
        json={"enrolment_id": certified["enrolment_id"], "number": "ZGJS-OLD", "issued_on": "2014-05-06"},
    )
    assert earlier.status_code == 201

    def row(student, number, issued_on="2014-05-06"):
        return {"enrolment_id": student["enrolment_id"], "number": number, "issued_on": issued_on}

    refused = evaluation.client.post(
        "/certificates/batches",
        headers=operator,
        json={
            "certificates": [
                row(a, "N-1"),
                row(b, "N-1"),
                row(c, "ZGJS-OLD"),
                row(certified, "N-3"),
                row(foreign, "N-4"),
                row(e, "N-5", issued_on="2099-01-01"),
            ]
        },
    )
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"]["rows"] == [
        {"row": 1, "errors": {"number": ["编号：编号 N-1 也出现在第 0 行。"]}},
        {"row": 2, "errors": {"number": ["编号：证书编号 ZGJS-OLD 已被使用。"]}},
        {"row": 3, "errors": {"enrolment_id": ["报读记录：该报读记录已有有效证书 ZGJS-OLD。"]}},
        {"row": 4, "errors": {"enrolment_id": ["报读记录：不是贵机构的报读记录。"]}},
        {"row": 5, "errors": {"issued_on": ["发证日期：发证日期是将来的日期。"]}},
    ]
    malformed = evaluation.client.post(
        "/certificates/batches",
        headers=operator,
        json={"certificates": [row(a, "N-1"), {"enrolment_id": "not-a-uuid", "number": "N-2", "issued_on": "6 May"}]},
    )
    assert malformed.status_code == 422
    assert [(r["row"], sorted(r["errors"])) for r in malformed.get_json()["errors"]["rows"]] == [
        (1, ["enrolment_id", "issued_on"])
    ]
    assert announced(evaluation) == 1  # only the single issue before

    issued = evaluation.client.post(
        "/certificates/batches", headers=operator, json={"certificates": [row(a, "N-1"), row(b, "N-2")]}
    )
    assert issued.status_code == 201 and issued.get_json()["issued"] == 2
    assert announced(evaluation) == 3
