"""Institutions, the catalogue and its import, units' plans: over HTTP, events on the real broker."""

import pytest

from servicekit.bus.envelope import Envelope
from services.enrollment.tests.helpers import (
    ACADEMIC,
    CAMPAIGN,
    OTHER_UNIT,
    SKILLS,
    UNIT,
    Enrollment,
    campaign,
    programme,
    xlsx,
)
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers

SEVEN = {
    "广州职工教育网",
    "广州工程技术职业学院",
    "广州市工人文化宫（市一宫）",
    "广州市羊城职工职业培训学院（市二宫）",
    "广州市芳村工人文化宫",
    "广州市员村工人文化宫",
    "广州市职工技术交流中心（职工技协）",
}


def events(stack, tap, count: int) -> list[dict]:
    seen = []
    wait_for(
        lambda: seen.extend(stack.drain(tap)) or len(seen) >= count,
        timeout=60,
        message=f"{count} events on {tap.routing_key}",
    )
    return [Envelope.parse(m.body).data for m in seen]


@pytest.fixture
def service(stack_of):
    return Enrollment(stack_of("enrollment"))


def test_the_seven_institutions_exist_and_are_announced(service):
    tap = service.stack.tap("institution.registered")
    service.stack.worker()
    listed = service.ok(service.client.get("/institutions", headers=service.officer()))
    assert {i["name"] for i in listed} == SEVEN
    announced = events(service.stack, tap, 7)
    assert {(e["institution_id"], e["name"], e["revision"]) for e in announced} == {
        (i["institution_id"], i["name"], 1) for i in listed
    }

    renamed = service.ok(
        service.client.patch(
            "/institutions/GZ-FCG", json={"name": "广州市芳村工人文化宫（新）"}, headers=service.admin()
        )
    )
    assert renamed["revision"] == 2
    assert events(service.stack, tap, 1) == [
        {"institution_id": "GZ-FCG", "revision": 2, "name": "广州市芳村工人文化宫（新）"}
    ]
    clash = service.client.post(
        "/institutions", json={"institution_id": "GZ-NEW", "name": "广州职工教育网"}, headers=service.admin()
    )
    assert clash.status_code == 409 and clash.get_json()["code"] == "enrollment_already_exists"
    refused = service.client.post(
        "/institutions", json={"institution_id": "GZ-NEW", "name": "新机构"}, headers=service.officer()
    )
    assert refused.status_code == 403


def test_programme_is_a_draft_until_published_then_every_edit_is_announced(service):
    tap = service.stack.tap("programme.published")
    service.stack.worker()
    draft = service.ok(service.client.put(f"/programmes/{SKILLS}", json=programme(), headers=service.admin()), 201)
    assert (draft["status"], draft["revision"], draft["fee_standard"]["tuition_or_training"]) == ("draft", 1, "2350.00")
    assert service.client.get(f"/programmes/{SKILLS}", headers=service.officer()).status_code == 404
    assert service.ok(service.client.get("/programmes", headers=service.officer())) == []

    service.ok(service.client.post(f"/programmes/{SKILLS}/publish", headers=service.admin()))
    edited = programme(fee_standard={**programme()["fee_standard"], "textbook": "75.50"})
    assert (
        service.ok(service.client.put(f"/programmes/{SKILLS}", json=edited, headers=service.admin()))["revision"] == 3
    )
    first, second = events(service.stack, tap, 2)
    assert (first["revision"], second["revision"]) == (2, 3)
    assert second == {
        "programme_id": SKILLS,
        "revision": 3,
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
        "level": "中级",
        "trade": "电工",
        "teaching_sites": ["越秀区解放南路", "上门办学"],
        "start_date": "2027-03-01",
        "on_site_teaching": True,
        "fee_standard": {**programme()["fee_standard"], "textbook": "75.50"},
    }
    listed = service.ok(service.client.get("/programmes", query_string={"kind": "skills"}, headers=service.officer()))
    assert [p["programme_id"] for p in listed] == [SKILLS]


