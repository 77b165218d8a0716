"""Classes and rosters over HTTP: the 30/31 boundary, staffing, working-day lead, review, masked publication."""

import uuid
from datetime import timedelta

import pytest

from servicekit.bus.envelope import Envelope
from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import CAMPAIGN, SKILLS, UNIT, campaign, registered, resident_id, xlsx
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers
OPENS = "2099-03-09"  # a year no calendar covers until the federation loads it


def grouping(enrollment) -> dict:
    [found] = enrollment.ok(
        enrollment.client.get("/groupings", query_string={"campaign_id": CAMPAIGN}, headers=enrollment.institution())
    )
    return found


def class_body(**change) -> dict:
    return {"campaign_id": CAMPAIGN, "programme_id": SKILLS, "opens_on": OPENS, "site": "越秀区解放南路", **change}


def test_thirty_join_public_students_thirty_one_make_a_dedicated_class(enrollment):
    registered(enrollment, range(1, 31))
    assert grouping(enrollment) == {
        "institution_id": "GZ-ZGJS",
        "programme_id": SKILLS,
        "registered": 30,
        "unplaced": 30,
        "waiting": 30,
        "arrangement": "join_public_class_or_transfer",
    }
    unnamed = enrollment.client.post("/classes", json=class_body(), headers=enrollment.institution())
    assert unnamed.status_code == 422 and "public_class_name" in unnamed.get_json()["errors"]

    registered(enrollment, [31], paid=False)
    assert grouping(enrollment) == {
        "institution_id": "GZ-ZGJS",
        "programme_id": SKILLS,
        "registered": 31,
        "unplaced": 31,
        "waiting": 30,
        "arrangement": "dedicated",
    }
    public = enrollment.client.post(
        "/classes", json=class_body(public_class_name="2099春季电工中级班"), headers=enrollment.institution()
    )
    assert public.status_code == 422
    formed = enrollment.ok(enrollment.client.post("/classes", json=class_body(), headers=enrollment.institution()), 201)
    assert (formed["dedicated"], formed["status"], len(formed["students"])) == (True, "forming", 30)
    assert grouping(enrollment)["waiting"] == 0, "the unpaid student waits outside the class"
    again = enrollment.client.post(
        "/classes", json=class_body(public_class_name="2099春季电工中级班"), headers=enrollment.institution()
    )
    assert again.get_json()["code"] == "enrollment_no_student_waiting", "one unpaid student left: nobody to place"


