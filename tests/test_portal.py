"""The portal in a real browser (Debian's Chromium driven by Playwright) against the real stack: the four
services and the gateway on PostgreSQL and RabbitMQ, the portal before the gateway. One journey per role of
issue 18: the federation admin creates a campaign, imports units, publishes an allocation and transfers funds;
the grassroots officer nominates three employees (form and .xlsx), records the recommendation, runs the notice,
decides an objection and confirms the list; the unit officer sees its allocation and sends the list to the
institutions; the auditor sees the federation's pages and can change nothing."""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from datetime import timedelta

import openpyxl
import pytest
import requests
from kombu import Connection
from playwright.sync_api import expect

from demo.client import eventually
from demo.data import person
from demo.scenario import ELECTRICIAN, TEA_FCG

from .support.browser import accept_dialogs, log_in
from .support.campaign import ADMIN, PASSWORD, Flows, shared_system
from .support.portal import portal_before

pytestmark = pytest.mark.servers  # the browser (Debian's Chromium, skipped without it): tests/support/browser.py


@pytest.fixture(scope="module")
def system(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal")
    with shared_system(servers, vhost, tmp) as url:
        flows = Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()
        flows.plan("GZ-TH", [ELECTRICIAN, TEA_FCG])
        with portal_before(url, tmp) as portal:
            yield flows, portal, tmp / "sessions"


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_login_refusals_in_chinese_and_logout_revokes(browser, system):
    flows, portal, _sessions = system
    page = browser.new_page()
    page.goto(f"{portal}/login")
    page.get_by_label("用户名", exact=True).fill("demo.auditor")
    page.get_by_label("密码", exact=True).fill("wrong password 123")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确。")
    page.close()

    page = log_in(browser, portal, "demo.auditor")
    page.goto(f"{portal}/federation/users")  # the admin's page only
    expect(page.get_by_role("alert")).to_contain_text("无权")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r".*/login"))
    page.goto(f"{portal}/federation/campaigns")  # the session is gone: back to the login
    page.wait_for_url(re.compile(r".*/login\?next="))
    page.context.close()


def test_federation_admin_creates_a_campaign_imports_units_publishes_its_allocation_and_transfers_funds(
    browser, system, tmp_path
):
    flows, portal, _sessions = system
    page = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(page)

    # Units: two of them from an .xlsx; a bad file first, its rows reported inline, nothing imported.
    header = ["编号", "名称", "层级", "类别", "上级单位", "职工人数", "重点产业", "权重"]
    page.goto(f"{portal}/federation/units")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([header, ["GZ-PT", "测试区总工会", "first_level", "district", None, -5, False, None]]))
    page.get_by_label("单位名册文件（.xlsx）", exact=True).set_input_files(bad)
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#import-result")).to_contain_text("第 2 行")
    good = tmp_path / "units.xlsx"
    good.write_bytes(
        xlsx(
            [
                header,
                ["GZ-PT", "测试区总工会", "first_level", "district", None, 50000, False, None],
                ["GZ-PT-G1", "测试公司工会", "grassroots", "grassroots", "GZ-PT", 800, False, None],
            ]
        )
    )
    page.get_by_label("单位名册文件（.xlsx）", exact=True).set_input_files(good)
    page.get_by_role("button", name="导入").click()
    page.locator("#import-result .alert.ok").wait_for()
    page.reload()
    page.get_by_role("link", name="测试区总工会").click()  # a first-level unit opens on its grassroots unions
    expect(page.get_by_role("cell", name="测试公司工会")).to_be_visible()

    # A campaign: a field error next to its field in Chinese, then made and published.
    page.goto(f"{portal}/federation/campaigns")
    page.get_by_label("计划名称", exact=True).fill("2030年度百万职工素质大提升计划")
    page.get_by_label("年度", exact=True).fill("2030")
    page.get_by_label("学历每人补贴（元）", exact=True).fill("0")
    page.get_by_role("button", name="新建（草稿）").click()
    expect(page.locator("#subsidy-error")).to_be_visible()
    page.get_by_label("学历每人补贴（元）", exact=True).fill("1500")
    page.get_by_role("button", name="新建（草稿）").click()
    row = page.get_by_role("row").filter(has_text="2030年度")
    row.get_by_role("button", name="发布").click()
    expect(page.get_by_role("row").filter(has_text="2030年度").get_by_text("已发布")).to_be_visible()

    # Its allocation: switch to it, preview, save, publish, export.
    with page.expect_navigation():
        page.get_by_label("计划", exact=True).select_option(label="2030年度百万职工素质大提升计划")
    page.goto(f"{portal}/federation/allocation")
    expect(page.get_by_text("预览").first).to_be_visible()
    expect(page.get_by_role("cell", name="测试区总工会")).to_be_visible()  # the imported unit is allocated
    page.get_by_role("button", name="保存为分配方案").click()
    page.get_by_role("button", name="发布分配方案").click()
    expect(page.get_by_role("heading", name="分配方案")).to_contain_text("已发布")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename == "allocation-2030.xlsx"

    # Funds: to the new unit, then its earmarked balance shows it.
    page.goto(f"{portal}/federation/transfers")
    page.get_by_label("拨付单位", exact=True).select_option(label="测试区总工会")
    page.get_by_label("资金类别", exact=True).select_option("skills")
    page.get_by_label("拨付文号", exact=True).fill("穗工财〔2030〕1号")
    page.get_by_label("金额（元）", exact=True).fill("1000.005")
    page.get_by_role("button", name="登记拨付").click()
    expect(page.locator("#amount-error")).to_contain_text("两位小数")
    page.get_by_label("金额（元）", exact=True).fill("12000.50")
    for _attempt in range(60):  # finance hears of the allocation through an event
        with page.expect_navigation():
            page.get_by_role("button", name="登记拨付").click()
        if page.get_by_role("status").filter(has_text="已登记拨付").count():
            break
        page.wait_for_timeout(1000)
    expect(page.get_by_role("row").filter(has_text="测试区总工会").first).to_contain_text("12000.50")
    page.context.close()


