"""Nomination over HTTP: validated personal data, public notice and objections, consent, scope and masks."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import (
    ACADEMIC,
    CAMPAIGN,
    OTHER_UNION,
    OTHER_UNIT,
    SKILLS,
    UNION,
    person,
    programme,
    resident_id,
    xlsx,
)

pytestmark = pytest.mark.servers


INVALID = [  # (what is wrong, the field named)
    ({"resident_id": resident_id(1)[:17] + ("0" if resident_id(1)[17] != "0" else "1")}, "resident_id"),
    ({"resident_id": "44010419850312"}, "resident_id"),
    ({"resident_id": resident_id(1, born="19850231")}, "resident_id"),
    ({"resident_id": resident_id(1, born="20150101")}, "resident_id"),
    ({"resident_id": resident_id(1, region="990104")}, "resident_id"),
    ({"phone": "02083331234"}, "phone"),
    ({"name": "  "}, "name"),
    ({"notice_start": (today() + timedelta(days=1)).isoformat()}, "notice_start"),
]


def test_invalid_personal_data_is_refused_naming_the_field(enrollment):
    for change, field in INVALID:
        refused = enrollment.nominate(1, **change)
        assert refused.status_code == 422, (change, refused.get_data(as_text=True))
        assert refused.mimetype == "application/problem+json"
        assert field in refused.get_json()["errors"], change
    assert enrollment.ok(enrollment.client.get("/enrolments", headers=enrollment.grassroots())) == []


def test_nomination_outside_the_plan_or_campaign_is_refused(enrollment):
    enrollment.publish_programme("SYG-HG", programme(institution_id="GZ-SYG", trade="焊工", name="焊工"))
    assert enrollment.nominate(1, programme_id="SYG-HG").get_json()["code"] == "enrollment_programme_not_in_plan"
    unknown = enrollment.nominate(1, campaign_id="00000000-0000-4000-8000-000000000000")
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "enrollment_unknown_reference")


def test_schooling_below_an_academic_programmes_entry_level_is_refused_with_a_clear_error(enrollment):
    bachelor = "GCJS-BK-JD"
    enrollment.publish_programme(bachelor, programme("academic", name="机电一体化（本科）", level="本科"))
    enrollment.ok(
        enrollment.client.put(
            f"/units/GZ-BY/plans/{CAMPAIGN}",
            json={"programme_ids": [SKILLS, ACADEMIC, bachelor]},
            headers=enrollment.officer(),
        )
    )
    body = {"campaign_id": CAMPAIGN, "programme_id": bachelor, **person(1), "education": "高中"}
    low = enrollment.client.post("/enrolments", json=body, headers={**enrollment.grassroots(), "Accept-Language": "en"})
    assert (low.status_code, low.get_json()["errors"]) == (
        422,
        {"education": ["A 本科 programme needs 大专 or above; the employee has 高中."]},
    )
    unknown = enrollment.nominate(1, programme_id=ACADEMIC, education="小学")
    assert unknown.status_code == 422 and "education" in unknown.get_json()["errors"]
    assert enrollment.nominate(2, programme_id=ACADEMIC, education="初中").status_code == 422  # 大专 needs 高中
    assert enrollment.nominate(3, programme_id=bachelor, education="大专").status_code == 201
    assert enrollment.nominate(4, programme_id=ACADEMIC, education="中专").status_code == 201
    assert enrollment.nominate(5, education="初中").status_code == 201  # skills: no entry level


def test_a_programme_with_enrolments_keeps_its_kind_and_institution(enrollment):
    enrollment.ok(enrollment.nominate(1), 201)
    moved = enrollment.client.put(
        f"/programmes/{SKILLS}", json=programme(institution_id="GZ-SYG"), headers=enrollment.admin()
    )
    assert (moved.status_code, moved.get_json()["code"]) == (409, "conflict")
    cheaper = programme(fee_standard={**programme()["fee_standard"], "textbook": "30.00"})
    assert (
        enrollment.ok(enrollment.client.put(f"/programmes/{SKILLS}", json=cheaper, headers=enrollment.admin()))[
            "fee_standard"
        ]["textbook"]
        == "30.00"
    )


def test_one_active_enrolment_per_employee_campaign_and_kind(enrollment):
    first = enrollment.ok(enrollment.nominate(1), 201)
    again = enrollment.nominate(1, phone="13900139000")
    assert (again.status_code, again.get_json()["code"]) == (409, "enrollment_already_enrolled")
    academic = enrollment.ok(enrollment.nominate(1, programme_id=ACADEMIC), 201)
    assert academic["employee_id"] == first["employee_id"], "one employee, one opaque id"


def test_a_nomination_answers_the_same_whether_the_person_is_known_and_overwrites_no_other_offices_data(enrollment):
    first = enrollment.ok(enrollment.nominate(1), 201)
    other = enrollment.grassroots(OTHER_UNION, OTHER_UNIT)
    plan = {"programme_ids": [ACADEMIC]}
    enrollment.ok(
        enrollment.client.put(
            f"/units/{OTHER_UNIT}/plans/{CAMPAIGN}", json=plan, headers=enrollment.officer(OTHER_UNIT)
        )
    )

    def nominate_elsewhere(seq: int, **change):
        body = {"campaign_id": CAMPAIGN, "programme_id": ACADEMIC, **person(seq), **change}
        return enrollment.client.post("/enrolments", json=body, headers=other)

    known = nominate_elsewhere(1, name="别人", phone="13900000001")  # on record, with another name and phone
    unknown = nominate_elsewhere(2, name="别人", phone="13900000002")  # never seen
    assert known.status_code == unknown.status_code == 201
    known, unknown = known.get_json(), unknown.get_json()
    assert set(known) == set(unknown) and known["status"] == unknown["status"] == "nominated"
    # Each office sees what it gave, never the other's record of the person.
    assert (known["name"], known["phone"]) == ("别人", "13900000001")
    assert (unknown["name"], unknown["phone"]) == ("别人", "13900000002")
    mine = enrollment.ok(enrollment.client.get(f"/enrolments/{first['enrolment_id']}", headers=enrollment.grassroots()))
    assert (mine["name"], mine["phone"]) == (person(1)["name"], person(1)["phone"])
    # The employee's record keeps the first office's data: the other's is a proposed change on its enrolment.
    assert known["employee_id"] == first["employee_id"]
    admin_view = enrollment.ok(
        enrollment.client.get(f"/enrolments/{known['enrolment_id']}", headers=enrollment.admin())
    )
    assert admin_view["name"] == person(1)["name"] and admin_view["phone"] == "138****" + person(1)["phone"][-4:]


def test_notice_and_objections_govern_confirmation(enrollment):
    fresh = enrollment.ok(enrollment.nominate(1), 201)
    assert (fresh["status"], fresh["notice_start"]) == ("nominated", today().isoformat())
    assert fresh["notice_end"] == (today() + timedelta(days=5)).isoformat()
    path = f"/enrolments/{fresh['enrolment_id']}"
    blocked = enrollment.client.post(f"{path}/confirm", headers=enrollment.grassroots())
    assert blocked.status_code == 409
    assert blocked.get_json()["errors"]["blockers"] == [
        f"未满足条件：公示期至 {fresh['notice_end']} 结束。",
        "未满足条件：尚未登记职工本人的参加意愿（自愿参加）。",
    ]

    old = enrollment.ok(enrollment.nominate(2, days_ago=5), 201)
    path = f"/enrolments/{old['enrolment_id']}"
    enrollment.ok(
        enrollment.client.post(
            f"{path}/consent", json={"written_consent_on": today().isoformat()}, headers=enrollment.grassroots()
        )
    )
    objected = enrollment.ok(
        enrollment.client.post(
            f"{path}/objections",
            headers=enrollment.grassroots(),
            json={"raised_on": today().isoformat(), "summary": "群众反映其并非一线岗位"},
        ),
        201,
    )
    [objection] = objected["objections"]
    assert objection["outcome"] is None
    blocked = enrollment.client.post(f"{path}/confirm", headers=enrollment.grassroots())
    assert blocked.get_json()["errors"]["blockers"] == ["未满足条件：还有 1 项异议尚未处理。"]
    outcome = f"{path}/objections/{objection['objection_id']}/outcome"
    enrollment.ok(
        enrollment.client.post(
            outcome, json={"outcome": "dismissed", "note": "经核实为车间一线"}, headers=enrollment.grassroots()
        )
    )
    twice = enrollment.client.post(outcome, json={"outcome": "upheld", "note": "x"}, headers=enrollment.grassroots())
    assert twice.status_code == 409
    confirmed = enrollment.ok(enrollment.client.post(f"{path}/confirm", headers=enrollment.grassroots()))
    assert (confirmed["status"], confirmed["confirmed_on"], confirmed["sent_on"]) == (
        "confirmed",
        today().isoformat(),
        None,
    )
    enrollment.send_list()
    sent = enrollment.ok(enrollment.client.get(path, headers=enrollment.grassroots()))
    assert (sent["status"], sent["sent_on"]) == ("sent", today().isoformat())


def test_upheld_objection_takes_the_employee_off_the_list(enrollment):
    nominated = enrollment.ok(enrollment.nominate(1), 201)
    path = f"/enrolments/{nominated['enrolment_id']}"
    objected = enrollment.ok(
        enrollment.client.post(
            f"{path}/objections",
            headers=enrollment.grassroots(),
            json={"raised_on": today().isoformat(), "summary": "近三年有违纪记录"},
        ),
        201,
    )
    rejected = enrollment.ok(
        enrollment.client.post(
            f"{path}/objections/{objected['objections'][0]['objection_id']}/outcome",
            json={"outcome": "upheld", "note": "经查属实"},
            headers=enrollment.grassroots(),
        )
    )
    assert rejected["status"] == "rejected"
    for listed in (
        enrollment.ok(enrollment.client.get("/enrolments", headers=enrollment.grassroots()))[0],
        enrollment.ok(enrollment.client.get(path, headers=enrollment.grassroots())),
    ):
        assert [o["outcome"] for o in listed["objections"]] == ["upheld"]
    assert enrollment.client.post(f"{path}/confirm", headers=enrollment.grassroots()).status_code == 409
    assert enrollment.nominate(1).status_code == 201, "a rejected nomination holds no place"


def test_consent_by_the_employee_or_recorded_written_consent(enrollment):
    nominated = enrollment.ok(enrollment.nominate(1, days_ago=6), 201)
    path = f"/enrolments/{nominated['enrolment_id']}"
    undated = enrollment.client.post(f"{path}/consent", json={}, headers=enrollment.grassroots())
    assert undated.status_code == 422 and "written_consent_on" in undated.get_json()["errors"]
    other = enrollment.client.post(f"{path}/consent", json={}, headers=enrollment.employee("emp-someone-else"))
    assert other.status_code == 404
    consented = enrollment.ok(
        enrollment.client.post(f"{path}/consent", json={}, headers=enrollment.employee(nominated["employee_id"]))
    )
    assert (consented["consent_method"], consented["consent_on"]) == ("employee", today().isoformat())
    confirmed = enrollment.ok(enrollment.client.post(f"{path}/confirm", headers=enrollment.grassroots()))
    assert confirmed["status"] == "confirmed"

    written = enrollment.ok(enrollment.nominate(2, days_ago=6), 201)
    recorded = enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{written['enrolment_id']}/consent",
            headers=enrollment.grassroots(),
            json={"written_consent_on": (today() - timedelta(days=3)).isoformat()},
        )
    )
    assert (recorded["consent_method"], recorded["consent_on"]) == (
        "written",
        (today() - timedelta(days=3)).isoformat(),
    )


def test_scope_and_masks(enrollment):
    sent = enrollment.sent(1)
    nominated = enrollment.ok(enrollment.nominate(2), 201)
    full_id, masked_id = resident_id(1), resident_id(1)[:4] + "*" * 10 + resident_id(1)[-4:]
    assert (sent["resident_id"], sent["phone"]) == (full_id, "13800130001")

    def listed(headers):
        return {e["enrolment_id"]: e for e in enrollment.ok(enrollment.client.get("/enrolments", headers=headers))}

    assert set(listed(enrollment.grassroots())) == {sent["enrolment_id"], nominated["enrolment_id"]}
    assert listed(enrollment.grassroots(OTHER_UNION, OTHER_UNIT)) == {}
    assert listed(enrollment.officer(OTHER_UNIT)) == {}
    for caller in (enrollment.officer(), enrollment.admin(), enrollment.institution("GZ-ZGJS")):
        seen = listed(caller)[sent["enrolment_id"]]
        assert (seen["resident_id"], seen["phone"]) == (masked_id, "138****0001")
    assert set(listed(enrollment.officer())) == {sent["enrolment_id"], nominated["enrolment_id"]}
    assert set(listed(enrollment.institution("GZ-ZGJS"))) == {sent["enrolment_id"]}, "only what was sent to it"
    assert listed(enrollment.institution("GZ-GCJS")) == {}
    own = listed(enrollment.employee(sent["employee_id"]))
    assert set(own) == {sent["enrolment_id"]} and own[sent["enrolment_id"]]["resident_id"] == full_id
    hidden = enrollment.client.get(
        f"/enrolments/{sent['enrolment_id']}", headers=enrollment.grassroots(OTHER_UNION, OTHER_UNIT)
    )
    assert hidden.status_code == 404
    assert (
        enrollment.client.post(
            f"/enrolments/{nominated['enrolment_id']}/objections",
            headers=enrollment.officer(),
            json={"raised_on": today().isoformat(), "summary": "x"},
        ).status_code
        == 403
    )
    filtered = enrollment.ok(
        enrollment.client.get(
            "/enrolments", query_string={"status": "sent", "campaign_id": CAMPAIGN}, headers=enrollment.admin()
        )
    )
    assert [e["enrolment_id"] for e in filtered] == [sent["enrolment_id"]]


COLUMNS = [
    "姓名 Name",
    "身份证号 Resident ID number",
    "手机号码 Mobile phone",
    "文化程度 Education",
    "推荐理由 Attestation",
    "项目编号 Programme id",
]


def _row(seq, **change):
    p = person(seq, **change)
    return [
        p["name"],
        p["resident_id"],
        int(p["phone"]),
        p["education"],
        p["attestation"],
        change.get("programme_id", SKILLS),
    ]


def test_bulk_nomination_is_all_or_nothing_with_errors_per_row(enrollment):
    enrollment.ok(enrollment.nominate(9), 201)
    form = {"campaign_id": CAMPAIGN, "notice_start": today().isoformat()}
    bad_check = resident_id(3)[:17] + ("0" if resident_id(3)[17] != "0" else "1")
    rows = [
        COLUMNS,
        _row(1),
        _row(2, programme_id="NOPE"),
        _row(3, resident_id=bad_check),
        _row(9),
        _row(1),
        _row(4, programme_id=ACADEMIC),
    ]
    refused = enrollment.client.post(
        "/enrolments/import", headers=enrollment.grassroots(), data={**form, "file": (xlsx(rows), "推荐名单.xlsx")}
    )
    assert refused.status_code == 422, refused.get_data(as_text=True)
    report = {r["row"]: r["errors"] for r in refused.get_json()["errors"]["rows"]}
    assert set(report) == {4}, "field errors come first: the ID number of row 4"
    assert "resident_id" in report[4]

    rows[3] = _row(3)
    rows.insert(2, [None] * len(COLUMNS))  # a blank line: skipped, yet the report names the sheet's own rows
    refused = enrollment.client.post(
        "/enrolments/import", headers=enrollment.grassroots(), data={**form, "file": (xlsx(rows), "推荐名单.xlsx")}
    )
    report = {r["row"]: r["errors"] for r in refused.get_json()["errors"]["rows"]}
    assert set(report) == {4, 6, 7}  # unknown programme, already nominated, the same person twice in the file
    assert report[4] == {"programme_id": ["培训项目：不是已发布的培训项目。"]}
    assert report[6] == report[7] == {"resident_id": ["身份证号：本年度已有在读的skills类报读记录。"]}
    assert len(enrollment.ok(enrollment.client.get("/enrolments", headers=enrollment.grassroots()))) == 1

    good = [COLUMNS, _row(1), _row(3), _row(4, programme_id=ACADEMIC)]
    created = enrollment.ok(
        enrollment.client.post(
            "/enrolments/import", headers=enrollment.grassroots(), data={**form, "file": (xlsx(good), "推荐名单.xlsx")}
        ),
        201,
    )
    assert [(e["name"], e["kind"], e["grassroots_union_id"]) for e in created] == [
        ("职工1", "skills", UNION),
        ("职工3", "skills", UNION),
        ("职工4", "academic", UNION),
    ]


def test_racing_nominations_of_one_employee_leave_exactly_one(enrollment):
    """Row locks and the database's one-active-enrolment index decide, whichever request checks first."""
    enrollment.ok(enrollment.nominate(7, programme_id=ACADEMIC), 201)  # the employee is known already
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = sorted(
            (r.status_code, r.get_json().get("code")) for r in pool.map(lambda _: enrollment.nominate(7), range(6))
        )
    assert answers == [(201, None)] + [(409, "enrollment_already_enrolled")] * 5
    listed = enrollment.ok(enrollment.client.get("/enrolments", headers=enrollment.grassroots()))
    assert sorted(e["kind"] for e in listed) == ["academic", "skills"]


