"""Notices (通报) with a rectification (整改): the due date counted in working days, the institution's report and its
revisions, the federation's verdict, the states the lists filter by, and every step in the audit trail."""

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from servicekit.clock import china_today
from services.evaluation.models import Notice

from .helpers import CAMPAIGN, RESULTS_ONLY, line

pytestmark = pytest.mark.servers


def weekdays_after(start: date, count: int, skipping: tuple[date, ...] = ()) -> date:
    day, found = start, 0
    while found < count:
        day += timedelta(days=1)
        found += day.weekday() < 5 and day not in skipping
    return day


def failing(evaluation, institution: str) -> None:
    """An institution whose only examined student failed: a score of 0, below the threshold of 80."""
    evaluation.register(institution, f"机构 {institution}")
    evaluation.post_batch([line(evaluation.enrol(institution), passed=False)], institution=institution)


def notify(evaluation, institution: str, **body):
    return evaluation.client.post(
        f"/institutions/{institution}/evaluations", headers=evaluation.admin(), json={"campaign_id": CAMPAIGN, **body}
    )


@pytest.fixture
def noticed(evaluation):
    assert evaluation.client.put("/scoring-settings", headers=evaluation.admin(), json=RESULTS_ONLY).status_code == 200
    today = china_today()
    holiday = weekdays_after(today, 1)
    for year in {today.year, today.year + 1}:  # the federation's calendars: weekdays, one day off
        evaluation.deliver(
            "calendar.loaded",
            {
                "year": year,
                "loaded_at": "2026-11-01T09:00:00+08:00",
                "days": [{"day": holiday.isoformat(), "workday": False, "name": "调休"}]
                if year == holiday.year
                else [],
            },
        )
    for institution in ("GZ-FCG", "GZ-ZGJS"):
        failing(evaluation, institution)
    return evaluation, today, holiday


def test_a_notice_asks_for_a_report_within_ten_working_days_unless_the_federation_picks_the_date(noticed):
    evaluation, today, holiday = noticed
    past = notify(evaluation, "GZ-FCG", respond_by=(today - timedelta(days=1)).isoformat())
    assert past.status_code == 422 and "respond_by" in past.get_json()["errors"]
    assert evaluation.client.get("/notices", headers=evaluation.admin()).get_json() == []  # nothing kept

    found = notify(evaluation, "GZ-FCG")
    assert found.status_code == 201, found.get_json()
    body = found.get_json()
    assert body["notice"]["action"] == "notified"
    due = weekdays_after(today, 10, skipping=(holiday,))  # the day off of the loaded calendar does not count
    assert body["rectification"]["respond_by"] == due.isoformat()
    assert body["rectification"]["state"] == "open" and body["rectification"]["days_left"] == (due - today).days

    picked = (today + timedelta(days=30)).isoformat()
    other = notify(evaluation, "GZ-ZGJS", respond_by=picked).get_json()
    assert other["rectification"]["respond_by"] == picked


