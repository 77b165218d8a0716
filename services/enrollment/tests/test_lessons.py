"""A class's timetable over HTTP: lessons at weekends within the class's period, never overlapping, the class's
institution alone keeping them, every change audited, imports all-or-nothing, the employee's class showing them."""

import io
import uuid
from datetime import date, datetime, time

import openpyxl
import pytest
import sqlalchemy

from services.enrollment.tests.helpers import CAMPAIGN, SKILLS, registered, xlsx

pytestmark = pytest.mark.servers
OPENS = "2099-03-09"  # a Monday; the campaign's study end is 2099-12-31
SATURDAY, SUNDAY = "2099-03-14", "2099-03-15"
HEADER = ["日期 Day", "开始 Starts", "结束 Ends", "地点 Place", "课程 Course", "授课教师 Teacher"]


def formed_class(enrollment, seqs=(1, 2)) -> tuple[dict, list[str]]:
    students = registered(enrollment, list(seqs))
    body = {
        "campaign_id": CAMPAIGN,
        "programme_id": SKILLS,
        "opens_on": OPENS,
        "site": "越秀区解放南路",
        "public_class_name": "2099春季电工中级班（周末班）",
    }
    return enrollment.ok(enrollment.client.post("/classes", json=body, headers=enrollment.institution()), 201), students


def listed(enrollment, klass: dict, headers: dict, **query):
    """GET /lessons of the class (the response itself)."""
    return enrollment.client.get("/lessons", query_string={"class_id": klass["class_id"], **query}, headers=headers)


def lesson(day=SATURDAY, starts="09:00", ends="12:00", **change) -> dict:
    return {"day": day, "starts": starts, "ends": ends, "course": "电工基础", "teacher": "王老师", **change}


def test_lessons_fall_at_weekends_within_the_class_period_and_never_overlap(enrollment):
    klass, _ = formed_class(enrollment)
    path, institution = f"/classes/{klass['class_id']}/lessons", enrollment.institution()
    first = enrollment.ok(enrollment.client.post(path, json=lesson(), headers=institution), 201)
    assert {k: first[k] for k in ("day", "starts", "ends", "place", "status", "past")} == {
        "day": SATURDAY,
        "starts": "09:00",
        "ends": "12:00",
        "place": "越秀区解放南路",  # the class's site when none is given
        "status": "scheduled",
        "past": False,
    }
    overlapping = enrollment.client.post(path, json=lesson(starts="11:00", ends="13:00"), headers=institution)
    assert overlapping.status_code == 409
    assert overlapping.get_json()["code"] == "enrollment_lesson_overlap" and overlapping.get_json()["errors"]["starts"]
    inside = enrollment.client.post(path, json=lesson(starts="10:00", ends="11:00"), headers=institution)
    assert inside.status_code == 409, "a lesson inside another overlaps it too"
    back_to_back = lesson(starts="12:00", ends="14:00", course="电工实训", place="实训楼 201")
    enrollment.ok(enrollment.client.post(path, json=back_to_back, headers=institution), 201)
    enrollment.ok(enrollment.client.post(path, json=lesson(day=SUNDAY), headers=institution), 201)

    before_opening = enrollment.client.post(path, json=lesson(day="2099-03-08"), headers=institution)
    after_study = enrollment.client.post(path, json=lesson(day="2100-01-02"), headers=institution)
    for refused in (before_opening, after_study):
        problem = refused.get_json()
        assert (refused.status_code, problem["code"]) == (422, "enrollment_lesson_outside_class_period")
        assert problem["errors"]["day"] and problem["window"] == {"name": "class", "start": OPENS, "end": "2099-12-31"}
    backwards = enrollment.client.post(path, json=lesson(starts="12:00", ends="09:00"), headers=institution)
    assert backwards.status_code == 422 and "ends" in backwards.get_json()["errors"]
    chinese = enrollment.client.post(
        path, json=lesson(starts="11:00"), headers={**institution, "Accept-Language": "zh-CN"}
    )
    assert chinese.get_json()["title"] == "该课程与本班其他课程时间重叠"
    assert chinese.get_json()["errors"]["starts"] == ["开始时间：与 2099-03-14 09:00–12:00 的「电工基础」时间重叠。"]

    page = listed(enrollment, klass, institution, limit=2)
    assert [x["starts"] for x in enrollment.ok(page)] == ["09:00", "12:00"] and 'rel="next"' in page.headers["Link"]
    everything = enrollment.ok(listed(enrollment, klass, enrollment.admin()))
    assert [(x["day"], x["course"]) for x in everything] == [
        (SATURDAY, "电工基础"),
        (SATURDAY, "电工实训"),
        (SUNDAY, "电工基础"),
    ]


