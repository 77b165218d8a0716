"""The portal's employee and public pages of part 2 in a real browser against the real stack (as
tests/test_portal_institution.py): an employee on a phone downloads everything held about them and asks for a
correction the union decides, sees their class (when, where, with whom); a visitor reads a union's public notice
(masked ID numbers, only by the union's link) and objects after logging in; the survey's results stay hidden from
the federation and the institution until 5 answers exist."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from demo.data import person
from demo.scenario import ELECTRICIAN, answer_survey

from .support.browser import TIMEOUT_MS, log_in
from .support.campaign import ADMIN, PASSWORD, Flows, shared_system
from .support.portal import portal_before
from .test_portal_institution import nominated

pytestmark = pytest.mark.servers  # the browser (Debian's Chromium, skipped without it): tests/support/browser.py
INSTITUTION, OTHER_INSTITUTION, UNION = "GZ-GCJS", "GZ-ZGJS", "GZ-TH-G1"


@pytest.fixture(scope="module")
def system(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal-employee")
    with shared_system(servers, vhost, tmp) as url:
        flows = Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()
        flows.plan("GZ-TH", [ELECTRICIAN])
        with portal_before(url, tmp) as portal:
            yield flows, portal


def employee_login(flows, number: int) -> str:
    """An account for worker `number` (their resident ID number makes them the employee)."""
    username = f"worker{number}"
    flows.fed.post(
        "/auth/users",
        {"username": username, "password": PASSWORD, "role": "employee", "resident_id": person(number)["resident_id"]},
    )
    return username


def test_an_employee_downloads_their_data_asks_a_correction_and_sees_their_class(browser, system):
    flows, portal = system
    worker = person(21)
    row = flows.sent(UNION, 21, ELECTRICIAN)
    assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
    flows.pay_in_full(INSTITUTION, row["enrolment_id"])
    klass = flows.operator(INSTITUTION).post(
        "/api/enrollment/classes",
        {
            "campaign_id": flows.campaign_id,
            "programme_id": ELECTRICIAN,
            "opens_on": flows.day(14),
            "site": "广州工程技术职业学院天河校区",
            "public_class_name": "电工中级社会班（周末班）",
            "head_teacher": "陈志明",
        },
    )
    # The institution's timetable: two weekend lessons, given in reverse order.
    opens = flows.today + timedelta(days=14)
    saturday = opens + timedelta(days=(5 - opens.weekday()) % 7)
    for day, course in ((saturday + timedelta(days=1), "电气识图"), (saturday, "电工基础与安全用电")):
        flows.operator(INSTITUTION).post(
            f"/api/enrollment/classes/{klass['class_id']}/lessons",
            {"day": day.isoformat(), "starts": "09:00", "ends": "12:00", "course": course, "teacher": "刘建华"},
        )
    page = log_in(browser, portal, employee_login(flows, 21), width=390)  # on a phone

    # Their class: when it opens, where, with whom.
    page.get_by_role("link", name="我的班级").first.click()
    expect(page.get_by_role("heading", name="电工中级社会班（周末班）")).to_be_visible()
    facts = page.locator("dl.facts")
    for shown in ("广州工程技术职业学院天河校区", "陈志明", flows.day(14)):
        expect(facts).to_contain_text(shown)
    # Its timetable as cards, in date order, the weekday in Chinese; no "the head teacher announces" any more.
    cards = page.get_by_test_id("lessons").get_by_role("listitem")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text(f"{saturday.isoformat()} 周六 09:00–12:00")
    expect(cards.nth(0)).to_contain_text("电工基础与安全用电")
    expect(cards.nth(0)).to_contain_text("下一节")
    expect(cards.nth(1)).to_contain_text("周日")
    expect(cards.nth(1)).to_contain_text("刘建华")
    expect(page.get_by_text("每次课的具体时间由班主任通知")).to_have_count(0)

    # Everything held about them: the workbook and the JSON, with their own full ID number.
    page.get_by_role("link", name="我的个人信息").first.click()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel 表格").click()
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    assert {"gateway.account", "enrollment.enrolments"} <= set(book.sheetnames)
    cells = [str(c) for sheet in book for line in sheet.iter_rows(values_only=True) for c in line]
    assert worker["resident_id"] in cells
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 JSON 文件").click()
    held = json.loads(download.value.path().read_text())
    assert set(held["services"]) == {"gateway", "enrollment", "finance", "evaluation"}

    # A correction: the portal's and the service's refusals next to their fields, then the request.
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#reason-error")).to_contain_text("请说明为什么需要更正")
    page.get_by_label("要更正的信息").select_option("phone")
    page.get_by_label("正确的内容").fill("1391234")
    page.get_by_label("更正理由").fill("换了新手机号")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#requested_value-error")).to_be_visible()
    page.get_by_label("正确的内容").fill("13912345678")
    page.get_by_label("更正理由").fill("换了新手机号")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.get_by_role("status").first).to_contain_text("已提交更正申请")
    expect(page.get_by_role("row").filter(has_text="13912345678")).to_contain_text("待处理")

    officer = flows.union_officer(UNION)
    [asked] = officer.get("/api/enrollment/corrections", state="open")
    officer.post(
        f"/api/enrollment/corrections/{asked['request_id']}/decision", {"decision": "accept", "reason": "核实无误"}
    )
    page.reload()
    expect(page.get_by_role("row").filter(has_text="13912345678")).to_contain_text("已更正")
    expect(page.get_by_role("row").filter(has_text="13912345678")).to_contain_text("核实无误")
    page.context.close()


def test_a_visitor_reads_a_unions_public_notice_masked_and_objects_after_logging_in(browser, system):
    flows, portal = system
    nominee = person(22)
    row = nominated(flows, 22, notice_start=flows.day(-1))
    objector = employee_login(flows, 23)

    # The union's link to its notice (the campaign and the union: nothing else lists it).
    officer = log_in(browser, portal, "tianhe.union1")
    officer.get_by_role("link", name="公示与异议").click()
    link = officer.get_by_test_id("public-notice-link").get_attribute("href")
    officer.context.close()
    assert flows.campaign_id in link and UNION in link

    visitor = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    visitor.set_default_timeout(TIMEOUT_MS)
    for partial in (
        "/public/notices",
        f"/public/notices?campaign={flows.campaign_id}",
        f"/public/notices?union={UNION}",
    ):
        visitor.goto(portal + partial)
        expect(visitor.get_by_text("请通过基层工会公布的链接")).to_be_visible()
    visitor.goto(f"{portal}/public/notices?campaign={flows.campaign_id}&union=GZ-TH-G2")
    expect(visitor.get_by_text("目前没有正在公示的推荐人选")).to_be_visible()  # another union's: not this one's
    visitor.goto(link)
    listed = visitor.get_by_role("row").filter(has_text=nominee["name"])
    expect(listed).to_contain_text("**")
    content = visitor.content()
    assert nominee["resident_id"] not in content and nominee["phone"] not in content

    # Objecting needs a login: to the login page and back to the form.
    listed.get_by_role("link", name="提出异议").click()
    expect(visitor).to_have_url(re.compile(r"/login\?next="))
    visitor.get_by_label("用户名", exact=True).fill(objector)
    visitor.get_by_label("密码", exact=True).fill(PASSWORD)
    visitor.get_by_role("button", name="登录").click()
    expect(visitor.get_by_role("heading", level=1)).to_contain_text(f"对 {nominee['name']} 的推荐提出异议")
    visitor.get_by_role("button", name="提交异议").click()
    expect(visitor.locator("#objector_name-error")).to_contain_text("请填写您的姓名")
    expect(visitor.locator("#summary-error")).to_contain_text("请填写异议内容")
    visitor.get_by_label("您的姓名").fill(person(23)["name"])
    visitor.get_by_label("异议内容").fill("该职工本年度有安全操作违规记录")
    visitor.get_by_role("button", name="提交异议").click()
    expect(visitor.get_by_role("status").first).to_contain_text("已提交异议")
    visitor.context.close()
    [objection] = flows.union_officer(UNION).get(f"/api/enrollment/enrolments/{row['enrolment_id']}")["objections"]
    assert (objection["objector_name"], objection["summary"]) == (person(23)["name"], "该职工本年度有安全操作违规记录")


def test_survey_results_stay_hidden_from_the_federation_and_the_institution_until_five_answers(browser, system):
    flows, portal = system
    students = []
    for number in range(31, 36):
        row = flows.sent(UNION, number, ELECTRICIAN)
        assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
        students.append(flows.user(employee_login(flows, number)))
    survey = flows.fed.post(
        "/api/evaluation/surveys",
        {"campaign_id": flows.campaign_id, "institution_id": INSTITUTION, "closes_on": flows.day(10)},
    )
    flows.fed.post(
        "/api/evaluation/surveys",
        {"campaign_id": flows.campaign_id, "institution_id": OTHER_INSTITUTION, "closes_on": flows.day(10)},
    )
    names = {i["institution_id"]: i["name"] for i in flows.fed.get("/api/enrollment/institutions")}
    answer = {"teaching": 5, "service": 4, "organisation": 4, "comment": "实操课时可以再多一些"}
    for student in students[:4]:
        assert answer_survey(student, flows.gateway, survey["survey_id"], answer)

    federation = log_in(browser, portal, ADMIN[0], ADMIN[1])
    federation.get_by_role("link", name="满意度调查结果").click()
    for institution in (INSTITUTION, OTHER_INSTITUTION):  # 4 answers and none: nothing shown
        region = federation.get_by_role("region", name=names[institution])
        expect(region).to_contain_text("答卷不足5份，暂不公布")
    assert "实操课时" not in federation.locator("main").inner_text()

    assert answer_survey(students[4], flows.gateway, survey["survey_id"], answer)
    federation.reload()
    shown = federation.get_by_role("region", name=names[INSTITUTION])
    expect(shown).to_contain_text("5 份")
    expect(shown.get_by_role("row").filter(has_text="教学质量")).to_contain_text("5.00")
    expect(shown).to_contain_text("实操课时可以再多一些")
    expect(federation.get_by_role("region", name=names[OTHER_INSTITUTION])).to_contain_text("答卷不足5份")
    federation.context.close()

    operator = log_in(browser, portal, "gcjs.operator", width=390)
    operator.get_by_role("link", name="满意度调查结果").click()
    expect(operator.get_by_role("region", name=names[INSTITUTION])).to_contain_text("5 份")
    expect(operator.get_by_role("region", name=names[OTHER_INSTITUTION])).to_have_count(0)  # its own only
    operator.context.close()