def test_grassroots_officer_nominates_by_form_and_xlsx_runs_the_notice_and_sends_the_list(browser, system, tmp_path):
    flows, portal, _sessions = system
    page = log_in(browser, portal, "tianhe.union1")
    accept_dialogs(page)
    posted = (flows.today - timedelta(days=10)).isoformat()  # the notice is over: the list can be confirmed
    meeting = (flows.today - timedelta(days=11)).isoformat()  # the democratic recommendation came first
    first, second, third = person(61), person(62), person(63)

    page.goto(f"{portal}/nominations")
    form = page.locator("form", has=page.get_by_role("button", name="推荐并开始公示"))
    wrong = first["resident_id"][:17] + ("0" if first["resident_id"][-1] != "0" else "1")
    form.get_by_label("身份证号", exact=True).fill(wrong)
    expect(page.locator("#resident_id-check")).to_contain_text("校验位不正确")  # as typed, before sending
    form.get_by_label("身份证号", exact=True).fill(first["resident_id"])
    expect(page.locator("#resident_id-check")).to_have_text("校验位正确")
    form.get_by_label("姓名", exact=True).fill(first["name"])
    form.get_by_label("手机号码", exact=True).fill(first["phone"])
    form.get_by_label("培训项目", exact=True).select_option(ELECTRICIAN)
    form.get_by_label("民主推荐情况（推荐理由）", exact=True).fill("经职工代表大会民主推荐：一线技术骨干")
    form.get_by_label("民主推荐会议日期", exact=True).fill(meeting)
    form.get_by_label("推荐方式", exact=True).select_option("vote")
    form.get_by_label("到会人数", exact=True).fill("52")
    form.get_by_label("赞成票", exact=True).fill("48")
    form.get_by_label("反对票", exact=True).fill("2")
    form.get_by_label("弃权票", exact=True).fill("2")
    form.get_by_label("公示开始日期", exact=True).fill(posted)
    form.get_by_role("button", name="推荐并开始公示").click()
    expect(page.get_by_role("status").filter(has_text=first["name"])).to_be_visible()

    listing = tmp_path / "nominations.xlsx"
    listing.write_bytes(
        xlsx(
            [
                [
                    "姓名 Name",
                    "身份证号 Resident ID number",
                    "手机号码 Mobile phone",
                    "文化程度 Education",
                    "推荐理由 Attestation",
                    "项目编号 Programme id",
                ]
            ]
            + [
                [p["name"], p["resident_id"], p["phone"], "高中", "民主推荐：生产骨干", ELECTRICIAN]
                for p in (second, third)
            ]
        )
    )
    page.get_by_label("推荐名单文件（.xlsx）", exact=True).set_input_files(listing)
    page.locator("#import-notice_start").fill(posted)
    page.locator("#import-meeting_on").fill(meeting)
    page.locator("#import-method").select_option("evaluation")
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#nomination-import")).to_contain_text("共 2 行")

    # The notice: an objection against the third, dismissed after checking.
    page.goto(f"{portal}/notice")
    page.get_by_role("row").filter(has_text=third["name"]).get_by_role("link").click()
    page.get_by_label("异议内容", exact=True).fill("有职工反映其本年度考核未达标")
    page.get_by_role("button", name="登记异议").click()
    page.get_by_label("处理结果", exact=True).select_option("dismissed")
    page.get_by_label("核实情况", exact=True).fill("经核实，考核结果为合格，异议不成立")
    page.get_by_role("button", name="记录处理结果").click()
    expect(page.get_by_text("异议不成立").first).to_be_visible()

    # Consent and confirmation of the three, in bulk: the list goes to the institution.
    page.goto(f"{portal}/nominations")
    for someone in (first, second, third):
        page.get_by_role("checkbox", name=f"选择 {someone['name']}").check()
    page.get_by_role("button", name="登记本人书面同意").click()
    expect(page.get_by_role("status").first).to_contain_text("成功 3 人")
    for someone in (first, second, third):
        page.get_by_role("checkbox", name=f"选择 {someone['name']}").check()
    page.get_by_role("button", name="确认名单").click()
    expect(page.get_by_role("status").first).to_contain_text("确认名单：成功 3 人，未成功 0 人")
    for someone in (first, second, third):  # the first-level unit sends the list (next test)
        expect(page.get_by_role("row").filter(has_text=someone["name"]).get_by_text("已确认待报送")).to_be_visible()
    page.get_by_role("link", name="职工学习情况").click()  # none registered by an institution yet: searchable
    page.get_by_label("姓名或身份证号后几位").fill(first["name"])
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("cell", name="暂无")).to_be_visible()
    expect(page.get_by_label("姓名或身份证号后几位")).to_have_value(first["name"])
    page.context.close()