def test_only_the_class_institution_keeps_its_timetable(enrollment):
    klass, _ = formed_class(enrollment)
    path = f"/classes/{klass['class_id']}/lessons"
    other = enrollment.institution("GZ-GCJS")
    assert enrollment.client.post(path, json=lesson(), headers=other).status_code == 403
    assert listed(enrollment, klass, other).status_code == 403
    assert enrollment.client.post(path, json=lesson(), headers=enrollment.admin()).status_code == 403
    assert listed(enrollment, {"class_id": "no-such-class"}, other).status_code == 404
    assert enrollment.ok(enrollment.client.get("/lessons", headers=other)) == []  # its own classes' lessons: none
    added = enrollment.ok(enrollment.client.post(path, json=lesson(), headers=enrollment.institution()), 201)
    moved = enrollment.client.put(f"{path}/{added['lesson_id']}", json=lesson(day=SUNDAY), headers=other)
    assert moved.status_code == 403
    auditor = enrollment.stack.as_caller("auditor")
    assert [x["lesson_id"] for x in enrollment.ok(listed(enrollment, klass, auditor))] == [added["lesson_id"]]
    assert [
        x["lesson_id"] for x in enrollment.ok(enrollment.client.get("/lessons", headers=enrollment.institution()))
    ] == [added["lesson_id"]]


def test_changes_and_cancellations_are_decisions_with_who_old_new_and_why(enrollment):
    klass, _ = formed_class(enrollment)
    path, institution = f"/classes/{klass['class_id']}/lessons", enrollment.institution()
    added = enrollment.ok(enrollment.client.post(path, json=lesson(), headers=institution), 201)
    one = f"{path}/{added['lesson_id']}"
    moved = enrollment.ok(
        enrollment.client.put(one, json=lesson(day=SUNDAY, teacher="李老师", reason="王老师出差"), headers=institution)
    )
    assert (moved["day"], moved["teacher"]) == (SUNDAY, "李老师")
    no_reason = enrollment.client.post(f"{one}/cancel", json={}, headers=institution)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    cancelled = enrollment.ok(enrollment.client.post(f"{one}/cancel", json={"reason": "台风停课"}, headers=institution))
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "台风停课")
    again = enrollment.client.put(one, json=lesson(), headers=institution)
    assert again.status_code == 409 and again.get_json()["code"] == "enrollment_wrong_status"
    # the cancelled lesson's time is free again
    enrollment.ok(enrollment.client.post(path, json=lesson(day=SUNDAY), headers=institution), 201)

    entries = enrollment.ok(
        enrollment.client.get(
            "/audit",
            query_string={"entity_type": "lesson", "entity_id": added["lesson_id"]},
            headers=enrollment.stack.as_caller("auditor"),
        )
    )
    by_action = {e["action"]: e for e in entries}
    assert set(by_action) == {"lesson.add_lesson", "lesson.change_lesson", "lesson.cancel_lesson"}
    change = by_action["lesson.change_lesson"]
    assert (change["actor_id"], change["actor_role"], change["reason"]) == (
        "op-GZ-ZGJS",
        "institution_operator",
        "王老师出差",
    )
    assert (change["before"]["teacher"], change["after"]["teacher"]) == ("王老师", "李老师")
    assert change["before"]["starts_at"].startswith(SATURDAY) and change["after"]["starts_at"].startswith(SUNDAY)
    cancel = by_action["lesson.cancel_lesson"]
    assert cancel["reason"] == "台风停课" and cancel["after"]["cancel_reason"] == "台风停课"