def test_an_institution_makes_and_edits_its_own_programmes_and_sees_its_drafts_the_federation_publishes(service):
    own, other = service.institution("GZ-ZGJS"), service.institution("GZ-FCG")
    draft = service.ok(service.client.put(f"/programmes/{SKILLS}", json=programme(), headers=own), 201)
    assert (draft["status"], draft["institution_id"]) == ("draft", "GZ-ZGJS")
    assert service.ok(service.client.get(f"/programmes/{SKILLS}", headers=own))["status"] == "draft"
    assert [p["programme_id"] for p in service.ok(service.client.get("/programmes", headers=own))] == [SKILLS]
    assert service.client.get(f"/programmes/{SKILLS}", headers=other).status_code == 404
    assert service.ok(service.client.get("/programmes", headers=other)) == []

    fees = {**programme()["fee_standard"], "tuition_or_training": "2400.00", "appraisal_exam": "180.00"}
    edited = service.ok(service.client.put(f"/programmes/{SKILLS}", json=programme(fee_standard=fees), headers=own))
    assert (edited["revision"], edited["fee_standard"]["tuition_or_training"]) == (2, "2400.00")
    # Another institution's programme, or one named for another institution: refused.
    taken = service.client.put(f"/programmes/{SKILLS}", json=programme(institution_id="GZ-FCG"), headers=other)
    assert taken.status_code == 409
    assert service.client.put("/programmes/FCG-NEW", json=programme(), headers=other).status_code == 403
    assert service.client.post(f"/programmes/{SKILLS}/publish", headers=own).status_code == 403


def test_the_federation_lists_the_drafts_and_sends_one_back_with_the_reason_until_the_institution_edits_it(service):
    own, admin = service.institution("GZ-ZGJS"), service.admin()
    service.ok(service.client.put(f"/programmes/{SKILLS}", json=programme(), headers=own), 201)
    service.ok(service.client.put(f"/programmes/{ACADEMIC}", json=programme(), headers=own), 201)
    service.ok(service.client.post(f"/programmes/{ACADEMIC}/publish", headers=admin))
    drafts = service.client.get("/programmes", query_string={"status": "draft", "count": "true"}, headers=admin)
    assert [p["programme_id"] for p in service.ok(drafts)] == [SKILLS] and drafts.headers["X-Total-Count"] == "1"

    blank = service.client.post(f"/programmes/{SKILLS}/return", json={"reason": " "}, headers=admin)
    assert blank.status_code == 422 and "reason" in blank.get_json()["errors"]
    assert service.client.post(f"/programmes/{SKILLS}/return", json={"reason": "x"}, headers=own).status_code == 403
    published = service.client.post(f"/programmes/{ACADEMIC}/return", json={"reason": "费用偏高"}, headers=admin)
    assert published.status_code == 409 and published.get_json()["code"] == "enrollment_programme_published"
    returned = service.ok(
        service.client.post(f"/programmes/{SKILLS}/return", json={"reason": "教材费偏高，请核实"}, headers=admin)
    )
    assert (returned["status"], returned["returned"]["reason"]) == ("draft", "教材费偏高，请核实")
    seen = service.ok(service.client.get("/programmes", query_string={"status": "draft"}, headers=own))
    assert [(p["programme_id"], p["returned"]["returned_by"]) for p in seen] == [(SKILLS, "fed-1")]
    trail = service.ok(
        service.client.get("/audit", query_string={"entity_type": "programme", "entity_id": SKILLS}, headers=admin)
    )
    assert (trail[0]["action"], trail[0]["reason"]) == ("programme.returned", "教材费偏高，请核实")

    fees = {**programme()["fee_standard"], "textbook": "40.00"}
    service.ok(service.client.put(f"/programmes/{SKILLS}", json=programme(fee_standard=fees), headers=own))
    assert service.ok(service.client.get(f"/programmes/{SKILLS}", headers=admin))["returned"] is None  # edited since
    assert service.ok(service.client.post(f"/programmes/{SKILLS}/publish", headers=admin))["returned"] is None


INVALID = [  # (what is wrong, the field named)
    ({"kind": "academic", "level": "大专"}, "major"),  # academic needs a major...
    ({"level": "硕士", "kind": "academic", "major": "机电", "trade": None}, "level"),
    ({"major": "机电"}, "major"),  # ...and skills has none
    ({"fee_standard": {**programme()["fee_standard"], "textbook": 60.5}}, "fee_standard"),
    ({"fee_standard": {**programme()["fee_standard"], "textbook": "-1.00"}}, "fee_standard"),
    ({"teaching_sites": []}, "teaching_sites"),
    ({"institution_id": "GZ-NOWHERE"}, "institution_id"),
]


def test_invalid_programmes_are_refused_with_the_field(service):
    for change, field in INVALID:
        body = {k: v for k, v in (programme() | change).items() if v is not None}
        refused = service.client.put("/programmes/P-BAD", json=body, headers=service.admin())
        assert refused.status_code == 422, (change, refused.get_data(as_text=True))
        assert field in refused.get_json()["errors"], change
    assert service.client.get("/programmes/P-BAD", headers=service.admin()).status_code == 404


