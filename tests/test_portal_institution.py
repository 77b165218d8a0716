"""The portal's part 2 in a real browser against the real stack (as tests/test_portal.py): the institution's
staff registers the list a union sent, records a payment, opens a dedicated class with its head teacher and
assistant, submits the roster before its working-day deadline and sees the federation's review, enters an exam
result and its retake, and issues a certificate. The campaign's dedicated-class threshold is 3 here (30 in the
demo), so four students make a dedicated class."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import openpyxl
import pytest
import requests
from playwright.sync_api import expect

from demo.data import person
from demo.scenario import ELECTRICIAN
from gateway.signatures import genuine
from portal.views.institution import signing_example

from .support.browser import accept_dialogs, log_in
from .support.campaign import ADMIN, PASSWORD, Flows, shared_system
from .support.portal import portal_first
from .test_portal import xlsx

pytestmark = pytest.mark.servers  # the browser (Debian's Chromium, skipped without it): tests/support/browser.py
INSTITUTION, UNION, NUMBERS = "GZ-GCJS", "GZ-TH-G1", (71, 72, 73, 74)


@pytest.fixture(scope="module")
def system(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal2")
    # The portal first: the gateway lets its pages send survey answers (CORS names the portal's origin).
    with (
        portal_first(tmp) as portal,
        shared_system(servers, vhost, tmp, gateway_env={"GATEWAY_CORS_ORIGINS": portal.url}) as url,
    ):
        flows = Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None)
        flows.body = {**flows.body, "dedicated_class_threshold": 3}
        flows.set_up()
        flows.plan("GZ-TH", [ELECTRICIAN])
        yield flows, portal.at(url)


def nominated(flows, number: int, notice_start: str) -> dict:
    """Worker `number` nominated by the union, without consent yet."""
    return flows.union_officer(UNION).post(
        "/api/enrollment/enrolments",
        {
            **person(number),
            "campaign_id": flows.campaign_id,
            "programme_id": ELECTRICIAN,
            "notice_start": notice_start,
            "attestation": "职工代表大会民主推荐：一线生产骨干",
            "recommendation": {"meeting_on": flows.day(-8), "method": "evaluation"},
        },
    )


def until(page, url: str, shown, what: str, seconds: float = 120):
    """Open `url` again until `shown(page)` is true (the services answer through events: slow on a loaded
    machine); fails with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        page.goto(url)
        if shown(page):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not shown in {seconds}s: {what}")
        page.wait_for_timeout(500)


