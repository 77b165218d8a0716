"""The campaign's calendar rules end to end through the gateway (four services with workers on PostgreSQL and
RabbitMQ, one system for the module): evaluation counts working days on the calendar the federation loads in
enrollment (calendar.loaded)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from demo.client import eventually
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calendar")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def test_evaluation_judges_rosters_on_the_working_day_calendar_the_federation_loads(flows):
    unit, union, institution, programme = "GZ-YX", "GZ-YX-G1", "GZ-SYG", "SYG-YY-4"
    flows.plan(unit, [programme])
    for number in (40, 41):
        row = flows.sent(union, number, programme)
        assert flows.register(institution, row["enrolment_id"])["status"] == "registered"
        flows.pay_in_full(institution, row["enrolment_id"])
    operator, opens_on = flows.operator(institution), flows.today + timedelta(days=14)
    klass = operator.post(
        "/api/enrollment/classes",
        {
            "campaign_id": flows.campaign_id,
            "programme_id": programme,
            "opens_on": opens_on.isoformat(),
            "site": "市二宫（越秀区）",
            "public_class_name": "育婴员社会班（周日班）",
        },
    )
    path = f"/api/enrollment/classes/{klass['class_id']}"
    operator.post(f"{path}/roster")  # today: two weeks ahead, on time on any calendar in force now
    flows.fed.post(f"{path}/review", {"decision": "approve", "comments": "同意"})
    flows.fed.post(f"{path}/publish")
    operator.post(f"{path}/open")
    scores = f"/api/evaluation/institutions/{institution}/scores"

    def judged() -> tuple[int, int]:
        figures = flows.fed.get(scores, campaign_id=flows.campaign_id)["criteria"]["plan_execution"]["figures"]
        return figures["classes"], figures["rosters_on_time"]

    eventually(lambda: judged()[0] == 1, "evaluation to hear of the class")
    assert judged() == (1, 1)

    # The federation loads a calendar in which the days before the opening are a long holiday: the roster
    # came in fewer than the lead's working days before it, and evaluation judges it so.
    days = [flows.today + timedelta(days=n) for n in range((opens_on - flows.today).days)]
    for year in sorted({d.year for d in days}):
        holiday = [
            {"day": d.isoformat(), "workday": False, "name": "演示假期"}
            for d in days
            if d.year == year and d.weekday() < 5
        ]
        flows.fed.put(f"/api/enrollment/calendar/{year}", {"days": holiday})
    eventually(lambda: judged() == (1, 0), "evaluation to count on the loaded calendar")
    assert date.fromisoformat(flows.fed.get(path)["roster_submitted_on"]) == flows.today
