"""Union officers see their employees' results (retakes included) and certificates: a grassroots union's officer
only its own union's, a first-level unit's officer its unions'; each row with the masked name, never the full one."""

import pytest

from .helpers import line

pytestmark = pytest.mark.servers


def test_each_union_officer_sees_only_its_employees_results_and_certificates(evaluation):
    ours = evaluation.enrol(grassroots_union_id="G-1", holder_name_masked="张*明")
    sister = evaluation.enrol(grassroots_union_id="G-2", holder_name_masked="李*")
    elsewhere = evaluation.enrol(unit_id="U-TIANHE", grassroots_union_id="G-9")
    assert (
        evaluation.post_batch(
            [line(ours, passed=False, score="52.00"), line(sister), line(elsewhere), line(ours, held_on="2014-06-10")]
        ).status_code
        == 201
    )
    for number, student in (("ZGJS-1", ours), ("ZGJS-2", sister), ("ZGJS-3", elsewhere)):
        issued = evaluation.client.post(
            "/certificates",
            headers=evaluation.institution(),
            json={"enrolment_id": student["enrolment_id"], "number": number, "issued_on": "2014-06-20"},
        )
        assert issued.status_code == 201, issued.get_json()

    grassroots = evaluation.stack.as_caller("grassroots_officer", subject="user-g1", grassroots_union_id="G-1")
    results = evaluation.client.get("/results", headers=grassroots, query_string={"sort": "held_on"}).get_json()
    assert [(r["enrolment_id"], r["attempt"], r["passed"], r["retake"], r["holder_name_masked"]) for r in results] == [
        (ours["enrolment_id"], 1, False, "free_later_class", "张*明"),
        (ours["enrolment_id"], 2, True, None, "张*明"),
    ]
    certificates = evaluation.client.get("/certificates", headers=grassroots).get_json()
    assert [(c["number"], c["holder_name_masked"]) for c in certificates] == [("ZGJS-1", "张*明")]

    unit = evaluation.stack.as_caller("unit_officer", subject="user-haizhu", unit_id="U-HAIZHU")
    seen = evaluation.client.get("/results", headers=unit, query_string={"passed": "true", "count": "true"})
    assert seen.headers["X-Total-Count"] == "2"
    assert {r["enrolment_id"] for r in seen.get_json()} == {ours["enrolment_id"], sister["enrolment_id"]}
    one_union = evaluation.client.get("/certificates", headers=unit, query_string={"grassroots_union_id": "G-2"})
    assert [c["number"] for c in one_union.get_json()] == ["ZGJS-2"]
    by_number = evaluation.client.get("/certificates", headers=unit, query_string={"q": "ZGJS-3"})
    assert by_number.get_json() == []  # another unit's certificate, even by its number

    # The officer's union decides, not a filter the officer sends.
    asked = evaluation.client.get("/results", headers=grassroots, query_string={"grassroots_union_id": "G-2"})
    assert asked.get_json() == []
    paged = evaluation.client.get("/results", headers=grassroots, query_string={"limit": 1})
    assert len(paged.get_json()) == 1 and 'rel="next"' in paged.headers["Link"]