def test_roster_needs_staff_the_working_day_lead_and_a_calendar_then_review_and_masked_publication(enrollment):
    stack = enrollment.stack
    opened = stack.tap("class.opened")
    stack.worker()
    enrollment.deliver("campaign.published", campaign(revision=2, dedicated_class_threshold=2))
    registered(enrollment, [1, 2, 3])
    institution, admin = enrollment.institution(), enrollment.admin()
    soon = enrollment.ok(
        enrollment.client.post(
            "/classes",
            headers=institution,
            json=class_body(
                opens_on=(today() + timedelta(days=3)).isoformat(), head_teacher="王老师", learning_assistant="李助理"
            ),
        ),
        201,
    )
    late = enrollment.client.post(f"/classes/{soon['class_id']}/roster", headers=institution)
    assert (late.status_code, late.get_json()["code"]) == (409, "enrollment_roster_too_late")

    registered(enrollment, [4, 5, 6])
    formed = enrollment.ok(enrollment.client.post("/classes", json=class_body(on_site=True), headers=institution), 201)
    path = f"/classes/{formed['class_id']}"
    unstaffed = enrollment.client.post(f"{path}/roster", headers=institution)
    assert (unstaffed.status_code, set(unstaffed.get_json()["errors"])) == (409, {"head_teacher", "learning_assistant"})
    enrollment.ok(
        enrollment.client.put(
            f"{path}/staff", headers=institution, json={"head_teacher": "王老师", "learning_assistant": "李助理"}
        )
    )
    assert enrollment.ok(enrollment.client.get(path, headers=institution))["roster_deadline"] is None  # no calendar
    missing = enrollment.client.post(f"{path}/roster", headers=institution)
    assert (missing.status_code, missing.get_json()["code"]) == (409, "enrollment_calendar_missing")
    assert "2099" in missing.get_json()["detail"]
    assert enrollment.ok(enrollment.client.get("/calendar/2099", headers=institution))["source"] == "missing"
    assert enrollment.client.put("/calendar/2099", json={"days": []}, headers=institution).status_code == 403
    sheet = xlsx(
        [
            ["日期 Day", "是否上班 Working day (是/否)", "名称 Name"],
            ["2099-01-01", "否", "元旦"],
            ["2099-01-10", "是", "调休上班"],
            ["2098-12-31", "否", "跨年"],
        ]
    )
    wrong_year = enrollment.client.post("/calendar/2099/import", headers=admin, data={"file": (sheet, "假日.xlsx")})
    assert wrong_year.status_code == 422 and wrong_year.get_json()["errors"] == {"days": ["日期：2098-12-31"]}
    loaded = enrollment.ok(
        enrollment.client.post(
            "/calendar/2099/import",
            headers=admin,
            data={
                "file": (
                    xlsx(
                        [
                            ["日期 Day", "是否上班 Working day (是/否)", "名称 Name"],
                            ["2099-01-01", "否", "元旦"],
                            ["2099-01-10", "是", "调休上班"],
                        ]
                    ),
                    "假日.xlsx",
                )
            },
        )
    )
    assert (loaded["source"], [d["day"] for d in loaded["days"]]) == ("federation", ["2099-01-01", "2099-01-10"])
    enrollment.ok(
        enrollment.client.put(
            "/calendar/2099", headers=admin, json={"days": [{"day": "2099-01-01", "workday": False, "name": "元旦"}]}
        )
    )
    assert len(enrollment.ok(enrollment.client.get("/calendar/2099", headers=institution))["days"]) == 1
    # visible before submission: five working days before Monday 9 March 2099 is Monday 2 March
    assert enrollment.ok(enrollment.client.get(path, headers=institution))["roster_deadline"] == "2099-03-02"
    listed = enrollment.ok(enrollment.client.get("/classes", headers=institution))
    assert {c["class_id"]: c["roster_deadline"] for c in listed}[formed["class_id"]] == "2099-03-02"

    submitted = enrollment.ok(enrollment.client.post(f"{path}/roster", headers=institution))
    assert (submitted["status"], submitted["roster_submitted_on"]) == ("submitted", today().isoformat())
    unexplained = enrollment.client.post(f"{path}/review", json={"decision": "return"}, headers=admin)
    assert unexplained.status_code == 422
    returned = enrollment.ok(
        enrollment.client.post(
            f"{path}/review", headers=admin, json={"decision": "return", "comments": "请补充教学点地址"}
        )
    )
    assert (returned["status"], returned["review_comments"]) == ("returned", "请补充教学点地址")
    enrollment.ok(enrollment.client.post(f"{path}/roster", headers=institution))
    class_id = path.rsplit("/", 1)[1]
    reviews = [
        {"class_id": class_id, "decision": "approve", "comments": "名单齐全"},
        {"class_id": "no-such-class", "decision": "approve", "comments": "名单齐全"},
    ]
    report = enrollment.ok(enrollment.client.post("/classes/review", json={"items": reviews}, headers=admin))
    assert (report["done"], report["refused"]) == (1, 1)  # many rosters approved at once, each reported
    assert [(r["id"], r["outcome"], r["code"]) for r in report["results"]] == [
        (class_id, "done", None),
        ("no-such-class", "refused", "not_found"),
    ]
    assert enrollment.client.post(f"{path}/open", headers=institution).status_code == 409, "not published yet"
    public_rosters = lambda **more: enrollment.client.get(  # noqa: E731
        "/public/rosters", query_string={"campaign_id": CAMPAIGN, **more}
    )
    assert enrollment.ok(public_rosters()) == []
    enrollment.ok(enrollment.client.post(f"{path}/publish", headers=admin))

    [public] = enrollment.ok(public_rosters())
    assert enrollment.ok(public_rosters(class_id=public["class_id"])) == [public]
    assert enrollment.ok(public_rosters(class_id="no-such-class")) == []
    assert (public["institution"], public["programme"], public["opens_on"]) == (
        "广州市职工技术交流中心（职工技协）",
        "电工（中级）",
        OPENS,
    )
    assert [(s["name"], s["resident_id"], s["unit_id"]) for s in public["students"]] == [
        (f"职工{n}", resident_id(n)[:4] + "*" * 10 + resident_id(n)[-4:], UNIT) for n in (4, 5, 6)
    ]
    assert "phone" not in str(public) and resident_id(4) not in str(public)

    done = enrollment.ok(enrollment.client.post(f"{path}/open", headers=institution))
    assert (done["status"], done["opened_on"]) == ("opened", today().isoformat())
    messages = wait_for(lambda: stack.drain(opened), message="class.opened")
    assert Envelope.parse(messages[0].body).data == {
        "class_id": formed["class_id"],
        "campaign_id": CAMPAIGN,
        "institution_id": "GZ-ZGJS",
        "programme_id": SKILLS,
        "dedicated": True,
        "opens_on": OPENS,
        "student_count": 3,
        "roster_submitted_on": today().isoformat(),
    }
    assert enrollment.client.get(path, headers=enrollment.institution("GZ-GCJS")).status_code == 404

    failed = formed["students"][0]["enrolment_id"]
    enrollment.deliver(
        "exam.result_recorded",
        {
            "result_id": str(uuid.uuid4()),
            "enrolment_id": failed,
            "institution_id": "GZ-ZGJS",
            "exam": "电工中级职业技能鉴定",
            "held_on": today().isoformat(),
            "score": "48.00",
            "passed": False,
            "attempt": 1,
        },
    )
    retaking = enrollment.ok(enrollment.client.get(f"/enrolments/{failed}", headers=institution))
    assert (retaking["class_id"], retaking["retaking"], retaking["payment_status"]) == (None, True, "full")
    later = enrollment.ok(
        enrollment.client.post(
            "/classes",
            headers=institution,
            json=class_body(opens_on="2099-09-01", public_class_name="2099秋季电工中级班"),
        ),
        201,
    )
    assert [s["enrolment_id"] for s in later["students"]] == [failed], "the same trade, the same institution"