def test_a_timetable_import_adds_every_row_or_none_with_a_report_per_row(enrollment):
    klass, _ = formed_class(enrollment)
    path, institution = f"/classes/{klass['class_id']}/lessons", enrollment.institution()
    enrollment.ok(enrollment.client.post(path, json=lesson(), headers=institution), 201)
    template = enrollment.client.get("/lessons/import/template", headers=institution)
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(template.get_data())).active  # read whole: the stream ends
    assert [cell.value for cell in next(sheet.iter_rows(max_row=1))] == HEADER

    def upload(rows):
        return enrollment.client.post(
            f"{path}/import", data={"file": (xlsx([HEADER, *rows]), "课表.xlsx")}, headers=institution
        )

    refused = upload(
        [
            [SUNDAY, time(9), time(12), "实训楼 201", "电气识图", "陈老师"],  # row 2: good
            [SATURDAY, "10:00", "11:30", None, "安全用电", "陈老师"],  # row 3: overlaps the lesson already there
            ["2099-03-08", "09:00", "12:00", None, "安全用电", "陈老师"],  # row 4: before the class opens
            [SUNDAY, "11:00", "13:00", None, "安全用电", "陈老师"],  # row 5: overlaps row 2
            ["2099-03-21", "9点", "12:00", None, "安全用电", "陈老师"],  # row 6: not a time
        ]
    )
    problem = refused.get_json()
    assert (refused.status_code, problem["code"]) == (422, "import_rejected")
    assert [(r["row"], sorted(r["errors"])) for r in problem["errors"]["rows"]] == [(6, ["starts"])]
    refused = upload(
        [
            [SUNDAY, time(9), time(12), "实训楼 201", "电气识图", "陈老师"],
            [SATURDAY, "10:00", "11:30", None, "安全用电", "陈老师"],
            ["2099-03-08", "09:00", "12:00", None, "安全用电", "陈老师"],
            [SUNDAY, "11:00", "13:00", None, "安全用电", "陈老师"],
        ]
    )
    problem = refused.get_json()
    assert (refused.status_code, problem["code"]) == (422, "import_rejected")
    assert [(r["row"], sorted(r["errors"])) for r in problem["errors"]["rows"]] == [
        (3, ["starts"]),
        (4, ["day"]),
        (5, ["starts"]),
    ]
    assert len(enrollment.ok(listed(enrollment, klass, institution))) == 1, "nothing was added"

    imported = enrollment.ok(
        upload(
            [
                [SUNDAY, time(9), time(12), "实训楼 201", "电气识图", "陈老师"],
                ["2099-03-21", "9:00", "12:00", None, "安全用电", "陈老师"],
            ]
        ),
        201,
    )
    assert imported["imported"] == 2
    assert [(x["day"], x["starts"], x["place"]) for x in imported["lessons"]] == [
        (SUNDAY, "09:00", "实训楼 201"),
        ("2099-03-21", "09:00", "越秀区解放南路"),
    ]
    assert len(enrollment.ok(listed(enrollment, klass, institution))) == 3
    trail = enrollment.ok(
        enrollment.client.get(
            "/audit",
            query_string={"entity_type": "lesson", "entity_id": klass["class_id"]},
            headers=enrollment.stack.as_caller("auditor"),
        )
    )
    assert [e["action"] for e in trail] == ["lesson.imported"]


def test_the_employee_reads_their_class_timetable_in_date_order_never_the_roster(enrollment):
    klass, (student, _) = formed_class(enrollment)
    path, institution = f"/classes/{klass['class_id']}/lessons", enrollment.institution()
    for body in (lesson(day=SUNDAY, course="电气识图"), lesson(), lesson(starts="14:00", ends="17:00")):
        enrollment.ok(enrollment.client.post(path, json=body, headers=institution), 201)
    employee_id = enrollment.ok(enrollment.client.get(f"/enrolments/{student}", headers=enrollment.grassroots()))[
        "employee_id"
    ]
    mine = enrollment.ok(
        enrollment.client.get(f"/enrolments/{student}/class", headers=enrollment.employee(employee_id))
    )
    assert [(x["day"], x["starts"], x["course"], x["past"]) for x in mine["lessons"]] == [
        (SATURDAY, "09:00", "电工基础", False),
        (SATURDAY, "14:00", "电工基础", False),
        (SUNDAY, "09:00", "电气识图", False),
    ]
    assert "students" not in mine
    assert listed(enrollment, klass, enrollment.employee(employee_id)).status_code == 403


def test_the_database_itself_refuses_overlapping_lessons_of_a_class(enrollment):
    """Whatever the code does (PostgreSQL: the exclusion constraint of enrollment_0022; a cancelled lesson's time is
    free)."""
    klass, _ = formed_class(enrollment)
    insert = sqlalchemy.text(
        "INSERT INTO lessons (lesson_id, class_id, starts_at, ends_at, place, course, teacher, cancelled_on, "
        "cancel_reason) VALUES (:id, :class_id, :starts, :ends, '教室', '电工基础', '王老师', :cancelled, :reason)"
    )

    def add(starts: str, ends: str, cancelled: bool = False) -> None:
        with enrollment.stack.runtime.engine.begin() as connection:
            connection.execute(
                insert,
                {
                    "id": str(uuid.uuid4()),
                    "class_id": klass["class_id"],
                    "starts": datetime.fromisoformat(f"{SATURDAY}T{starts}"),
                    "ends": datetime.fromisoformat(f"{SATURDAY}T{ends}"),
                    "cancelled": date(2099, 3, 1) if cancelled else None,
                    "reason": "停课" if cancelled else None,
                },
            )

    add("09:00", "12:00")
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="ex_lesson_no_overlap"):
        add("11:00", "13:00")
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="ck_lesson_ends_after_start"):
        add("15:00", "14:00")
    add("10:00", "11:00", cancelled=True)  # cancelled: not in the way
    add("12:00", "14:00")  # back to back