def test_a_unions_worklist_is_counted_by_the_list_filters(enrollment):
    """The 工作台's counts: in notice (notice_end after today), an objection open, consent recorded or not."""
    in_notice = enrollment.ok(enrollment.nominate(1), 201)
    objected = enrollment.ok(enrollment.nominate(2, days_ago=6), 201)
    consented = enrollment.ok(enrollment.nominate(3, days_ago=6), 201)
    enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{objected['enrolment_id']}/objections",
            headers=enrollment.grassroots(),
            json={"raised_on": today().isoformat(), "summary": "群众反映"},
        ),
        201,
    )
    enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{consented['enrolment_id']}/consent",
            json={"written_consent_on": today().isoformat()},
            headers=enrollment.grassroots(),
        )
    )

    def listed(**query) -> set[str]:
        answer = enrollment.client.get(
            "/enrolments", query_string={"count": "true", **query}, headers=enrollment.grassroots()
        )
        rows = enrollment.ok(answer)
        assert answer.headers["X-Total-Count"] == str(len(rows))
        return {row["enrolment_id"] for row in rows}

    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert in_notice["enrolment_id"] in listed(notice_end_from=tomorrow)
    assert listed(notice_end_from=tomorrow).isdisjoint({objected["enrolment_id"], consented["enrolment_id"]})
    assert listed(objection_open="true") == {objected["enrolment_id"]}
    assert listed(consent_recorded="true") == {consented["enrolment_id"]}
    assert consented["enrolment_id"] not in listed(consent_recorded="false")
    ready = listed(notice_end_to=today().isoformat(), consent_recorded="true", objection_open="false")
    assert ready == {consented["enrolment_id"]}