def opened_class(enrollment) -> dict:
    """A class of the students waiting now, its roster approved, published and the class opened."""
    institution, admin = enrollment.institution(), enrollment.admin()
    enrollment.ok(enrollment.client.put("/calendar/2099", headers=admin, json={"days": []}))
    formed = enrollment.ok(
        enrollment.client.post(
            "/classes", headers=institution, json=class_body(public_class_name="2099春季电工中级班")
        ),
        201,
    )
    path = f"/classes/{formed['class_id']}"
    enrollment.ok(enrollment.client.post(f"{path}/roster", headers=institution))
    enrollment.ok(
        enrollment.client.post(f"{path}/review", json={"decision": "approve", "comments": "名单齐全"}, headers=admin)
    )
    enrollment.ok(enrollment.client.post(f"{path}/publish", headers=admin))
    enrollment.ok(enrollment.client.post(f"{path}/open", headers=institution))
    return formed


def test_a_failed_skills_student_placed_in_a_later_class_shows_both_classes(enrollment):
    stack = enrollment.stack
    stack.worker()
    [student] = registered(enrollment, [1])
    institution, admin = enrollment.institution(), enrollment.admin()
    first = opened_class(enrollment)
    stack.publish(
        "exam.result_recorded",
        {
            "result_id": str(uuid.uuid4()),
            "enrolment_id": student,
            "institution_id": "GZ-ZGJS",
            "exam": "电工中级职业技能鉴定",
            "held_on": "2099-06-20",
            "score": "48.00",
            "passed": False,
            "attempt": 1,
        },
    )
    wait_for(
        lambda: enrollment.ok(enrollment.client.get(f"/enrolments/{student}", headers=institution))["retaking"],
        message="the failed exam handled",
    )
    later = enrollment.ok(
        enrollment.client.post(
            "/classes",
            headers=institution,
            json=class_body(opens_on="2099-09-01", public_class_name="2099秋季电工中级班"),
        ),
        201,
    )

    shown = enrollment.ok(enrollment.client.get(f"/enrolments/{student}", headers=enrollment.officer()))
    assert shown["classes"] == [
        {
            "class_id": first["class_id"],
            "placed_on": today().isoformat(),
            "left_on": "2099-06-20",
            "ended_by": "retake",
        },
        {"class_id": later["class_id"], "placed_on": today().isoformat(), "left_on": None, "ended_by": None},
    ]
    assert shown["class_id"] == later["class_id"]
    [line] = enrollment.ok(enrollment.client.get("/ledger", query_string={"format": "json"}, headers=admin))
    assert (line["classes_attended"], line["class_id"]) == (2, later["class_id"])

    change = enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{student}/status-changes",
            headers=enrollment.officer(),
            json={"kind": "withdrawal", "reason": "工作调动", "effective_on": "2099-09-15"},
        ),
        201,
    )
    enrollment.ok(
        enrollment.client.post(
            f"/status-changes/{change['change_id']}/decision",
            json={"decision": "approve"},
            headers=enrollment.officer(),
        )
    )
    left = enrollment.ok(enrollment.client.get(f"/enrolments/{student}", headers=enrollment.officer()))
    assert (left["class_id"], left["classes"][-1]["left_on"], left["classes"][-1]["ended_by"]) == (
        None,
        "2099-09-15",
        "withdrawal",
    )