HEADER = [
    "项目编号 Programme id",
    "机构编号 Institution id",
    "项目名称 Name",
    "类别 Kind (academic/skills)",
    "层次/等级 Level",
    "专业 Major",
    "工种 Trade",
    "教学点 Teaching sites",
    "开课日期 Start date",
    "上门办学 On-site teaching",
    "学费/培训费 Tuition or training fee",
    "鉴定考试费 Appraisal exam fee",
    "教材费 Textbook fee",
    "报名费 Registration fee",
    "入学测试费 Entrance-test fee",
]
GOOD = [
    "SYG-HG",
    "GZ-SYG",
    "焊工（初级）",
    "skills",
    "初级",
    None,
    "焊工",
    "荔湾区；上门办学",
    "2027-03-02",
    "是",
    1800,
    150,
    "45.5",
    0,
    0,
]
ACADEMIC_ROW = [
    "GCJS-KJ-BK",
    "GZ-GCJS",
    "会计（本科）",
    "academic",
    "本科",
    "会计学",
    None,
    "天河区",
    "2027-03-05",
    "否",
    7200,
    0,
    300,
    0,
    50,
]


def test_catalogue_import_is_all_or_nothing_with_a_report_per_row(service):
    bad = ["SYG-DG", "GZ-SYG", "电工", "skills", "初级", "机电", None, "荔湾区", "2027-13-01", "是", "abc", 0, 0, 0, 0]
    refused = service.client.post(
        "/programmes/import",
        data={"file": (xlsx([HEADER, GOOD, bad, ACADEMIC_ROW]), "目录.xlsx")},
        headers=service.admin(),
    )
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["code"] == "import_rejected"
    [row] = problem["errors"]["rows"]
    assert row["row"] == 3 and set(row["errors"]) == {"start_date", "fee_standard"}
    assert service.ok(service.client.get("/programmes", headers=service.admin())) == []

    imported = service.ok(
        service.client.post(
            "/programmes/import",
            headers=service.admin(),
            data={"file": (xlsx([HEADER, GOOD, ACADEMIC_ROW]), "目录.xlsx"), "publish": "true"},
        ),
        201,
    )
    assert imported == {"created": ["SYG-HG", "GCJS-KJ-BK"], "updated": [], "published": ["SYG-HG", "GCJS-KJ-BK"]}
    welding = service.ok(service.client.get("/programmes/SYG-HG", headers=service.officer()))
    assert welding["teaching_sites"] == ["荔湾区", "上门办学"] and welding["on_site_teaching"] is True
    assert welding["fee_standard"] == {
        "tuition_or_training": "1800.00",
        "appraisal_exam": "150.00",
        "textbook": "45.50",
        "registration": "0.00",
        "entrance_test": "0.00",
    }

    csv = ",".join(HEADER) + "\n" + ",".join("" if v is None else str(v) for v in GOOD).replace("1800", "1900")
    again = service.ok(
        service.client.post(
            "/programmes/import",
            headers=service.admin(),
            data={"file": (__import__("io").BytesIO(csv.encode("utf-8-sig")), "目录.csv")},
        ),
        201,
    )
    assert again == {"created": [], "updated": ["SYG-HG"], "published": []}
    assert service.ok(service.client.get("/programmes/SYG-HG", headers=service.officer()))["revision"] == 3


def test_a_unit_records_its_plan_of_published_programmes(service):
    service.deliver("campaign.published", campaign())
    service.publish_programme(SKILLS, programme("skills"))
    service.ok(service.client.put(f"/programmes/{ACADEMIC}", json=programme("academic"), headers=service.admin()), 201)
    path = f"/units/{UNIT}/plans/{CAMPAIGN}"

    draft = service.client.put(path, json={"programme_ids": [SKILLS, ACADEMIC]}, headers=service.officer())
    assert draft.status_code == 422 and draft.get_json()["errors"] == {
        "programme_ids": [f"培训项目：不是已发布的培训项目：{ACADEMIC}"]
    }
    plan = service.ok(service.client.put(path, json={"programme_ids": [SKILLS]}, headers=service.officer()))
    assert ([p["programme_id"] for p in plan["programmes"]], plan["institution_ids"]) == ([SKILLS], ["GZ-ZGJS"])
    assert service.ok(service.client.get(path, headers=service.admin())) == plan
    assert service.client.put(path, json={"programme_ids": []}, headers=service.officer(OTHER_UNIT)).status_code == 403
    assert service.client.get(path, headers=service.officer(OTHER_UNIT)).status_code == 403
    unknown = service.client.put(
        f"/units/{UNIT}/plans/00000000-0000-4000-8000-000000000000",
        json={"programme_ids": [SKILLS]},
        headers=service.officer(),
    )
    assert unknown.status_code == 422
