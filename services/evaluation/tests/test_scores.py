"""Inspections, institution scores from the read models, notices, disqualification and reinstatement."""

import io
import json
import uuid
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from tests.support.processes import wait_for

from .helpers import CAMPAIGN, RESULTS_ONLY, line

pytestmark = pytest.mark.servers


def open_class(evaluation, opens_on, roster_submitted_on=None, institution="GZ-FCG"):
    data = {
        "class_id": str(uuid.uuid4()),
        "campaign_id": CAMPAIGN,
        "institution_id": institution,
        "programme_id": f"{institution}-P1",
        "dedicated": True,
        "opens_on": opens_on,
        "student_count": 31,
    }
    if roster_submitted_on:
        data["roster_submitted_on"] = roster_submitted_on
    evaluation.deliver("class.opened", data)


def test_the_score_comes_from_each_criterion_with_its_figures(evaluation):
    evaluation.register("GZ-FCG", "广州市芳村工人文化宫", start_date="2014-01-06")
    open_class(evaluation, "2014-01-06", roster_submitted_on="2013-12-27")  # on time; 6 working days before
    open_class(evaluation, "2014-01-13", roster_submitted_on="2014-01-10")  # opened late, roster late
    students = [evaluation.enrol("GZ-FCG") for _ in range(4)]
    evaluation.post_batch([line(s, passed=n < 3) for n, s in enumerate(students)], institution="GZ-FCG")
    for student, amount, status in ((students[0], "2040.00", "full"), (students[1], "100.00", "partial")):
        evaluation.deliver(
            "payment.recorded",
            {
                "payment_id": str(uuid.uuid4()),
                "enrolment_id": student["enrolment_id"],
                "amount": amount,
                "paid_on": "2013-11-25",
                "status": status,
            },
        )
    inspection = evaluation.client.post(
        "/inspections",
        headers=evaluation.admin(),
        json={
            "campaign_id": CAMPAIGN,
            "institution_id": "GZ-FCG",
            "inspector": "李明",
            "inspected_on": "2014-04-02",
            "scores": {"教学场地": 80, "师资": 90},
            "notes": "设备齐全",
        },
    )
    assert inspection.status_code == 201, inspection.get_json()

    report = evaluation.client.get(
        "/institutions/GZ-FCG/scores", query_string={"campaign_id": CAMPAIGN}, headers=evaluation.admin()
    ).get_json()
    criteria = report["criteria"]
    assert criteria["plan_execution"]["figures"] == {
        "classes": 2,
        "opened_on_time": 1,
        "opening_checked": 2,
        "rosters_on_time": 1,
    }
    assert criteria["plan_execution"]["score"] == "50.00"
    assert (criteria["results"]["score"], criteria["results"]["figures"]) == ("75.00", {"examined": 4, "passed": 3})
    assert criteria["use_of_funds"]["score"] == "25.00"  # 1 of 4 paid in full, nobody certified yet
    assert criteria["inspection"]["score"] == "85.00"
    assert criteria["satisfaction"]["score"] is None  # no survey answers: its weight is spread over the others
    # (0.20*50 + 0.25*75 + 0.15*25 + 0.15*85) / 0.75 = 45.25 / 0.75
    assert report["score"] == "60.33" and report["below_threshold"] is False

    own = evaluation.stack.as_caller("institution_operator", institution_id="GZ-FCG")
    assert (
        evaluation.client.get(
            "/institutions/GZ-FCG/scores", query_string={"campaign_id": CAMPAIGN}, headers=own
        ).status_code
        == 200
    )
    other = evaluation.stack.as_caller("institution_operator", institution_id="GZ-ZGJS")
    assert (
        evaluation.client.get(
            "/institutions/GZ-FCG/scores", query_string={"campaign_id": CAMPAIGN}, headers=other
        ).status_code
        == 404
    )

    sheet = evaluation.client.get(
        "/scores",
        query_string={"campaign_id": CAMPAIGN, "format": "xlsx"},
        headers=evaluation.stack.as_caller("auditor"),
    )
    rows = list(load_workbook(io.BytesIO(sheet.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("机构编号 Institution", "机构名称 Name", "综合评分 Score")
    assert ("GZ-FCG", "广州市芳村工人文化宫", "60.33") in [r[:3] for r in rows[1:]]


def test_below_the_threshold_the_institution_is_notified_once(evaluation):
    tap = evaluation.stack.tap("institution.notified")
    evaluation.stack.worker()
    evaluation.register("GZ-FCG", "广州市芳村工人文化宫", start_date="2014-01-06")
    settings = RESULTS_ONLY
    bad = evaluation.client.put(
        "/scoring-settings",
        headers=evaluation.admin(),
        json={**settings, "weights": {**settings["weights"], "inspection": "0.10"}},
    )
    assert bad.status_code == 422
    assert evaluation.client.put("/scoring-settings", headers=evaluation.admin(), json=settings).status_code == 200
    student = evaluation.enrol("GZ-FCG")
    evaluation.post_batch([line(student, passed=False)], institution="GZ-FCG")

    url = "/institutions/GZ-FCG/evaluations"
    # The due date given: the default (10 working days) needs a calendar for the days it counts, and near a
    # year's end evaluation may hold none for the next year yet.
    due = (date.today() + timedelta(days=30)).isoformat()
    first = evaluation.client.post(
        url, headers=evaluation.admin(), json={"campaign_id": CAMPAIGN, "respond_by": due}
    ).get_json()
    assert first["score"] == "0.00" and first["notice"]["action"] == "notified"
    second = evaluation.client.post(url, headers=evaluation.admin(), json={"campaign_id": CAMPAIGN}).get_json()
    assert second["notice"] is None
    [message] = wait_for(lambda: evaluation.stack.drain(tap), message="institution.notified")
    data = json.loads(message.body)["data"]
    assert (data["institution_id"], data["campaign_id"], data["revision"], data["decided_by"]) == (
        "GZ-FCG",
        CAMPAIGN,
        1,
        "user-fed-1",
    )


def test_the_federation_disqualifies_and_reinstates_with_an_audit_trail(evaluation):
    taps = {t: evaluation.stack.tap(t) for t in ("institution.disqualified", "institution.reinstated")}
    evaluation.stack.worker()
    evaluation.register("GZ-FCG", "广州市芳村工人文化宫", start_date="2014-01-06")
    url = "/institutions/GZ-FCG"
    auditor = evaluation.stack.as_caller("auditor")
    assert evaluation.client.post(f"{url}/disqualification", headers=auditor, json={"reason": "x"}).status_code == 403
    done = evaluation.client.post(
        f"{url}/disqualification",
        headers=evaluation.admin(),
        json={"reason": "通报后仍未整改", "campaign_id": CAMPAIGN},
    )
    assert done.status_code == 201 and done.get_json()["revision"] == 1
    assert (
        evaluation.client.post(
            f"{url}/disqualification", headers=evaluation.admin(), json={"reason": "again"}
        ).status_code
        == 409
    )
    assert (
        evaluation.client.post(
            f"{url}/reinstatement", headers=evaluation.admin(), json={"reason": "整改验收合格"}
        ).status_code
        == 201
    )
    assert (
        evaluation.client.post(
            "/institutions/GZ-NOPE/disqualification", headers=evaluation.admin(), json={"reason": "x"}
        ).status_code
        == 404
    )

    trail = evaluation.client.get(f"{url}/decisions", headers=auditor).get_json()
    assert trail["disqualified"] is False
    assert [(d["revision"], d["action"], d["reason"]) for d in trail["decisions"]] == [
        (1, "disqualified", "通报后仍未整改"),
        (2, "reinstated", "整改验收合格"),
    ]
    for event_type, revision in (("institution.disqualified", 1), ("institution.reinstated", 2)):
        [message] = wait_for(lambda: evaluation.stack.drain(taps[event_type]), message=event_type)
        assert json.loads(message.body)["data"]["revision"] == revision

    # the service's audit trail: each sanction with who, why, old and new standing; the refused ones left none
    entries = evaluation.client.get(
        "/audit", headers=auditor, query_string={"entity_type": "institution", "entity_id": "GZ-FCG"}
    ).get_json()
    assert [(e["action"], e["reason"], e["actor_role"]) for e in entries] == [
        ("institution.reinstated", "整改验收合格", "federation_admin"),
        ("institution.disqualified", "通报后仍未整改", "federation_admin"),
    ]
    standing = "institution_standing GZ-FCG"
    assert entries[0]["before"]["others"][standing] == {"disqualified": True, "revision": 1}
    assert entries[0]["after"]["others"][standing] == {"disqualified": False, "revision": 2}
    assert entries[1]["after"]["others"][standing]["disqualified"] is True
    assert evaluation.client.get("/audit", headers=evaluation.institution("GZ-FCG")).status_code == 403


def test_rosters_are_judged_on_the_calendar_the_federation_loaded_in_enrollment(evaluation):
    evaluation.register("GZ-FCG", "广州市芳村工人文化宫", start_date="2014-01-06")
    open_class(evaluation, "2014-01-06", roster_submitted_on="2013-12-27")  # 5 working days before: on time

    def rosters_on_time() -> int:
        report = evaluation.client.get(
            "/institutions/GZ-FCG/scores", query_string={"campaign_id": CAMPAIGN}, headers=evaluation.admin()
        ).get_json()
        return report["criteria"]["plan_execution"]["figures"]["rosters_on_time"]

    def loaded(at: str, *days: tuple[str, bool, str]) -> None:
        evaluation.deliver(
            "calendar.loaded",
            {
                "year": 2013,
                "loaded_at": at,
                "days": [{"day": day, "workday": workday, "name": name} for day, workday, name in days],
            },
        )

    assert rosters_on_time() == 1  # the official calendar, nothing loaded
    loaded("2013-12-01T09:00:00+08:00", ("2013-12-30", False, "年末调休"))
    assert rosters_on_time() == 0  # a day off in the loaded calendar: only 4 working days
    loaded("2013-12-02T09:00:00+08:00", ("2013-12-28", True, "周六上班"))  # replaces the year whole
    assert rosters_on_time() == 1
    loaded("2013-12-01T09:00:00+08:00", ("2013-12-30", False, "年末调休"))  # an older load, redelivered
    assert rosters_on_time() == 1


def test_use_of_funds_counts_the_money_reclaimed_from_units_once(evaluation):
    evaluation.register("GZ-FCG", "广州市芳村工人文化宫")
    moved = {"campaign_id": CAMPAIGN, "unit_id": "GZ-LW", "kind": "skills", "reference": "穗工财〔2014〕12号"}
    evaluation.deliver(
        "funds.transferred",
        {**moved, "transfer_id": str(uuid.uuid4()), "amount": "10000.00", "transferred_on": "2013-12-20"},
    )
    reclaim = {**moved, "transfer_id": str(uuid.uuid4()), "amount": "2500.00", "reclaimed_on": "2014-02-20"}
    for _ in range(2):  # delivered twice (a redelivery): counted once
        evaluation.deliver("funds.reclaimed", reclaim)
    report = evaluation.client.get(
        "/institutions/GZ-FCG/scores", query_string={"campaign_id": CAMPAIGN}, headers=evaluation.admin()
    ).get_json()
    assert report["criteria"]["use_of_funds"]["figures"]["funds_transferred"] == "7500.00"