def test_results_handled_together_count_in_order_a_class_students_failure_still_sends_them_out(enrollment):
    """exam.result_recorded is Batched (an institution publishes a thousand at once): handled together, a class's
    student's failure is judged before their later pass in the same batch, and a redelivered result counts once."""
    [student] = registered(enrollment, [1])
    institution, admin = enrollment.institution(), enrollment.admin()
    opened_class(enrollment)
    [outside] = registered(enrollment, [2])  # registered after the class was formed: in no class

    def result(enrolment_id: str, passed: bool, attempt: int, held_on: str) -> dict:
        return {
            "result_id": str(uuid.uuid4()),
            "enrolment_id": enrolment_id,
            "institution_id": "GZ-ZGJS",
            "exam": "电工中级职业技能鉴定",
            "held_on": held_on,
            "score": "78.00" if passed else "48.00",
            "passed": passed,
            "attempt": attempt,
        }

    failed, passed_later = result(student, False, 1, "2099-06-20"), result(student, True, 2, "2099-07-20")
    elsewhere = result(outside, True, 1, "2099-06-20")
    batch = [failed, elsewhere, passed_later, elsewhere]
    events = [Envelope.parse(Envelope.new("exam.result_recorded", d, producer="test").to_json()) for d in batch]
    with enrollment.stack.runtime.unit_of_work() as uow:
        enrollment.stack.service.handlers["exam.result_recorded"].handle(uow, events)
        uow.commit()

    left = enrollment.ok(enrollment.client.get(f"/enrolments/{student}", headers=institution))
    assert (left["class_id"], left["retaking"], left["classes"][0]["ended_by"]) == (None, True, "retake")
    lines = enrollment.ok(enrollment.client.get("/ledger", query_string={"format": "json"}, headers=admin))
    attempts = {line["enrolment_id"]: line["exam_attempts"] for line in lines}
    assert attempts == {student: 2, outside: 1}


def test_a_class_opens_within_the_campaigns_study_window(enrollment):
    registered(enrollment, range(1, 3))
    enrollment.deliver(
        "campaign.published", campaign(revision=9, windows={**campaign()["windows"], "study_end": "2099-03-08"})
    )
    refused = enrollment.client.post(
        "/classes", json=class_body(public_class_name="电工中级社会班"), headers=enrollment.institution()
    )
    assert (refused.status_code, refused.get_json()["code"], refused.get_json()["window"]) == (
        422,
        "enrollment_outside_study_window",
        {"name": "study", "start": campaign()["windows"]["study_start"], "end": "2099-03-08"},
    )
    on_the_last_day = class_body(opens_on="2099-03-08", public_class_name="电工中级社会班")
    assert enrollment.client.post("/classes", json=on_the_last_day, headers=enrollment.institution()).status_code == 201


