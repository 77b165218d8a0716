"""Exam results imported from a spreadsheet: all rows or none, with a report per spreadsheet row."""

import io
import uuid
from datetime import datetime

import pytest
from openpyxl import load_workbook

from servicekit.testing import xlsx

from .helpers import CAMPAIGN

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


def test_the_template_is_prefilled_with_the_institutions_active_students_of_a_campaign_or_programme(evaluation):
    evaluation.register()
    evaluation.register("GZ-SYG", "广州市羊城职工职业培训学院（市二宫）")
    named = evaluation.enrol(holder_name_masked="张*明")
    other_programme = evaluation.enrol(programme_id="GZ-ZGJS-P2", holder_name_masked="李*")
    withdrawn = evaluation.enrol()
    evaluation.deliver(
        "enrollment.withdrawn",
        {k: withdrawn[k] for k in ("enrolment_id", "campaign_id", "kind", "unit_id", "institution_id")}
        | {"revision": 2, "withdrawn_on": "2013-12-10", "reason": "调岗"},
    )
    evaluation.enrol("GZ-SYG", holder_name_masked="王*")

    def template(**query):
        return evaluation.client.get("/results/import/template", headers=evaluation.institution(), query_string=query)

    empty = list(load_workbook(io.BytesIO(template().data)).active.iter_rows(values_only=True))
    assert [list(r) for r in empty] == [HEADER]
    rows = list(load_workbook(io.BytesIO(template(campaign_id=CAMPAIGN).data)).active.iter_rows(values_only=True))
    assert list(rows[0][:5]) == HEADER
    assert sorted((r[0], r[1], r[5]) for r in rows[1:]) == sorted(
        [(named["enrolment_id"], None, "张*明"), (other_programme["enrolment_id"], None, "李*")]
    )
    one = template(campaign_id=CAMPAIGN, programme_id="GZ-ZGJS-P2")
    assert [r[0] for r in list(load_workbook(io.BytesIO(one.data)).active.iter_rows(values_only=True))[1:]] == [
        other_programme["enrolment_id"]
    ]
    unknown = template(campaign_id=str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert template(campaign_id="not-a-uuid").status_code == 422