def test_federation_admin_manages_units_tries_an_allocation_edits_a_line_changes_settings_and_loads_a_calendar(
    browser, system
):
    _flows, portal, _sessions = system
    page = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(page)

    # A unit made by hand, then retired with a reason (its history kept).
    page.goto(f"{portal}/federation/units")
    page.get_by_label("单位编号", exact=True).fill("GZ-NEW9")
    page.get_by_label("单位名称", exact=True).fill("新建测试区总工会")
    page.get_by_label("类别", exact=True).select_option("district")
    page.get_by_label("会员人数", exact=True).fill("30000")
    page.get_by_role("button", name="新建", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="已新建单位")).to_be_visible()
    page.get_by_label("按名称查找单位", exact=True).fill("新建测试区")
    page.get_by_role("button", name="查找", exact=True).click()
    page.get_by_role("link", name="新建测试区总工会").click()
    page.get_by_text("撤销或合并本单位").click()
    page.get_by_role("button", name="撤销或合并", exact=True).click()
    expect(page.locator("#reason-error")).to_be_visible()  # a reason is required
    page.get_by_label("撤销或合并原因", exact=True).fill("行政区划调整，撤销该单位")
    page.get_by_role("button", name="撤销或合并", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="已撤销")).to_be_visible()
    expect(page.get_by_role("heading", name="新建测试区总工会")).to_contain_text("已撤销")

    # A draft campaign of its own: its settings changed (a field's error in Chinese next to it first).
    page.goto(f"{portal}/federation/campaigns")
    page.get_by_label("计划名称", exact=True).fill("2031年度试算计划")
    page.get_by_label("年度", exact=True).fill("2031")
    page.get_by_role("button", name="新建（草稿）").click()
    page.get_by_role("link", name="2031年度试算计划").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("计划设置")
    page.get_by_label("学习结束", exact=True).fill("2031-01-01")
    page.get_by_role("button", name="保存设置").click()
    expect(page.locator("#study_end-error")).to_be_visible()
    page.goto(page.url)
    page.get_by_label("公示天数", exact=True).fill("7")
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_role("status").filter(has_text="已保存计划")).to_be_visible()
    expect(page.get_by_label("公示天数", exact=True)).to_have_value("7")

    # Its allocation: a what-if with a smaller skills pool (nothing saved), then saved and one line edited.
    with page.expect_navigation():
        page.get_by_label("计划", exact=True).select_option(label="2031年度试算计划（草稿）")
    page.goto(f"{portal}/federation/allocation")
    page.get_by_label("技能提升资金（元）", exact=True).fill("100000")
    page.get_by_role("button", name="试算", exact=True).click()
    expect(page.get_by_role("heading", name="分配方案")).to_contain_text("试算")
    expect(page.locator("dl.facts")).to_contain_text("100000.00")
    expect(page.get_by_role("button", name="保存为分配方案")).to_have_count(0)  # a what-if is never saved
    page.get_by_role("link", name="返回当前方案").click()
    page.get_by_role("button", name="保存为分配方案").click()
    page.get_by_label("单位", exact=True).select_option(label="天河区总工会")
    page.get_by_label("学历名额", exact=True).fill("1")
    page.get_by_role("button", name="保存调整").click()
    expect(page.locator("#reason-error")).to_be_visible()
    page.get_by_label("单位", exact=True).select_option(label="天河区总工会")
    page.get_by_label("学历名额", exact=True).fill("1")
    page.get_by_label("调整原因", exact=True).fill("天河区申请减少名额")
    page.get_by_role("button", name="保存调整").click()
    expect(page.get_by_role("status").filter(has_text="已调整该单位的指标")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="天河区申请减少名额")).to_contain_text("→ 1")

    # The working-day calendar of 2031: a bad line reported, then the year loaded.
    page.goto(f"{portal}/federation/calendar?year=2031")
    days = page.get_by_label("节假日与调休上班日（每行一天：日期,是否上班,名称）", exact=True)
    days.fill("2031-13-01,否,元旦")
    page.get_by_role("button", name="载入", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("第 2 行")
    days.fill("2031-01-01,否,元旦\n2031-10-01,否,国庆节\n2031-09-28,是,国庆节调休上班")
    page.get_by_role("button", name="载入", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="已载入 2031 年")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="国庆节调休上班")).to_contain_text("调休上班")
    page.context.close()