def test_institution_registers_a_sent_list_opens_a_dedicated_class_submits_its_roster_and_enters_results(
    browser, system
):
    flows, portal = system
    rows = [flows.sent(UNION, number, ELECTRICIAN) for number in NUMBERS]
    names = [person(number)["name"] for number in NUMBERS]
    page = log_in(browser, portal, "gcjs.operator")
    accept_dialogs(page)

    # The list sent: every student ticked and registered; quota's answers arrive through events.
    page.get_by_role("link", name="学员报名").click()
    for name in names:
        expect(page.get_by_role("row").filter(has_text=name)).to_be_visible()
        assert person(NUMBERS[0])["resident_id"] not in page.content()  # masked for the institution
    page.get_by_label("全选").check()
    page.get_by_role("button", name="报名登记").click()
    expect(page.get_by_role("status").first).to_contain_text("已提交 4 人")
    until(
        page,
        f"{portal}/institution/students?status=registered",
        lambda p: all(p.get_by_role("row").filter(has_text=name).count() for name in names),
        "the four registered",
    )

    # A payment recorded by hand: a wrong amount refused next to its field, then the breakdown's total.
    student = f"{portal}/institution/students/{rows[0]['enrolment_id']}"
    until(page, student, lambda p: p.get_by_text("应缴合计").count() > 0, "finance's breakdown")
    total = re.search(r"应缴合计\s*([\d.]+)", page.locator("dl.pairs").inner_text()).group(1)
    page.get_by_label("缴费金额（元）").fill("12.345")
    page.get_by_role("button", name="登记缴费").click()
    expect(page.locator("#payment-amount-error")).to_contain_text("两位小数")
    page.get_by_label("缴费金额（元）").fill(total)
    page.get_by_label("票据号").fill("POS-0001")
    page.get_by_role("button", name="登记缴费").click()
    expect(page.get_by_role("status").first).to_contain_text(f"已登记缴费 {total} 元")
    expect(page.get_by_role("row").filter(has_text="POS-0001")).to_be_visible()
    for row in rows[1:]:
        flows.pay_in_full(INSTITUTION, row["enrolment_id"])

    # A dedicated class (4 > the threshold of 3): a head teacher and an assistant; the roster's deadline in
    # working days; submitted; the federation's review shown.
    until(
        page,
        f"{portal}/institution/classes",
        lambda p: p.get_by_role("row").filter(has_text="单独开班").filter(has_text="4").count() > 0,
        "the four paid and waiting",
    )
    page.get_by_label("培训项目").select_option(ELECTRICIAN)
    page.get_by_label("教学地点").fill("广州工程技术职业学院天河校区")
    page.get_by_label("班主任").fill("陈志明")
    page.get_by_label("学习助理").fill("黄晓琳")
    page.get_by_role("button", name="开班").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("待报送")
    for name in names:
        expect(page.get_by_role("row").filter(has_text=name)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"还有 \d+ 个工作日"))
    expect(page.locator("dl.facts")).to_contain_text("陈志明")

    # Its timetable (课表): lessons at the weekend; an overlap refused next to its field; a lesson moved and one
    # cancelled with its reason after a confirmation; a spreadsheet with bad rows refused whole, row by row.
    opens = flows.today + timedelta(days=14)  # the form's opening day
    saturday = opens + timedelta(days=(5 - opens.weekday()) % 7)
    timetable = page.locator("#timetable")

    def add_lesson(day, starts: str, ends: str, course: str) -> None:
        timetable.get_by_label("上课日期").fill(day.isoformat())
        timetable.get_by_label("开始时间").fill(starts)
        timetable.get_by_label("结束时间").fill(ends)
        timetable.get_by_label("课程", exact=True).fill(course)
        timetable.get_by_label("授课教师").fill("陈志明")
        timetable.get_by_role("button", name="添加课程").click()

    add_lesson(saturday, "09:00", "12:00", "电工基础与安全用电")
    expect(page.get_by_role("status").first).to_contain_text("已添加课程")
    lessons = page.get_by_test_id("lessons")
    expect(lessons.get_by_role("row").filter(has_text="电工基础与安全用电")).to_contain_text("周六")
    add_lesson(saturday, "11:00", "13:00", "低压电器安装实训")
    expect(page.locator("#lesson-starts-error")).to_contain_text("重叠")
    add_lesson(saturday, "14:00", "17:00", "低压电器安装实训")
    expect(lessons.get_by_role("row").filter(has_text="低压电器安装实训")).to_contain_text("14:00–17:00")
    lessons.get_by_role("row").filter(has_text="低压电器安装实训").get_by_role("link", name="修改").click()
    timetable.get_by_label("上课日期").fill((saturday + timedelta(days=1)).isoformat())
    timetable.get_by_label("修改原因").fill("实训室周六检修")
    timetable.get_by_role("button", name="保存修改").click()
    expect(lessons.get_by_role("row").filter(has_text="低压电器安装实训")).to_contain_text("周日")
    first = lessons.get_by_role("row").filter(has_text="电工基础与安全用电")
    first.get_by_placeholder("取消原因").fill("授课教师出差")
    first.get_by_role("button", name="取消课程").click()  # the confirmation is accepted
    expect(lessons.get_by_role("row").filter(has_text="电工基础与安全用电")).to_contain_text("已取消")
    expect(lessons.get_by_role("row").filter(has_text="电工基础与安全用电")).to_contain_text("授课教师出差")
    with page.expect_download() as download:
        timetable.get_by_role("link", name="下载模板（.xlsx）").click()
    header = template_header(download.value)
    assert header == ["日期 Day", "开始 Starts", "结束 Ends", "地点 Place", "课程 Course", "授课教师 Teacher"]
    week = (saturday + timedelta(days=7)).isoformat()
    good = [week, "09:00", "12:00", "实训楼 201", "电气识图", "刘建华"]
    clash = [(saturday + timedelta(days=1)).isoformat(), "15:00", "16:00", None, "电气识图", "刘建华"]
    early = [(opens - timedelta(days=1)).isoformat(), "09:00", "12:00", None, "电气识图", "刘建华"]
    uploaded(timetable, "选择文件（.xlsx）", "课表.xlsx", xlsx([header, good, clash, early]))
    timetable.get_by_role("button", name="导入").click()
    expect(timetable.get_by_role("alert")).to_contain_text("第 3 行")
    expect(timetable.get_by_role("alert")).to_contain_text("第 4 行")
    expect(lessons.get_by_role("row").filter(has_text="电气识图")).to_have_count(0)  # nothing imported
    uploaded(timetable, "选择文件（.xlsx）", "课表.xlsx", xlsx([header, good]))
    timetable.get_by_role("button", name="导入").click()
    expect(page.get_by_role("status").first).to_contain_text("已加入 1 节课")
    expect(lessons.get_by_role("row").filter(has_text="电气识图")).to_contain_text("实训楼 201")

    page.get_by_role("button", name="报送花名册").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("审核中")
    class_id = urlsplit(page.url).path.rsplit("/", 1)[1]  # the timetable's steps left #timetable on the URL
    flows.fed.post(
        f"/api/enrollment/classes/{class_id}/review", {"decision": "approve", "comments": "名单齐全，同意开班"}
    )
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("审核通过")
    expect(page.locator("dl.facts")).to_contain_text("名单齐全，同意开班")

    # Results: a fail, then the retake passes; then the certificate.
    page.goto(student)
    page.get_by_label("考试名称").fill("电工中级职业技能鉴定")
    page.get_by_label("成绩", exact=True).fill("52")
    page.get_by_label("是否合格").select_option("no")
    page.get_by_label("考试日期").fill((flows.today - timedelta(days=2)).isoformat())
    for _attempt in range(120):  # evaluation hears of the student through events
        page.get_by_role("button", name="登记成绩").click()
        if page.get_by_role("status").filter(has_text="已登记考试成绩").count():
            break
        page.wait_for_timeout(500)
    expect(page.get_by_role("row").filter(has_text="第 1 次")).to_contain_text("不合格")
    page.get_by_label("成绩", exact=True).fill("74")
    page.get_by_label("是否合格").select_option("yes")
    page.get_by_label("考试日期").fill((flows.today - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="登记成绩").click()  # the same day again: refused, the reason shown
    expect(page.get_by_role("alert")).to_contain_text("已登记")
    page.get_by_label("考试日期").fill(flows.today.isoformat())
    page.get_by_role("button", name="登记成绩").click()
    expect(page.get_by_role("row").filter(has_text="第 2 次")).to_contain_text("合格")
    page.get_by_label("证书编号").fill("GZ-GCJS-2099-0001")
    page.get_by_role("button", name="登记证书").click()
    expect(page.get_by_role("status").first).to_contain_text("已登记证书")
    expect(page.get_by_text("GZ-GCJS-2099-0001")).to_be_visible()

    # A status change asked for another student: a withdrawal, waiting for the unit's agreement.
    page.goto(f"{portal}/institution/students/{rows[3]['enrolment_id']}")
    page.get_by_label("变动类型").select_option("withdrawal")
    page.get_by_label("变动原因").fill("本人因工作调动申请退学")
    page.get_by_role("button", name="提出申请").click()
    expect(page.get_by_role("row").filter(has_text="本人因工作调动申请退学")).to_contain_text("待单位工会同意")

    page.get_by_role("link", name="评分与通报").click()
    expect(page.get_by_role("heading", name="收到的通报")).to_be_visible()
    page.context.close()

    # The public pages, without a login: the roster once published (masked ID numbers, the campaign required),
    # the certificate verified by its number (the holder's name masked), an unknown number said so.
    flows.fed.post(f"/api/enrollment/classes/{class_id}/publish")
    visitor = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    visitor.goto(f"{portal}/public/rosters")
    expect(visitor.get_by_text("请通过市总工会或培训机构公布的链接")).to_be_visible()
    visitor.goto(f"{portal}/public/rosters?campaign={flows.campaign_id}&class={class_id}")
    for number in NUMBERS:
        expect(visitor.get_by_role("row").filter(has_text=person(number)["name"])).to_contain_text("**")
        assert person(number)["resident_id"] not in visitor.content()
    visitor.get_by_role("link", name="证书查验").click()
    visitor.get_by_label("发证机构编号").fill(INSTITUTION)
    visitor.get_by_label("证书编号").fill("GZ-GCJS-2099-0001")
    visitor.get_by_role("button", name="查验").click()
    expect(visitor.get_by_text("证书有效")).to_be_visible()
    expect(visitor.locator("dl.facts")).to_contain_text("电工")
    assert names[0] not in visitor.locator("main").inner_text()  # the holder's name masked
    visitor.get_by_label("证书编号").fill("GZ-GCJS-2099-9999")
    visitor.get_by_role("button", name="查验").click()
    expect(visitor.get_by_text("查无此证书")).to_be_visible()
    visitor.context.close()


def test_an_employee_consents_on_a_phone_sees_the_three_shares_and_prints_a_certificate_anyone_can_verify(
    browser, system
):
    flows, portal = system
    officer, worker = flows.union_officer(UNION), person(75)
    row = nominated(flows, 75, notice_start=flows.day(-7))
    flows.fed.post(
        "/auth/users",
        {"username": "worker75", "password": PASSWORD, "role": "employee", "resident_id": worker["resident_id"]},
    )
    page = log_in(browser, portal, "worker75", width=390)  # on a phone
    accept_dialogs(page)
    expect(page.get_by_role("link").filter(has_text="待确认是否自愿参加")).to_contain_text("1")
    page.get_by_role("link", name="我的学习").first.click()
    page.get_by_role("link", name="查看详情").click()
    expect(page.get_by_role("heading", name="本人同意")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="学费/培训费")).to_be_visible()  # what they will pay
    page.get_by_role("button", name="我自愿参加").click()
    expect(page.get_by_text("已确认自愿参加")).to_be_visible()

    # The union sends the list, the institution registers and is paid in full: the three shares in yuan.
    officer.post(f"/api/enrollment/enrolments/{row['enrolment_id']}/confirm")
    flows.send_list(UNION)
    assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
    breakdown = flows.pay_in_full(INSTITUTION, row["enrolment_id"])
    page.reload()
    for share, label in (("federation", "市总工会补助"), ("unit", "单位分担"), ("employee", "个人承担")):
        expect(page.get_by_role("row").filter(has_text=label).first).to_contain_text(breakdown[share])

    # A pass and a certificate: printable with its number, and the public page verifies it.
    operator = flows.operator(INSTITUTION)
    line = {
        "enrolment_id": row["enrolment_id"],
        "exam": "电工中级职业技能鉴定",
        "held_on": flows.today.isoformat(),
        "score": "88.00",
        "passed": True,
    }
    flows.until_accepted(
        lambda: operator.post("/api/evaluation/results/batches", {"lines": [line]}),
        "evaluation to know the student",
        retry_on=(422,),
    )
    operator.post(
        "/api/evaluation/certificates",
        {"enrolment_id": row["enrolment_id"], "number": "GZ-GCJS-2099-0075", "issued_on": flows.today.isoformat()},
    )
    page.reload()
    expect(page.get_by_role("row").filter(has_text="电工中级职业技能鉴定")).to_contain_text("合格")
    page.get_by_role("link", name="打印证书信息").click()
    expect(page.get_by_test_id("certificate-number")).to_have_text("GZ-GCJS-2099-0075")
    page.get_by_role("link", name="现在查验").click()
    expect(page.get_by_text("证书有效")).to_be_visible()
    page.context.close()