def test_an_employee_reads_the_class_of_their_own_enrolment_without_its_roster(enrollment):
    student, classmate = registered(enrollment, [1, 2])
    employee_id = enrollment.ok(enrollment.client.get(f"/enrolments/{student}", headers=enrollment.grassroots()))[
        "employee_id"
    ]
    me = enrollment.employee(employee_id)
    waiting = enrollment.client.get(f"/enrolments/{student}/class", headers=me)
    assert waiting.status_code == 404  # not placed yet
    enrollment.ok(
        enrollment.client.post(
            "/classes",
            headers=enrollment.institution(),
            json=class_body(public_class_name="2099春季电工中级班", head_teacher="王老师"),
        ),
        201,
    )
    mine = enrollment.ok(enrollment.client.get(f"/enrolments/{student}/class", headers=me))
    assert {k: mine[k] for k in ("public_class_name", "opens_on", "site", "head_teacher", "study_end")} == {
        "public_class_name": "2099春季电工中级班",
        "opens_on": OPENS,
        "site": "越秀区解放南路",
        "head_teacher": "王老师",
        "study_end": "2099-12-31",
    }
    assert mine["programme_name"] and mine["placed_on"] == today().isoformat()
    assert "students" not in mine  # the other students are not the employee's to see
    # a classmate's enrolment is not theirs; officers and institutions read classes through /classes
    assert enrollment.client.get(f"/enrolments/{classmate}/class", headers=me).status_code == 404
    assert enrollment.client.get(f"/enrolments/{student}/class", headers=enrollment.institution()).status_code == 403


def test_one_student_is_put_in_a_class_or_moved_between_classes_while_their_rosters_are_being_made(enrollment):
    institution, admin = enrollment.institution(), enrollment.admin()
    first_two = registered(enrollment, [1, 2])
    a = enrollment.ok(
        enrollment.client.post("/classes", headers=institution, json=class_body(public_class_name="甲班")), 201
    )
    [third] = registered(enrollment, [3])
    b = enrollment.ok(
        enrollment.client.post("/classes", headers=institution, json=class_body(public_class_name="乙班")), 201
    )
    [unpaid] = registered(enrollment, [4], paid=False)

    def place(class_id: str, enrolment_id: str):
        return enrollment.client.post(
            f"/classes/{class_id}/students", json={"enrolment_id": enrolment_id}, headers=institution
        )

    moved = enrollment.ok(place(b["class_id"], first_two[0]))
    assert sorted(s["enrolment_id"] for s in moved["students"]) == sorted([first_two[0], third])
    left = enrollment.ok(enrollment.client.get(f"/classes/{a['class_id']}", headers=institution))
    assert [s["enrolment_id"] for s in left["students"]] == [first_two[1]]
    shown = enrollment.ok(enrollment.client.get(f"/enrolments/{first_two[0]}", headers=institution))
    assert [(c["class_id"], c["ended_by"]) for c in shown["classes"]] == [
        (a["class_id"], "moved"),
        (b["class_id"], None),
    ]

    again = place(b["class_id"], first_two[0])
    assert again.status_code == 422 and "enrolment_id" in again.get_json()["errors"]
    not_paid = place(b["class_id"], unpaid)
    assert not_paid.status_code == 422 and "enrolment_id" in not_paid.get_json()["errors"]
    assert place(b["class_id"], str(uuid.uuid4())).status_code == 404
    other = enrollment.institution("GZ-OTHER")
    assert (
        enrollment.client.post(
            f"/classes/{b['class_id']}/students", json={"enrolment_id": third}, headers=other
        ).status_code
        == 404
    )

    # A submitted roster stays as the federation sees it: nobody moves out of it, nor into it.
    enrollment.ok(enrollment.client.put("/calendar/2099", headers=admin, json={"days": []}))
    enrollment.ok(enrollment.client.post(f"/classes/{a['class_id']}/roster", headers=institution))
    assert place(b["class_id"], first_two[1]).status_code == 409
    assert place(a["class_id"], third).status_code == 409


def test_registered_again_after_a_rejection_the_answer_shows_the_class_it_left(enrollment):
    """A registration's answer shows the history read under the enrolment's lock: here the class it was placed in
    before the institution rejected its papers (its view skips only the reads of what is not there)."""
    [student] = registered(enrollment, [1])
    institution = enrollment.institution()
    formed = enrollment.ok(
        enrollment.client.post(
            "/classes", json=class_body(public_class_name="2099春季电工中级班"), headers=institution
        ),
        201,
    )
    path = f"/enrolments/{student}"
    rejected = enrollment.ok(
        enrollment.client.post(f"{path}/rejection", json={"reason": "documents_missing"}, headers=institution)
    )
    assert (rejected["status"], rejected["class_id"]) == ("refused", None)

    again = enrollment.ok(enrollment.client.post(f"{path}/register", headers=institution), 202)
    assert again["status"] == "requested"
    assert [(c["class_id"], c["left_on"], c["ended_by"]) for c in again["classes"]] == [
        (formed["class_id"], today().isoformat(), "withdrawal")
    ]
    assert again["objections"] == []
