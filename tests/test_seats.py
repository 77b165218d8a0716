"""Seats released and used again, end to end through the gateway (four services with workers on PostgreSQL
and RabbitMQ, one system for the module): the institution rejects a registration (entrance test failed,
documents missing), the unit's seat goes back to it and another nominee takes it; racing registrations for
the last seat get exactly one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from demo.client import eventually
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers

UNIT, UNION, INSTITUTION, ACCOUNTING = "GZ-ZS-JG", "GZ-ZS-JG-G1", "GZ-ZGJY", "ZGJY-BK-KJ"


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seats")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def seats(flows) -> dict:
    report = flows.fed.get(f"/api/quota/campaigns/{flows.campaign_id}/report")
    return next(u for u in report["units"] if u["unit_id"] == UNIT)["seats"]


def leave_seats(flows, free: int) -> None:
    """The unit's academic seats set to what it holds plus `free` (seats it gains come from a larger unit)."""
    held = seats(flows)
    wanted = held["reserved"] + held["consumed"] + held["spent"] + free
    path = f"/api/quota/campaigns/{flows.campaign_id}/allocation"
    if wanted > held["allocated"]:
        [donor] = [line for line in flows.fed.get(path)["lines"] if line["unit_id"] == "GZ-HP"]
        more = wanted - held["allocated"]
        flows.fed.patch(
            f"{path}/lines/GZ-HP", {"academic_seats": donor["academic_seats"] - more, "reason": "调剂至机关工会"}
        )
    flows.fed.patch(f"{path}/lines/{UNIT}", {"academic_seats": wanted, "reason": "核定本单位学历名额"})


def registration_asked(flows, enrolment_id: str) -> None:
    flows.operator(INSTITUTION).post(f"/api/enrollment/enrolments/{enrolment_id}/register")


def test_a_seat_the_institution_gives_back_is_taken_by_another_nominee(flows):
    flows.plan(UNIT, [ACCOUNTING])
    leave_seats(flows, 1)
    first = flows.sent(UNION, 21, ACCOUNTING, "大专")["enrolment_id"]
    second = flows.sent(UNION, 22, ACCOUNTING, "大专")["enrolment_id"]
    assert flows.register(INSTITUTION, first)["status"] == "registered"
    refused = flows.register(INSTITUTION, second)
    assert (refused["status"], refused["refusal_reason"]) == ("refused", "no_quota_left")

    operator, path = flows.operator(INSTITUTION), f"/api/enrollment/enrolments/{first}"
    premature = operator.call("POST", f"{path}/rejection", {"reason": "entrance_test_failed"}, ok=(409,))
    assert (premature["code"], premature["errors"]) == (
        "enrollment_wrong_status",
        {"reason": ["No failed entrance test is recorded for this student."]},
    )
    operator.post(f"{path}/entrance-test", {"held_on": flows.today.isoformat(), "score": "41.50", "passed": False})
    rejected = operator.post(f"{path}/rejection", {"reason": "entrance_test_failed", "note": "入学测试未达录取线"})
    assert (rejected["status"], rejected["refusal_reason"], rejected["refusal_detail"]) == (
        "refused",
        "entrance_test_failed",
        "入学测试未达录取线",
    )
    again = operator.call("POST", f"{path}/rejection", {"reason": "documents_missing"}, ok=(409,))
    assert again["code"] == "enrollment_wrong_status"  # rejected once: nothing is released twice
    eventually(lambda: seats(flows)["available"] == 1, "quota to release the seat")
    assert seats(flows)["released"] >= 1

    assert flows.register(INSTITUTION, second)["status"] == "registered"  # the unit uses the seat again
    assert seats(flows)["available"] == 0
    [entry] = flows.fed.get("/api/audit", service="enrollment", action="enrolment.reject_registration", entity_id=first)
    assert (entry["reason"], entry["after"]["status"], entry["after"]["refusal_detail"]) == (
        "entrance_test_failed",
        "refused",
        "入学测试未达录取线",
    )