def test_an_employee_activates_with_the_unions_code_and_sets_a_forgotten_password_with_a_new_one(browser, system):
    flows, portal = system
    officer, worker = flows.union_officer(UNION), person(76)
    row = nominated(flows, 76, notice_start=flows.day(-1))
    # The union's officer makes the code: shown once, to print; the SMS went to the masked phone.
    page = log_in(browser, portal, "tianhe.union1")
    accept_dialogs(page)
    page.goto(f"{portal}/notice/{row['enrolment_id']}")
    page.get_by_role("button", name="生成职工账号激活码").click()
    code = page.get_by_test_id("activation-code").inner_text()
    expect(page.locator("dl.facts")).to_contain_text(worker["phone"][:3] + "****" + worker["phone"][-4:])
    page.context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    phone.goto(f"{portal}/login")
    phone.get_by_role("link", name="用工会提供的激活码激活账号").click()

    def activate(code: str, password: str, username: str = ""):
        phone.get_by_label("身份证号").fill(worker["resident_id"])
        phone.get_by_label("激活码").fill(code)
        phone.get_by_label("用户名").fill(username)
        phone.get_by_label("新密码", exact=True).fill(password)
        phone.get_by_label("再次输入新密码").fill(password)
        phone.get_by_role("button", name="激活").click()

    activate("WRONG-CODE", "my own password 76", "worker76")  # a wrong code: one answer, the code still works
    expect(phone.get_by_role("alert")).to_contain_text("激活码不正确")
    activate(code.lower(), "my own password 76", "worker76")
    expect(phone.get_by_role("status")).to_contain_text("账号 worker76 已激活")
    phone.goto(f"{portal}/activate")
    activate(code, "another password 76")  # used once: refused
    expect(phone.get_by_role("alert")).to_contain_text("已使用")
    phone.context.close()
    page = log_in(browser, portal, "worker76", "my own password 76", width=390)
    page.get_by_role("link", name="我的学习").first.click()
    expect(page.get_by_role("heading", name="电工（中级）")).to_be_visible()
    page.context.close()

    # Forgotten: a new code from the union, a new password; the old one no longer works.
    again = officer.post("/auth/activation-codes", {"enrolment_id": row["enrolment_id"]})["code"]
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    phone.goto(f"{portal}/activate")
    activate(again, "a fresh password 76")
    expect(phone.get_by_role("status")).to_contain_text("密码已重新设置")
    phone.context.close()
    old = requests.post(
        f"{flows.base_url}/auth/token", json={"username": "worker76", "password": "my own password 76"}, timeout=30
    )
    assert old.status_code == 401
    log_in(browser, portal, "worker76", "a fresh password 76").context.close()
    # Another union's officer gets no code for this nominee.
    stranger = flows.union_officer("GZ-TH-G2")
    refused = stranger.call("POST", "/auth/activation-codes", {"enrolment_id": row["enrolment_id"]}, ok=(404,))
    assert refused["status"] == 404