def test_federation_admin_replays_a_dead_letter_with_a_reason(browser, system):
    """A message the evaluation worker set aside (parked here as the worker parks one), replayed from the page."""
    from servicekit.config import load_settings

    from .test_dead_letters_api import park

    _flows, portal, _sessions = system
    dead_id = f"portal-{uuid.uuid4()}"

    class Parking:  # the shared system's bus: its settings are in the environment while the system runs
        bus = load_settings("evaluation").bus
        service = type("Service", (), {"name": "evaluation"})

        def connection(self):
            return Connection(self.bus.url, transport_options=self.bus.transport_options)

    park(Parking(), dead_id, "probe.parked", "ValueError: 测试用的失败消息")
    page = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(page)
    page.get_by_role("link", name="运行监控").click()
    page.get_by_role("link", name="评估服务").click()
    row = page.get_by_role("row").filter(has_text=dead_id)
    expect(row).to_contain_text("测试用的失败消息")
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="重新投递勾选的消息").click()
    expect(page.locator("#reason-error")).to_be_visible()  # a reason is required
    page.get_by_role("row").filter(has_text=dead_id).get_by_role("checkbox").check()
    page.get_by_label("重新投递原因", exact=True).fill("评估服务已修复")
    page.get_by_role("button", name="重新投递勾选的消息").click()
    expect(page.get_by_role("status").filter(has_text="已重新投递 1 条消息")).to_be_visible()
    page.context.close()