def test_papers_missing_free_the_seat_and_the_student_is_registered_again_once_they_come(flows):
    leave_seats(flows, 1)
    nominee = flows.sent(UNION, 23, ACCOUNTING, "大专")["enrolment_id"]
    assert flows.register(INSTITUTION, nominee)["status"] == "registered"
    flows.operator(INSTITUTION).post(f"/api/enrollment/enrolments/{nominee}/rejection", {"reason": "documents_missing"})
    eventually(lambda: seats(flows)["available"] == 1, "quota to release the seat")
    assert flows.register(INSTITUTION, nominee)["status"] == "registered"
    assert seats(flows)["available"] == 0


def test_parallel_registrations_for_the_last_seat_get_exactly_one(flows):
    leave_seats(flows, 1)
    nominees = [flows.sent(UNION, number, ACCOUNTING, "大专")["enrolment_id"] for number in range(24, 30)]
    with ThreadPoolExecutor(len(nominees)) as pool:
        list(pool.map(lambda enrolment_id: registration_asked(flows, enrolment_id), nominees))
    operator = flows.operator(INSTITUTION)
    answers = [flows.wait_status(operator, e, ("registered", "refused"), "quota's answer") for e in nominees]
    assert sorted(a["status"] for a in answers) == ["refused"] * 5 + ["registered"]
    assert {a["refusal_reason"] for a in answers if a["status"] == "refused"} == {"no_quota_left"}
    held = seats(flows)
    assert held["available"] == 0 and held["reserved"] + held["consumed"] + held["spent"] == held["allocated"]


def test_after_the_deadline_a_released_seat_is_reallocated_once_and_a_late_round_closes_reallocation(flows):
    """Last in the module: it moves the campaign's registration deadline. The seat moved away is not the unit's
    in the late round either: spent once, by the reallocation."""
    leave_seats(flows, 1)  # one unused seat: a released one counts the same
    latecomer = flows.sent(UNION, 30, ACCOUNTING, "大专")["enrolment_id"]
    path = f"/api/quota/campaigns/{flows.campaign_id}"
    windows = flows.fed.get(path)["windows"]
    move = {"from_unit_id": UNIT, "to_unit_id": "GZ-HP", "academic_seats": 1, "reason": "调剂未用名额"}
    early = flows.fed.call("POST", f"{path}/allocation/reallocations", move, ok=(409,))
    assert early["code"] == "reallocation_not_open"  # registration still runs

    flows.fed.patch(path, {"windows": {"registration_end": flows.day(-1)}})
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: flows.fed.call("POST", f"{path}/allocation/reallocations", move, ok=(200, 409)), range(4)
            )
        )
    moved = [a for a in answers if "lines" in a]
    assert len(moved) == 1, answers  # the last unused seat moves once
    assert {a["code"] for a in answers if "code" in a} == {"not_enough_unused_quota"}
    held = seats(flows)
    assert held["available"] == 0 and held["allocated"] == held["reserved"] + held["consumed"] + held["spent"]

    # a late round: the federation reopens registration; reallocation waits until it closes again
    flows.fed.patch(path, {"windows": {"registration_end": windows["registration_end"]}})
    late = flows.fed.call(
        "POST", f"{path}/allocation/reallocations", {**move, "from_unit_id": "GZ-HP", "to_unit_id": UNIT}, ok=(409,)
    )
    assert late["code"] == "reallocation_not_open"
    operator = flows.operator(INSTITUTION)
    flows.until_accepted(  # once enrollment has heard of the reopened window
        lambda: registration_asked(flows, latecomer), "enrollment to reopen registration", retry_on=(409,)
    )
    answer = flows.wait_status(operator, latecomer, ("registered", "refused"), "quota's answer")
    assert (answer["status"], answer["refusal_reason"]) == ("refused", "no_quota_left")
    assert seats(flows)["available"] == 0