def test_an_employee_answers_the_survey_blinded_in_the_browser_and_unlinkable_even_to_the_portal(browser, system):
    flows, portal = system
    row = flows.sent(UNION, 77, ELECTRICIAN)
    assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
    flows.fed.post(
        "/auth/users",
        {"username": "worker77", "password": PASSWORD, "role": "employee", "resident_id": person(77)["resident_id"]},
    )
    survey = flows.fed.post(
        "/api/evaluation/surveys",
        {"campaign_id": flows.campaign_id, "institution_id": INSTITUTION, "closes_on": flows.day(10)},
    )
    page = log_in(browser, portal, "worker77", width=390)
    sent = []  # every request the page makes: the portal's and the gateway's
    page.on("request", lambda request: sent.append(request))
    until(
        page,
        f"{portal}/me/surveys",
        lambda p: p.get_by_role("link", name="填写问卷").count() > 0,
        "evaluation to invite the student",
    )
    page.get_by_role("link", name="填写问卷").click()
    for question, score in (("教学质量", "5"), ("服务质量", "4"), ("组织管理", "4")):
        page.get_by_role("group", name=question).get_by_label(score).check()
    page.get_by_label("意见和建议（选填）").fill("实操课时可以再多一些")
    page.get_by_role("button", name="匿名提交").click()
    expect(page.get_by_role("status").filter(has_text="已匿名提交")).to_be_visible()

    answers = [r for r in sent if r.url.endswith(f"/api/evaluation/public/surveys/{survey['survey_id']}/answers")]
    assert len(answers) == 1 and answers[0].url.startswith(flows.base_url)
    answer = answers[0]
    assert answer.response().status == 201
    headers = answer.all_headers()
    assert "cookie" not in headers and "authorization" not in headers and "x-csrftoken" not in headers
    assert portal not in headers.get("referer", "")
    body = json.loads(answer.post_data)
    assert set(body) == {"input_msg", "sig", "teaching", "service", "organisation", "comment"}
    session_cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "portal_session")
    assert session_cookie not in answer.post_data
    to_portal = [r for r in sent if r.url.startswith(portal)]
    tokens = [r for r in to_portal if r.method == "POST"]
    assert [r.url for r in tokens] == [f"{portal}/me/surveys/{survey['survey_id']}/token"]
    assert set(json.loads(tokens[0].post_data)) == {"blinded_msg"}  # only the blinded message
    for request in to_portal:  # neither the token nor its signature ever reaches the portal
        seen = request.url + (request.post_data or "")
        assert body["input_msg"] not in seen and body["sig"] not in seen
    results = flows.fed.get(f"/api/evaluation/surveys/{survey['survey_id']}/results")
    assert results["withheld"] is True  # fewer than 5 answers: nothing shown
    page.context.close()
    page = log_in(browser, portal, "gcjs.operator")
    page.get_by_role("link", name="评分与通报").click()
    expect(page.get_by_role("region", name="学员满意度调查")).to_contain_text("答卷不足 5 份")
    page.context.close()