def test_the_home_page_tells_what_changed_since_the_last_login(browser, system):
    _flows, portal, _sessions = system
    page = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(page)
    page.goto(f"{portal}/federation/campaigns")
    page.get_by_label("计划名称", exact=True).fill("2032年度变化提示计划")
    page.get_by_label("年度", exact=True).fill("2032")
    page.get_by_role("button", name="新建（草稿）").click()
    expect(page.get_by_role("link", name="2032年度变化提示计划")).to_be_visible()
    page.context.close()
    again = log_in(browser, portal, ADMIN[0], ADMIN[1])  # the next visit: the decision made since is listed
    since = again.get_by_role("region", name="自上次登录以来")
    expect(since).to_contain_text("上次登录")
    expect(since.get_by_role("row").filter(has_text="campaign").first).to_be_visible()
    again.context.close()

    for _visit in range(2):  # an officer: the second visit counts the new rows of its lists
        officer = log_in(browser, portal, "tianhe.union2", width=390)
        officer.context.close()
    officer = log_in(browser, portal, "tianhe.union2", width=390)
    since = officer.get_by_role("region", name="自上次登录以来")
    expect(since).to_contain_text("上次登录")
    expect(since.get_by_role("link", name="新推荐的人选")).to_be_visible()
    officer.context.close()


def test_unit_officer_sees_its_allocation_and_the_lists_sent(browser, system):
    flows, portal, _sessions = system
    page = log_in(browser, portal, "tianhe.officer", width=390)  # on a phone
    accept_dialogs(page)
    page.get_by_role("link", name="本单位指标").click()
    expect(page.get_by_role("heading", name="天河区总工会")).to_be_visible()
    page.get_by_role("link", name="推荐名单").click()
    union = flows.fed.get("/api/quota/units/GZ-TH-G1")["name"]
    page.get_by_role("button", name=f"报送 {union} 的名单").click()  # the browser asks to confirm: accepted
    expect(page.get_by_role("status").first).to_contain_text(f"已向培训机构报送 {union} 的名单：3 人。")
    expect(page.get_by_role("row").filter(has_text=union).first).to_contain_text(flows.today.isoformat())
    page.get_by_label("状态", exact=True).select_option("sent")
    page.get_by_role("button", name="筛选").click()
    for number in (61, 62, 63):
        expect(page.get_by_role("row").filter(has_text=person(number)["name"])).to_be_visible()
    page.context.close()


def test_unit_officer_sees_its_share_policy_reimbursements_and_exports(browser, system, tmp_path):
    _flows, portal, _sessions = system
    page = log_in(browser, portal, "tianhe.officer")
    page.get_by_role("link", name="报销与政策").click()
    expect(page.get_by_role("heading", name="本单位分担政策")).to_be_visible()
    expect(page.locator("dl.pairs")).to_contain_text("学历提升单位分担")
    page.get_by_role("link", name="已支付").click()
    expect(page.get_by_role("link", name="已支付")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("table")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="指标使用情况（.xlsx）").click()
    download.value.save_as(tmp_path / "quota.xlsx")
    book = openpyxl.load_workbook(tmp_path / "quota.xlsx")
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
    assert "GZ-TH" in cells and "GZ-YX" not in cells  # its own unit only
    page.context.close()


