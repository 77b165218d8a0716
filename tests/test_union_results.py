"""Union officers see their employees' exam results (retakes included) and certificates, through the gateway and
in the portal: evaluation learns each enrolment's grassroots union from enrollment's events, so a grassroots
union's officer sees its own union's only and a first-level unit's officer its unions', names masked."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from demo.client import eventually
from demo.data import person
from demo.scenario import ELECTRICIAN
from servicekit.personal import mask_name

from .support.browser import log_in
from .support.campaign import ADMIN, PASSWORD, Flows, shared_system
from .support.portal import portal_before

pytestmark = pytest.mark.servers
INSTITUTION = "GZ-GCJS"
OURS, SISTER = "GZ-TH-G1", "GZ-TH-G2"  # two grassroots unions of the first-level unit GZ-TH
FAILED_FIRST, PASSED, SISTERS = 61, 62, 63  # workers: a retake, a pass, the sister union's


@pytest.fixture(scope="module")
def system(servers, vhost, tmp_path_factory):
    """Three registered electricians: one fails and passes a retake, every one gets a certificate."""
    tmp = tmp_path_factory.mktemp("union-results")
    with shared_system(servers, vhost, tmp) as url:
        flows = Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()
        flows.plan("GZ-TH", [ELECTRICIAN])
        rows = {
            number: flows.sent(union, number, ELECTRICIAN)
            for number, union in ((FAILED_FIRST, OURS), (PASSED, OURS), (SISTERS, SISTER))
        }
        for row in rows.values():
            assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
        machine = flows.machine(INSTITUTION)

        def batch(lines):
            flows.until_accepted(
                lambda: machine.post(
                    "/api/evaluation/results/batches", {"lines": lines}, headers={"Idempotency-Key": str(uuid.uuid4())}
                ),
                "evaluation to know the enrolments",
                retry_on=(422,),
            )

        exam = {"exam": "电工中级职业技能鉴定", "held_on": flows.day(-2)}
        batch(
            [
                {**exam, "enrolment_id": rows[n]["enrolment_id"], "score": score, "passed": passed}
                for n, score, passed in (
                    (FAILED_FIRST, "52.00", False),
                    (PASSED, "81.50", True),
                    (SISTERS, "77.00", True),
                )
            ]
        )
        batch(
            [
                {
                    **exam,
                    "enrolment_id": rows[FAILED_FIRST]["enrolment_id"],
                    "held_on": flows.day(0),
                    "score": "74.00",
                    "passed": True,
                }
            ]
        )
        for index, number in enumerate(rows, 1):
            machine.post(
                "/api/evaluation/certificates",
                {
                    "enrolment_id": rows[number]["enrolment_id"],
                    "number": f"GCJS-U-{index:04d}",
                    "issued_on": flows.day(0),
                },
            )
        with portal_before(url, tmp) as portal:
            yield flows, portal, rows


def test_through_the_gateway_each_officer_lists_only_its_employees(system):
    flows, _portal, rows = system
    ours = {rows[FAILED_FIRST]["enrolment_id"], rows[PASSED]["enrolment_id"]}
    union = flows.union_officer(OURS)
    results = eventually(
        lambda: (found := union.get("/api/evaluation/results", campaign_id=flows.campaign_id)) and found,
        "the union's results",
    )
    assert {r["enrolment_id"] for r in results} == ours
    retaken = sorted(
        (r["attempt"], r["passed"], r["retake"])
        for r in results
        if r["enrolment_id"] == rows[FAILED_FIRST]["enrolment_id"]
    )
    assert retaken == [(1, False, "free_later_class"), (2, True, None)]
    assert {r["holder_name_masked"] for r in results} == {mask_name(person(n)["name"]) for n in (FAILED_FIRST, PASSED)}
    certificates = union.get("/api/evaluation/certificates", campaign_id=flows.campaign_id)
    assert {c["enrolment_id"] for c in certificates} == ours
    # Asking for the sister union's rows by filter finds nothing: the officer's own union decides.
    assert union.get("/api/evaluation/certificates", grassroots_union_id=SISTER) == []
    assert {c["enrolment_id"] for c in flows.union_officer(SISTER).get("/api/evaluation/certificates")} == {
        rows[SISTERS]["enrolment_id"]
    }

    unit = flows.unit_officer("GZ-TH")
    page = unit.call("GET", "/api/evaluation/results", params={"limit": 2, "count": "true"}, raw=True)
    assert page.headers["X-Total-Count"] == "4" and len(page.json()) == 2 and 'rel="next"' in page.headers["Link"]
    passed = unit.get("/api/evaluation/results", passed="false")
    assert [r["enrolment_id"] for r in passed] == [rows[FAILED_FIRST]["enrolment_id"]]
    sister = unit.get("/api/evaluation/certificates", grassroots_union_id=SISTER)
    assert [c["enrolment_id"] for c in sister] == [rows[SISTERS]["enrolment_id"]]
    elsewhere = flows.unit_officer("GZ-ZS-JG")
    assert elsewhere.get("/api/evaluation/results") == [] and elsewhere.get("/api/evaluation/certificates") == []


def test_the_portal_shows_officers_results_retakes_and_certificates_masked(browser, system):
    flows, portal, rows = system
    flows.union_officer(OURS)  # the officers' accounts
    flows.unit_officer("GZ-TH")
    retaker, sister = person(FAILED_FIRST)["name"], person(SISTERS)["name"]

    page = log_in(browser, portal, f"{OURS.lower()}.union")
    page.get_by_role("link", name="成绩与证书").click()
    expect(page.get_by_role("heading", name="考试成绩与证书")).to_be_visible()
    retakes = page.get_by_role("row").filter(has_text=mask_name(retaker))
    expect(retakes).to_have_count(2)
    expect(retakes.filter(has_text="第 2 次")).to_contain_text("合格")
    expect(retakes.filter(has_text="随后续班级免费补考")).to_contain_text("不合格")
    assert retaker not in page.content() and mask_name(sister) not in page.content()
    page.get_by_label("结果").select_option(label="不合格")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("row").filter(has_text="52.00")).to_have_count(1)
    expect(page.get_by_role("row").filter(has_text="81.50")).to_have_count(0)
    page.get_by_role("link", name="证书", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="GCJS-U-")).to_have_count(2)
    expect(page.get_by_text("共 2 条")).to_be_visible()
    # The studies page (the list helper it shares with the institution's students page): its registered employees.
    page.get_by_role("link", name="职工学习情况").click()
    page.get_by_label("姓名或身份证号后几位").fill(retaker)
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("row").filter(has_text=retaker)).to_contain_text("已报名")
    expect(page.get_by_role("row").filter(has_text=person(PASSED)["name"])).to_have_count(0)

    unit = log_in(browser, portal, "gz-th.officer", width=390)  # a phone's width
    unit.get_by_role("link", name="成绩与证书").click()
    unit.get_by_role("link", name="证书", exact=True).click()
    expect(unit.get_by_role("row").filter(has_text="GCJS-U-")).to_have_count(3)
    unit.get_by_label("基层工会", exact=True).select_option(SISTER)
    unit.get_by_role("button", name="筛选").click()
    expect(unit.get_by_role("row").filter(has_text="GCJS-U-")).to_have_count(1)
    expect(unit.get_by_role("row").filter(has_text=mask_name(sister))).to_be_visible()
    unit.get_by_label("证书编号（开头几位）").fill("NO-SUCH")
    unit.get_by_role("button", name="筛选").click()
    expect(unit.get_by_text("尚未发证。")).to_be_visible()