def registered_students(flows, numbers) -> list[dict]:
    """Workers `numbers` sent by the union and registered by the institution (not paid yet)."""
    rows = [flows.sent(UNION, number, ELECTRICIAN) for number in numbers]
    for row in rows:
        assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
    return rows


def test_the_institution_rejects_a_registration_with_its_reason_after_confirming(browser, system):
    flows, portal = system
    [row] = [flows.sent(UNION, 81, ELECTRICIAN)]
    assert flows.register(INSTITUTION, row["enrolment_id"])["status"] == "registered"
    page = log_in(browser, portal, "gcjs.operator")
    asked = []
    page.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    page.goto(f"{portal}/institution/students/{row['enrolment_id']}")
    page.get_by_text("不予录取", exact=True).first.click()  # the <details> opens
    page.get_by_label("不予录取的原因").select_option("documents_missing")
    page.get_by_role("button", name="不予录取").click()  # no explanation: refused next to the field
    expect(page.locator("#reject-note-error")).to_contain_text("请填写说明")
    page.get_by_label("说明").fill("未提交学历证明原件")
    page.get_by_role("button", name="不予录取").click()
    expect(page.get_by_role("status").first).to_contain_text("名额退回所属单位")
    assert asked and "名额退回" in asked[-1]  # the irreversible step asked first
    operator = flows.operator(INSTITUTION)
    rejected = operator.get(f"/api/enrollment/enrolments/{row['enrolment_id']}")
    assert (rejected["status"], rejected["refusal_reason"]) == ("refused", "documents_missing")
    page.goto(f"{portal}/institution/students?status=refused")
    expect(page.get_by_role("row").filter(has_text=person(81)["name"])).to_contain_text("未提交学历证明原件")
    page.context.close()