def test_unit_officer_pays_a_graduates_reimbursement_from_the_portal(browser, system):
    """An academic student of Liwan graduates (as tests/test_campaign_flows.py plays it through the gateway); the
    unit's officer pays the federation's 1,500.00 back from the earmarked account, in the portal, with confirmation."""
    flows, portal, _sessions = system
    unit, union, institution, programme = "GZ-LG", "GZ-LG-G1", "GZ-GCJS", "GCJS-DZ-JD"
    flows.plan(unit, [programme])
    flows.until_accepted(
        lambda: flows.fed.post(
            "/api/finance/transfers",
            {
                "campaign_id": flows.campaign_id,
                "unit_id": unit,
                "kind": "academic",
                "amount": "1500.00",
                "transferred_on": flows.today.isoformat(),
                "reference": "穗工财〔学历〕9号",
            },
        ),
        "finance to know the allocation",
    )
    enrolment_id = flows.sent(union, 64, programme)["enrolment_id"]
    flows.register(institution, enrolment_id)
    flows.admit(institution, enrolment_id)
    flows.pay_in_full(institution, enrolment_id)
    machine = flows.machine(institution)
    flows._batch(
        machine,
        f"portal-graduation-{enrolment_id}",
        [
            {
                "enrolment_id": enrolment_id,
                "exam": "毕业考核",
                "held_on": flows.today.isoformat(),
                "score": "80.00",
                "passed": True,
            }
        ],  # fmt: skip
    )
    machine.post(
        "/api/evaluation/certificates",
        {
            "enrolment_id": enrolment_id,
            "number": f"GCJS-BY-{flows.today.year}-0064",
            "issued_on": flows.today.isoformat(),
        },
    )
    officer = flows.unit_officer(unit)
    eventually(
        lambda: any(
            r["enrolment_id"] == enrolment_id and r["status"] == "payable"
            for r in officer.get("/api/finance/reimbursements", campaign_id=flows.campaign_id, status="payable")
        ),
        "finance to owe the federation's share",
    )

    page = log_in(browser, portal, f"{unit.lower()}.officer", width=390)  # on a phone
    accept_dialogs(page)
    page.get_by_role("link", name="报销与政策").click()
    federation_share = page.get_by_role("row").filter(has_text=enrolment_id).filter(has_text="市总补助（专款）")
    row = federation_share
    row.get_by_text("支付", exact=True).click()
    row.get_by_label("支付日期", exact=True).fill(flows.today.isoformat())  # not the portal's today: midnight may pass
    row.get_by_label("开户银行", exact=True).fill("中国工商银行广州荔湾支行")
    row.get_by_label("银行账号", exact=True).fill("12ab")
    row.get_by_role("button", name="登记支付").click()
    row = federation_share
    expect(row.locator("p.error")).to_be_visible()  # the API's refusal next to the account number
    row.get_by_label("支付日期", exact=True).fill(flows.today.isoformat())
    row.get_by_label("银行账号", exact=True).fill("6222020200112233445")
    row.get_by_role("button", name="登记支付").click()
    expect(page.get_by_role("status").filter(has_text="已登记支付 1500.00 元")).to_be_visible()
    expect(federation_share).to_contain_text(flows.today.isoformat())  # now under 已支付
    page.context.close()


