"""Exam results imported from a spreadsheet: all rows or none, with a report per spreadsheet row."""

import io
import uuid
from datetime import datetime

import pytest

from servicekit.testing import xlsx

pytestmark = pytest.mark.servers

HEADER = ["报名编号 Enrolment id", "考试科目 Exam", "考试日期 Held on", "成绩 Score", "是否通过 Passed"]


def upload(evaluation, content: bytes, key: str):
    return evaluation.client.post(
        "/results/import",
        headers={**evaluation.institution(), "Idempotency-Key": key},
        data={"file": (io.BytesIO(content), "成绩.xlsx")},
        content_type="multipart/form-data",
    )


def results(evaluation, enrolment_id: str) -> list:
    return evaluation.client.get(
        "/results", query_string={"enrolment_id": enrolment_id}, headers=evaluation.admin()
    ).get_json()


def test_one_bad_row_records_none_and_the_good_file_records_every_attempt_once(evaluation):
    evaluation.register()
    students, stranger = [evaluation.enrol() for _ in range(2)], evaluation.enrol("GZ-SYG")
    day = datetime(2014, 4, 19)
    rows = [
        [students[0]["enrolment_id"], "电工中级职业技能鉴定", day, 78.5, "是"],
        [students[1]["enrolment_id"], "电工中级职业技能鉴定", day, 52, "否"],
    ]
    refused = upload(evaluation, xlsx([HEADER, *rows, [stranger["enrolment_id"], "电工", day, 90, "是"]]), "k1")
    assert refused.status_code == 422 and refused.get_json()["code"] == "import_rejected"
    [bad] = refused.get_json()["errors"]["rows"]
    assert bad == {"row": 4, "errors": ["不是贵机构的报读记录。"]}
    maybe = upload(evaluation, xlsx([HEADER, [students[0]["enrolment_id"], "电工", day, 70, "也许"]]), "k2")
    assert maybe.status_code == 422 and maybe.get_json()["errors"]["rows"][0]["row"] == 2
    assert results(evaluation, students[0]["enrolment_id"]) == []

    key = str(uuid.uuid4())
    recorded = upload(evaluation, xlsx([HEADER, *rows]), key)
    assert recorded.status_code == 201, recorded.get_json()
    assert [(r["attempt"], r["passed"]) for r in recorded.get_json()["results"]] == [(1, True), (1, False)]
    assert upload(evaluation, xlsx([HEADER, *rows]), key).get_json() == recorded.get_json()  # a replay: once
    [only] = results(evaluation, students[1]["enrolment_id"])
    assert (only["score"], only["passed"]) == ("52.00", False)