def template_header(download) -> list:
    """The header row of a downloaded template workbook."""
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as file:
        return [cell.value for cell in next(openpyxl.load_workbook(file).active.iter_rows(max_row=1))]


def uploaded(page, label: str, name: str, content: bytes) -> None:
    page.get_by_label(label).set_input_files(
        {
            "name": name,
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": content,
        }
    )


def test_payments_and_results_imported_from_xlsx_all_or_nothing_with_a_retake(browser, system):
    flows, portal = system
    rows = registered_students(flows, (51, 52))
    operator = flows.operator(INSTITUTION)
    totals = [flows.breakdown(operator, row["enrolment_id"])["total"] for row in rows]
    page = log_in(browser, portal, "gcjs.operator")
    page.get_by_role("link", name="批量导入").click()
    payments = page.get_by_role("region", name="导入缴费记录")

    # The template has the import's columns; filled in, with one bad row: the report, nothing recorded.
    with page.expect_download() as download:
        payments.get_by_role("link", name="下载模板（.xlsx）").click()
    header = template_header(download.value)
    assert header == ["报名编号 Enrolment id", "金额 Amount", "缴费日期 Paid on", "单据号 Reference"]
    # Or prefilled: a row per student still owing, the amount column holding what is due.
    with page.expect_download() as download:
        payments.get_by_role("button", name="下载预填模板（.xlsx）").click()
    with open(download.value.path(), "rb") as file:
        owing = {r[0]: r[1] for r in openpyxl.load_workbook(file).active.iter_rows(min_row=2, values_only=True)}
    assert {row["enrolment_id"]: owing.get(row["enrolment_id"]) for row in rows} == {
        row["enrolment_id"]: total for row, total in zip(rows, totals)
    }
    good = [rows[0]["enrolment_id"], totals[0], flows.today.isoformat(), "XLSX-0001"]
    bad = [rows[1]["enrolment_id"], "12.345", flows.today.isoformat(), "XLSX-0002"]
    uploaded(payments, "选择文件（.xlsx）", "缴费.xlsx", xlsx([header, good, bad]))
    payments.get_by_role("button", name="导入").click()
    expect(payments.get_by_role("alert")).to_contain_text("第 3 行")
    assert operator.get("/api/finance/payments", enrolment_id=rows[0]["enrolment_id"]) == []
    uploaded(payments, "选择文件（.xlsx）", "缴费.xlsx", xlsx([header, good, [*bad[:1], totals[1], *bad[2:]]]))
    payments.get_by_role("button", name="导入").click()
    expect(payments.get_by_role("status")).to_contain_text("已登记 2 笔缴费")
    assert [p["reference"] for p in operator.get("/api/finance/payments", enrolment_id=rows[0]["enrolment_id"])] == [
        "XLSX-0001"
    ]

    # Results: the first student failed before; the file's line for them is the retake.
    exam = "电工中级职业技能鉴定"
    failed = {
        "enrolment_id": rows[0]["enrolment_id"],
        "exam": exam,
        "held_on": flows.day(-3),
        "score": "48.00",
        "passed": False,
    }
    flows.until_accepted(
        lambda: operator.post("/api/evaluation/results/batches", {"lines": [failed]}),
        "evaluation to know the student",
        retry_on=(422,),
    )
    results = page.get_by_role("region", name="导入考试成绩")
    with page.expect_download() as download:
        results.get_by_role("link", name="下载模板（.xlsx）").click()
    header = template_header(download.value)
    lines = [
        header,
        [rows[0]["enrolment_id"], exam, flows.day(-1), "76", "是"],
        [rows[1]["enrolment_id"], exam, flows.day(-1), "81", "是"],
    ]
    for _attempt in range(120):  # evaluation hears of the second student through events
        uploaded(results, "选择文件（.xlsx）", "成绩.xlsx", xlsx(lines))
        results.get_by_role("button", name="导入").click()
        if results.get_by_role("status").filter(has_text="导入完成").count():
            break
        page.wait_for_timeout(500)
    expect(results.get_by_role("status")).to_contain_text("已登记 2 条成绩，其中补考 1 条")
    page.goto(f"{portal}/institution/students/{rows[0]['enrolment_id']}")
    expect(page.get_by_role("row").filter(has_text="第 2 次")).to_contain_text("合格")
    page.context.close()