def test_auditor_sees_the_federation_pages_and_no_control_to_change_them(browser, system):
    flows, portal, _sessions = system
    page = log_in(browser, portal, "demo.auditor")
    for path, heading in [
        ("/federation/campaigns", "计划管理"),
        ("/federation/units", "单位管理"),
        ("/federation/allocation", "指标分配"),
        ("/federation/transfers", "专款拨付"),
        ("/federation/reviews", "推荐审核"),
        ("/federation/institutions", "培训机构"),
        ("/federation/institutions/GZ-SEG", "GZ-SEG"),
        ("/federation/programmes?status=draft", "培训项目"),  # the drafts: neither publish nor send back
        ("/federation/dashboard", "数据看板"),
        ("/federation/audit", "审计日志"),
        ("/federation/calendar", "工作日历"),
        ("/federation/operations", "运行监控"),
        ("/federation/clients", "接口客户端"),  # the list, read only: no secret, no form to make or change one
    ]:
        page.goto(portal + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        main = page.locator("main")
        assert main.locator("form[method=post]").count() == 0, path  # no write control rendered
        assert main.locator("table").count() >= 1
    # Even a hand-made request is refused (by the portal, and the gateway would refuse it too).
    answer = page.request.post(f"{portal}/federation/allocation/publish", headers={"X-CSRFToken": "x"})
    assert answer.status in (400, 403)
    page.goto(f"{portal}/federation/users")  # the admin's page only
    expect(page.get_by_text("您的角色无权查看此页面")).to_be_visible()
    page.context.close()


def test_federation_admin_disqualifies_and_reinstates_an_institution_and_makes_a_machine_client(
    browser, system, tmp_path
):
    _flows, portal, _sessions = system
    page = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(page)
    page.goto(f"{portal}/federation/dashboard")
    assert page.locator("main svg.chart").count() == 5
    registrations = page.locator("section[aria-labelledby=registrations] svg text")
    expect(registrations.last).to_have_text(re.compile(r"^\d+$"))  # counted by the API (X-Total-Count), not "—"
    page.goto(f"{portal}/federation/institutions")
    page.get_by_role("row").filter(has_text="GZ-SEG").get_by_role("link").click()  # no unit of this stack plans with it
    expect(page.get_by_role("heading", level=1)).to_contain_text("GZ-SEG")
    page.get_by_role("button", name="取消资格").click()  # no reason: refused next to the field
    expect(page.locator("#reason-error")).to_have_text("请填写理由")
    page.get_by_label("理由").fill("年度检查发现虚报学员人数")
    page.get_by_role("button", name="取消资格").click()  # the confirmation is accepted
    expect(page.locator("main .tag.no").first).to_have_text("已取消资格")
    expect(page.get_by_role("row").filter(has_text="年度检查发现虚报学员人数")).to_be_visible()
    page.get_by_label("理由").fill("整改完成，经复查合格")
    page.get_by_role("button", name="恢复资格").click()
    expect(page.get_by_role("button", name="取消资格")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="整改完成")).to_be_visible()
    page.goto(f"{portal}/federation/clients")
    page.get_by_label("客户端名称").fill("东湖学院考试系统")
    page.get_by_label("培训机构编号").fill("GZ-SEG")
    page.get_by_role("button", name="新建并显示密钥").click()
    secret = page.get_by_test_id("secret").inner_text()
    assert len(secret) >= 20
    page.goto(f"{portal}/federation/clients")  # shown once: the page holds no secret when opened again
    assert page.get_by_test_id("secret").count() == 0 and secret not in page.content()
    # The paged list: searched by name; disabled and enabled with a reason (none: refused), the secret rotated.
    page.get_by_label("名称", exact=True).fill("东湖学院")
    page.get_by_role("button", name="筛选").click()
    row = page.get_by_role("row").filter(has_text="东湖学院考试系统")
    expect(row.locator(".tag")).to_have_text("启用")
    expect(page.locator("main tbody tr")).to_have_count(1)
    row.get_by_role("button", name="停用").click()
    expect(page.get_by_text("停用或启用接口客户端须填写理由。")).to_be_visible()
    row.get_by_label("理由").fill("系统迁移，暂停接入")
    row.get_by_role("button", name="停用").click()  # the confirmation is accepted
    expect(row.locator(".tag")).to_have_text("停用")
    row.get_by_label("理由").fill("迁移完成")
    row.get_by_role("button", name="启用").click()
    expect(row.locator(".tag")).to_have_text("启用")
    row.get_by_role("button", name="更换密钥").click()
    rotated = page.get_by_test_id("secret").inner_text()
    assert len(rotated) >= 20 and rotated != secret
    expect(page.get_by_text("旧密钥在")).to_be_visible()
    # The audit trail has the disqualification with its reason; filtered by the entity, and as .xlsx.
    page.get_by_role("link", name="审计日志").click()
    page.get_by_label("对象编号").fill("GZ-SEG")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("row").filter(has_text="年度检查发现虚报学员人数")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    download.value.save_as(tmp_path / "audit.xlsx")
    cells = [
        str(c)
        for row in openpyxl.load_workbook(tmp_path / "audit.xlsx").active.iter_rows(values_only=True)
        for c in row
    ]
    assert "年度检查发现虚报学员人数" in cells
    # and the machine client's disabling, with its reason
    page.get_by_label("对象编号").fill("")
    page.get_by_label("对象类型").fill("machine_client")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("row").filter(has_text="系统迁移，暂停接入")).to_be_visible()
    page.context.close()


def test_an_expired_access_token_is_refreshed_and_logout_revokes_the_login(system):
    """Without a browser: the tokens are in the server-side session file, which the test reads and ages."""
    flows, portal, sessions = system
    client = requests.Session()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(f"{portal}/login").text).group(1)
    client.post(f"{portal}/login", data={"username": "demo.auditor", "password": PASSWORD, "csrf_token": token})
    kept = sessions / hashlib.sha256(client.cookies["portal_session"].encode()).hexdigest()
    stored = json.loads(kept.read_text())
    assert stored["identity"]["role"] == "auditor" and stored["access"] not in client.cookies["portal_session"]

    kept.write_text(json.dumps({**stored, "expires_at": 0}))  # the access token has expired
    assert client.get(f"{portal}/federation/campaigns").status_code == 200
    refreshed = json.loads(kept.read_text())
    assert refreshed["refresh"] != stored["refresh"] and refreshed["expires_at"] > 0

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(f"{portal}/").text).group(1)
    client.post(f"{portal}/logout", data={"csrf_token": token})
    assert not kept.exists()
    again = requests.post(f"{flows.base_url}/auth/refresh", json={"refresh_token": refreshed["refresh"]}, timeout=30)
    assert again.status_code == 401  # revoked at the gateway, not only forgotten by the portal