def test_the_institution_reports_the_federation_judges_and_every_step_is_audited(noticed):
    evaluation, today, _holiday = noticed
    notice = notify(evaluation, "GZ-FCG").get_json()["rectification"]
    notify(evaluation, "GZ-ZGJS", respond_by=today.isoformat())
    url = f"/notices/{notice['notice_id']}"
    own = evaluation.stack.as_caller("institution_operator", subject="op-fcg", institution_id="GZ-FCG")
    other = evaluation.stack.as_caller("institution_operator", subject="op-zgjs", institution_id="GZ-ZGJS")
    admin = evaluation.admin()

    # an institution sees and answers its own notices only
    mine = evaluation.client.get("/notices", headers=own, query_string={"state": "awaiting_report"})
    assert [n["notice_id"] for n in mine.get_json()] == [notice["notice_id"]]
    assert evaluation.client.get(url, headers=other).status_code == 404
    assert evaluation.client.post(f"{url}/rectification", headers=other, json={"report": "x"}).status_code == 404
    blank = evaluation.client.post(f"{url}/rectification", headers=own, json={"report": "  "})
    assert blank.status_code == 422 and "report" in blank.get_json()["errors"]
    early = evaluation.client.post(f"{url}/verdict", headers=admin, json={"accepted": True})
    assert early.status_code == 409 and early.get_json()["code"] == "evaluation_no_rectification_report"

    reported = evaluation.client.post(f"{url}/rectification", headers=own, json={"report": "已补充师资并复考"})
    assert reported.status_code == 200, reported.get_json()
    assert (reported.get_json()["state"], reported.get_json()["report_revision"]) == ("answered", 1)
    assert reported.get_json()["reported_late"] is False

    # the federation: one answered awaiting its verdict, counted; a refusal needs its reason (zh or en)
    answered = evaluation.client.get("/notices", headers=admin, query_string={"state": "answered", "count": "true"})
    assert answered.headers["X-Total-Count"] == "1"
    no_reason = evaluation.client.post(
        f"{url}/verdict", headers={**admin, "Accept-Language": "zh-CN"}, json={"accepted": False}
    )
    assert no_reason.status_code == 422 and "请说明整改不予认可的理由" in no_reason.get_json()["errors"]["reason"][0]
    refused = evaluation.client.post(
        f"{url}/verdict", headers=admin, json={"accepted": False, "reason": "未附复考成绩"}
    )
    assert refused.get_json()["state"] == "not_accepted" and refused.get_json()["verdict_reason"] == "未附复考成绩"
    again = evaluation.client.post(f"{url}/verdict", headers=admin, json={"accepted": True})
    assert again.status_code == 409 and again.get_json()["code"] == "evaluation_verdict_given"

    revised = evaluation.client.post(
        f"{url}/rectification", headers=own, json={"report": "已补充师资并复考，附成绩单", "reason": "补充复考成绩"}
    ).get_json()
    assert (revised["state"], revised["report_revision"], revised["verdict"]) == ("answered", 2, None)
    accepted = evaluation.client.post(f"{url}/verdict", headers=admin, json={"accepted": True}).get_json()
    assert accepted["state"] == "accepted" and accepted["verdict_by"] == "user-fed-1"
    closed = evaluation.client.post(f"{url}/rectification", headers=own, json={"report": "再改"})
    assert closed.status_code == 409 and closed.get_json()["code"] == "evaluation_rectification_closed"

    auditor = evaluation.stack.as_caller("auditor")
    assert evaluation.client.post(f"{url}/verdict", headers=auditor, json={"accepted": True}).status_code == 403
    entries = evaluation.client.get(
        "/audit", headers=auditor, query_string={"entity_type": "notice", "entity_id": notice["notice_id"]}
    ).get_json()
    assert [(e["action"], e["reason"], e["actor_id"]) for e in reversed(entries)] == [
        ("notice.rectification_reported", None, "op-fcg"),
        ("notice.rectification_not_accepted", "未附复考成绩", "user-fed-1"),
        ("notice.rectification_reported", "补充复考成绩", "op-fcg"),
        ("notice.rectification_accepted", None, "user-fed-1"),
    ]

    # the states the lists filter by: ZGJS's report was due today, not yet late; the federation moves its date back
    zgjs = evaluation.client.get("/notices", headers=other).get_json()[0]
    assert (zgjs["state"], zgjs["days_left"], zgjs["overdue"]) == ("open", 0, False)
    states = {
        state: [
            n["institution_id"]
            for n in evaluation.client.get(
                "/notices", headers=admin, query_string={"state": state, "campaign_id": CAMPAIGN}
            ).get_json()
        ]
        for state in ("open", "overdue", "awaiting_report", "accepted")
    }
    assert states == {"open": ["GZ-ZGJS"], "overdue": [], "awaiting_report": ["GZ-ZGJS"], "accepted": ["GZ-FCG"]}

    # the federation moves a due date (never into the past), with its reason
    due_url = f"/notices/{zgjs['notice_id']}/due-date"
    past = evaluation.client.put(due_url, headers=admin, json={"respond_by": "2013-01-01", "reason": "延期"})
    assert past.status_code == 422 and "respond_by" in past.get_json()["errors"]
    later = (today + timedelta(days=3)).isoformat()
    moved = evaluation.client.put(due_url, headers=admin, json={"respond_by": later, "reason": "机构申请延期"})
    assert (moved.get_json()["respond_by"], moved.get_json()["days_left"]) == (later, 3)
    assert evaluation.client.put(due_url, headers=other, json={"respond_by": later, "reason": "x"}).status_code == 403

    # time passes (the row as it will be once its date is behind us): late, and a report now is marked late
    with evaluation.stack.runtime.unit_of_work() as uow:
        uow.session.execute(
            update(Notice).where(Notice.institution_id == "GZ-ZGJS").values(respond_by=today - timedelta(days=2))
        )
        uow.commit()
    late = evaluation.client.get("/notices", headers=admin, query_string={"state": "overdue"}).get_json()
    assert [(n["institution_id"], n["overdue"], n["days_left"]) for n in late] == [("GZ-ZGJS", True, -2)]
    answer = evaluation.client.post(
        f"/notices/{zgjs['notice_id']}/rectification", headers=other, json={"report": "整改"}
    )
    assert (answer.get_json()["state"], answer.get_json()["reported_late"]) == ("answered", True)
    bad_state = evaluation.client.get("/notices", headers=admin, query_string={"state": "late"})
    assert bad_state.status_code == 422 and "state" in bad_state.get_json()["errors"]