def test_a_registration_answers_with_the_objection_dismissed_in_the_notice_anonymous_to_the_institution(enrollment):
    """The register answer shows the objections read under the enrolment's lock; who objected stays hidden from
    the institution."""
    path = f"/enrolments/{enrollment.ok(enrollment.nominate(3, days_ago=5), 201)['enrolment_id']}"
    grassroots = enrollment.grassroots()
    enrollment.ok(
        enrollment.client.post(f"{path}/consent", json={"written_consent_on": today().isoformat()}, headers=grassroots)
    )
    objection = enrollment.ok(
        enrollment.client.post(
            f"{path}/objections",
            headers=grassroots,
            json={"raised_on": today().isoformat(), "summary": "群众反映其并非一线岗位", "objector_name": "李四"},
        ),
        201,
    )["objections"][0]
    outcome = {"outcome": "dismissed", "note": "经核实为车间一线"}
    enrollment.ok(
        enrollment.client.post(
            f"{path}/objections/{objection['objection_id']}/outcome", json=outcome, headers=grassroots
        )
    )
    enrollment.ok(enrollment.client.post(f"{path}/confirm", headers=grassroots))
    enrollment.send_list()

    asked = enrollment.ok(enrollment.client.post(f"{path}/register", headers=enrollment.institution()), 202)
    [shown] = asked["objections"]
    assert (shown["objection_id"], shown["outcome"], shown["summary"]) == (
        objection["objection_id"],
        "dismissed",
        "群众反映其并非一线岗位",
    )
    assert (shown["objector_name"], shown["recorded_by"]) == (None, None)
    assert asked["classes"] == []