def test_the_institution_makes_and_edits_a_programme_and_sees_the_shares_finance_computes(browser, system):
    flows, portal = system
    page = log_in(browser, portal, "gcjs.operator")
    accept_dialogs(page)
    page.get_by_role("link", name="培训项目").click()
    page.get_by_role("link", name="新建培训项目").click()
    page.get_by_label("项目编号").fill("GCJS-HG-ZJ-T")
    page.get_by_label("项目名称").fill("焊工（中级）周末班")
    page.get_by_label("层次/等级").fill("中级")
    page.get_by_label("工种（技能提升）").fill("焊工")
    page.get_by_label("教学点（每行一个）").fill("天河校区\n上门办学")
    page.get_by_label("开课日期").fill(flows.day(30))
    page.get_by_label("培训费/学费（元）").fill("1800.00")
    page.get_by_label("鉴定考试费（元）").fill("200")
    page.get_by_label("教材费（元）").fill("60.5")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status").first).to_contain_text("已保存培训项目")
    expect(page.get_by_role("heading", level=1)).to_contain_text("草稿")

    # Edited: the training fee up; previewed before saving, then saved; the shares are finance's.
    page.get_by_label("培训费/学费（元）").fill("2000.00")
    page.get_by_role("button", name="预览费用分担").click()
    fees = {"tuition_or_training": "2000.00", "appraisal_exam": "200.00", "textbook": "60.50"}
    fees |= {"registration": "0.00", "entrance_test": "0.00"}
    shares = flows.operator(INSTITUTION).get(
        f"/api/finance/campaigns/{flows.campaign_id}/fee-shares", kind="skills", trade="焊工", **fees
    )
    assert shares["total"] == "2260.50"
    table = page.get_by_role("region", name="费用分担（财务服务计算）")
    expect(table.get_by_role("row").filter(has_text="合计")).to_contain_text(shares["federation"])
    expect(table.get_by_role("row").filter(has_text="合计")).to_contain_text(shares["employee"])
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status").first).to_contain_text("已保存培训项目")
    expect(page.get_by_label("培训费/学费（元）")).to_have_value("2000.00")
    expect(table.get_by_role("row").filter(has_text="培训费/学费")).to_contain_text(shares["lines"][0]["federation"])
    page.get_by_role("link", name="培训项目").first.click()
    expect(page.get_by_role("row").filter(has_text="焊工（中级）周末班")).to_contain_text("2000.00")

    # The federation's drafts awaiting publication, by institution: sent back with the reason, then published.
    federation = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(federation)
    federation.get_by_role("link", name="培训项目", exact=True).click()
    federation.get_by_role("link", name="待发布", exact=True).click()
    federation.get_by_label("培训机构", exact=True).select_option(INSTITUTION)
    federation.get_by_role("button", name="筛选").click()
    draft = federation.get_by_role("row").filter(has_text="焊工（中级）周末班")
    expect(draft).to_contain_text("草稿")
    draft.get_by_label("退回理由", exact=True).fill("鉴定考试费高于物价部门核定标准")
    draft.get_by_role("button", name="退回修改").click()
    expect(federation.get_by_role("status").first).to_contain_text("退回机构修改")
    expect(draft).to_contain_text("已退回修改")
    page.reload()
    mine = page.get_by_role("row").filter(has_text="焊工（中级）周末班")
    expect(mine).to_contain_text("鉴定考试费高于物价部门核定标准")
    mine.get_by_role("link", name="焊工（中级）周末班").click()
    page.get_by_label("鉴定考试费（元）").fill("180")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status").first).to_contain_text("已保存培训项目")
    federation.reload()
    expect(draft).not_to_contain_text("已退回修改")  # edited since it was sent back
    draft.get_by_role("button", name="发布", exact=True).click()  # the confirmation is accepted
    expect(federation.get_by_role("status").first).to_contain_text("已发布培训项目 GCJS-HG-ZJ-T")
    expect(draft).to_have_count(0)  # no longer awaiting publication
    page.get_by_role("link", name="培训项目").first.click()
    expect(page.get_by_role("row").filter(has_text="焊工（中级）周末班")).to_contain_text("已发布")
    federation.context.close()
    page.context.close()


def test_one_student_is_assigned_to_a_class_moved_from_another(browser, system):
    flows, portal = system
    operator = flows.operator(INSTITUTION)
    first = registered_students(flows, (53,))
    for row in first:
        flows.pay_in_full(INSTITUTION, row["enrolment_id"])
    site = {
        "campaign_id": flows.campaign_id,
        "programme_id": ELECTRICIAN,
        "opens_on": flows.day(14),
        "site": "天河校区",
    }
    body = site | {"on_site": False}

    def formed(name: str) -> dict:
        for _attempt in range(60):  # a dedicated class or a public one, as many wait as the others left
            answer = operator.call(
                "POST", "/api/enrollment/classes", body | {"public_class_name": name}, ok=(201, 409, 422)
            )
            if "class_id" in answer:
                return answer
            answer = operator.call(
                "POST",
                "/api/enrollment/classes",
                body | {"head_teacher": "陈志明", "learning_assistant": "黄晓琳"},
                ok=(201, 409, 422),
            )
            if "class_id" in answer:
                return answer
            time.sleep(1)
        raise AssertionError("no class formed")

    earlier = formed("电工中级社会班（周末班）")
    later_row = registered_students(flows, (54,))[0]
    flows.pay_in_full(INSTITUTION, later_row["enrolment_id"])
    later = formed("电工中级社会班（晚班）")
    assert first[0]["enrolment_id"] in [s["enrolment_id"] for s in earlier["students"]]

    page = log_in(browser, portal, "gcjs.operator")
    accept_dialogs(page)
    page.goto(f"{portal}/institution/classes/{later['class_id']}")
    page.get_by_label("学员", exact=True).select_option(first[0]["enrolment_id"])
    page.get_by_role("button", name="分配到本班").click()
    expect(page.get_by_role("status").first).to_contain_text("已将学员分配到本班")
    expect(page.get_by_role("row").filter(has_text=person(53)["name"])).to_be_visible()
    moved = operator.get(f"/api/enrollment/enrolments/{first[0]['enrolment_id']}")
    assert moved["class_id"] == later["class_id"]
    assert [c["ended_by"] for c in moved["classes"]] == ["moved", None]
    page.goto(f"{portal}/institution/classes/{earlier['class_id']}")
    expect(page.get_by_role("row").filter(has_text=person(53)["name"])).to_have_count(0)
    page.context.close()


def test_the_signing_example_is_one_the_gateways_own_code_verifies():
    example = signing_example()
    headers = {"x-timestamp": example["timestamp"], "x-nonce": example["nonce"], "x-signature": example["signature"]}
    assert genuine(example["secret"], headers, example["method"], example["target"], example["body"].encode())
    assert not genuine("another secret", headers, example["method"], example["target"], example["body"].encode())


def test_the_it_page_lists_the_institutions_keys_never_a_secret_and_the_requests_received(browser, system):
    flows, portal = system
    client = flows.clients[INSTITUTION]
    flows.machine(INSTITUTION).get("/api/evaluation/results", enrolment_id="00000000-0000-4000-8000-000000000000")
    page = log_in(browser, portal, "gcjs.operator")
    page.get_by_role("link", name="接口对接").click()
    clients = page.get_by_role("region", name="本机构的接口客户端")
    expect(clients.get_by_role("row").filter(has_text=client["key_id"])).to_contain_text("启用")
    assert client["secret"] not in page.content()
    assert not any(other["key_id"] in page.content() for name, other in flows.clients.items() if name != INSTITUTION)
    until(
        page,
        f"{portal}/institution/it",
        lambda p: (
            p.get_by_role("region", name="最近收到的请求")
            .get_by_role("row")
            .filter(has_text="/api/evaluation/results")
            .count()
            > 0
        ),
        "the machine's request kept",
        seconds=30,
    )
    # The worked example: the values the page shows verify with the gateway's own code.
    shown = {
        key: page.get_by_test_id(f"example-{key}").inner_text()
        for key in ("secret", "method", "target", "timestamp", "nonce", "body", "signature")
    }
    headers = {"x-timestamp": shown["timestamp"], "x-nonce": shown["nonce"], "x-signature": shown["signature"]}
    assert genuine(shown["secret"], headers, shown["method"], shown["target"], shown["body"].encode())
    page.context.close()
