"""The federation's oversight in a real browser against the real stack (as tests/test_portal.py): the admin
records an on-site inspection of an institution (its marks checked as entered), sets the notice threshold,
evaluates the institution, which is notified; then sees the campaign's close-out checklist, closes the campaign
with a reason, and downloads the close-out report (.xlsx) whose figure per unit is the transfer made. The auditor
sees these pages with no control to change anything, and the inspection the module's set-up recorded through the
API (each test stands alone, in any order). The campaign closes here: this module has its own stack."""

from __future__ import annotations

from datetime import timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from demo.scenario import ELECTRICIAN

from .support.browser import accept_dialogs, log_in
from .support.campaign import ADMIN, PASSWORD, Flows, shared_system
from .support.portal import portal_before
from .test_portal_institution import until

pytestmark = pytest.mark.servers  # the browser (Debian's Chromium, skipped without it): tests/support/browser.py
# GZ-SYG: an institution with an operator of its own (syg.operator), who answers the notice
INSTITUTION, OPERATOR, UNIT, TRANSFERRED = "GZ-SYG", "syg.operator", "GZ-TH", "1000.00"
RECORDED = "区总工会复查组"  # the inspector of the inspection the set-up records through the API


@pytest.fixture(scope="module")
def system(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal-oversight")
    with shared_system(servers, vhost, tmp) as url:
        flows = Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()
        flows.plan(UNIT, [ELECTRICIAN])
        flows.until_accepted(
            lambda: flows.fed.post(
                "/api/finance/transfers",
                {
                    "campaign_id": flows.campaign_id,
                    "unit_id": UNIT,
                    "kind": "skills",
                    "amount": TRANSFERRED,
                    "transferred_on": flows.today.isoformat(),
                    "reference": "穗工财〔结项〕1号",
                },
            ),
            "finance to know the allocation",
        )
        flows.until_accepted(
            lambda: flows.fed.post(
                "/api/evaluation/inspections",
                {
                    "campaign_id": flows.campaign_id,
                    "institution_id": INSTITUTION,
                    "inspector": RECORDED,
                    "inspected_on": flows.today.isoformat(),
                    "scores": {"教学场地": 20},
                },
            ),
            "evaluation to know the campaign and the institution",
        )
        with portal_before(url, tmp) as portal:
            yield flows, portal


def test_federation_admin_inspects_notifies_and_closes_the_campaign(browser, system, tmp_path):
    flows, portal = system
    page = log_in(browser, portal, ADMIN[0], ADMIN[1])
    accept_dialogs(page)

    # The notice threshold raised (a bad one refused next to its field first).
    page.get_by_role("link", name="检查与通报").click()
    page.get_by_role("link", name="评分权重与通报线").click()
    threshold = page.get_by_label("通报线（综合评分低于此分即通报）", exact=True)
    threshold.fill("101")
    page.get_by_role("button", name="保存权重与通报线").click()
    expect(page.locator("#notice_threshold-error")).to_be_visible()
    page.get_by_label("通报线（综合评分低于此分即通报）", exact=True).fill("90")
    page.get_by_role("button", name="保存权重与通报线").click()
    expect(page.get_by_role("status").filter(has_text="已保存评分权重与通报线")).to_be_visible()

    # An inspection of the institution: a mark out of range refused as typed in, then recorded.
    page.goto(f"{portal}/federation/institutions/{INSTITUTION}")
    page.get_by_role("link", name="实地考察、评估与通报").click()
    page.get_by_label("考察人员", exact=True).fill("市总工会督导组")
    page.get_by_label("考察日期", exact=True).fill(flows.today.isoformat())
    page.get_by_label("第 1 项得分", exact=True).fill("101")
    page.get_by_label("第 2 项得分", exact=True).fill("40")
    page.get_by_role("button", name="记录考察").click()
    expect(page.locator("#marks-0-score-error")).to_contain_text("0 到 100")
    page.get_by_label("第 1 项得分", exact=True).fill("30")
    page.get_by_label("考察情况说明", exact=True).fill("教学场地狭小，学员签到记录不全")
    page.get_by_role("button", name="记录考察").click()
    expect(page.get_by_role("status").filter(has_text="已记录")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="市总工会督导组")).to_contain_text("教学场地 30")

    # Evaluated: the inspections' marks (this one's and the set-up's, the only criterion with data) are below 90, so
    # it is notified, and asked for its rectification report by the date picked.
    inspections, due = page.url, flows.today + timedelta(days=14)

    def notified(page) -> bool:
        page.get_by_label("整改报告截止日期", exact=True).fill(due.isoformat())
        with page.expect_navigation():
            page.get_by_role("button", name="评估并按结果通报").click()  # the confirmation is accepted
        return page.get_by_role("status").filter(has_text="已向该机构发出通报").count() > 0

    until(page, inspections, notified, "evaluation to know the campaign and the institution")
    notices = page.locator("section[aria-labelledby=notices] tbody")
    until(page, inspections, lambda p: "低于通报线" in notices.inner_text(), "enrollment to list the notice")
    expect(notices).to_contain_text(due.isoformat())
    expect(notices).to_contain_text("待整改")

    # The institution: its 工作台 counts the notice awaiting its report; it reports on 评分与通报.
    operator = log_in(browser, portal, OPERATOR)
    task = operator.get_by_role("link").filter(has_text="待提交整改报告的通报")
    expect(task.locator(".count")).to_have_text("1")
    task.click()
    received = operator.locator("section[aria-labelledby=notices] tbody tr").filter(has_text="低于通报线")
    expect(received).to_contain_text(due.isoformat())
    expect(received).to_contain_text("还有 14 天")
    received.get_by_label("整改报告", exact=True).fill("已扩建教学场地，补全学员签到记录")
    received.get_by_role("button", name="提交整改报告").click()
    expect(operator.get_by_role("status").filter(has_text="已提交整改报告")).to_be_visible()
    expect(received).to_contain_text("已报告待审核")

    # The federation: its 工作台 counts the report awaiting its verdict; not accepted (why), then accepted revised.
    page.goto(f"{portal}/")
    task = page.get_by_role("link").filter(has_text="待审核的整改报告")
    expect(task.locator(".count")).to_have_text("1")
    task.click()
    reported = page.get_by_role("row").filter(has_text="已扩建教学场地")
    reported.get_by_label("不予认可的理由", exact=True).fill("未附整改前后照片")
    reported.get_by_role("button", name="不予认可").click()  # the confirmation is accepted
    expect(page.get_by_role("status").filter(has_text="整改不予认可")).to_be_visible()
    operator.reload()
    expect(received).to_contain_text("整改未认可")
    expect(received).to_contain_text("未附整改前后照片")
    received.get_by_label("修订整改报告", exact=True).fill("已扩建教学场地，补全学员签到记录，附整改前后照片")
    received.get_by_label("修订原因", exact=True).fill("补充照片")
    received.get_by_role("button", name="提交修订").click()
    expect(received).to_contain_text("第 2 版")
    page.goto(f"{portal}/federation/inspections?tab=notices&state=answered")
    page.get_by_role("row").filter(has_text="附整改前后照片").get_by_role("button", name="认可整改").click()
    expect(page.get_by_role("status").filter(has_text="已认可该机构的整改")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="附整改前后照片")).to_have_count(0)  # no longer awaiting
    operator.reload()
    expect(received).to_contain_text("整改已认可")
    expect(received.get_by_role("button")).to_have_count(0)
    operator.context.close()

    # The close-out: the checklist, then closed with a reason (none: refused next to the field).
    campaign = flows.fed.get(f"/api/quota/campaigns/{flows.campaign_id}")
    page.get_by_role("link", name="计划管理").click()
    page.get_by_role("link", name=f"结项检查与结项 {campaign['name']}").click()  # the hidden name: a block
    checklist = page.locator("section[aria-labelledby=checklist] tbody tr")
    expect(checklist).to_have_count(5)
    expect(checklist.filter(has_text="专款已全部拨付")).to_be_visible()
    page.get_by_role("button", name="确认结项").click()
    expect(page.locator("#reason-error")).to_have_text("请填写结项说明")
    page.get_by_label("结项说明", exact=True).fill("本年度培训工作已全部完成，经市总工会审定结项")
    page.get_by_label("未使用专款的处理", exact=True).select_option("return_to_pool")
    page.get_by_role("button", name="确认结项").click()  # the confirmation is accepted
    expect(page.get_by_role("status").filter(has_text="已结项")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("已结项")
    expect(page.get_by_role("button", name="确认结项")).to_have_count(0)

    # After the close: what the unit held unspent went back to the pool (finance hears of the close).
    unspent = page.locator("table[aria-labelledby=unspent] tr", has_text=UNIT)  # transferred, unspent, returned
    until(
        page,
        page.url,
        lambda p: unspent.locator("td").nth(3).inner_text() == TRANSFERRED,
        "finance to hear of the close",
    )
    expect(unspent.locator("td").nth(1)).to_have_text(TRANSFERRED)
    expect(unspent.locator("td").nth(2)).to_have_text("0.00")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载结项报告（.xlsx）").click()
    download.value.save_as(tmp_path / "closeout.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "closeout.xlsx").active.iter_rows(values_only=True))
    header = list(rows[0])
    unit_row = next(row for row in rows if row[header.index("编号 Id")] == UNIT)
    assert unit_row[header.index("已划拨 Transferred")] == float(TRANSFERRED)
    assert unit_row[header.index("结项退回 Returned at close")] == float(TRANSFERRED)
    page.context.close()


def test_auditor_sees_inspections_notices_and_the_closeout_without_controls(browser, system):
    flows, portal = system
    page = log_in(browser, portal, "demo.auditor")
    for path, heading in [
        ("/federation/inspections", "检查与通报"),
        ("/federation/inspections?tab=notices", "检查与通报"),
        ("/federation/inspections?tab=settings", "检查与通报"),
        (f"/federation/institutions/{INSTITUTION}/inspections", "实地考察与通报"),
        (f"/federation/campaigns/{flows.campaign_id}/closeout", "计划结项"),
    ]:
        page.goto(portal + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        main = page.locator("main")
        assert main.locator("form[method=post]").count() == 0, path  # no write control rendered
        assert main.locator("table").count() >= 1, path
    page.goto(f"{portal}/federation/institutions/{INSTITUTION}/inspections")
    expect(page.get_by_role("row").filter(has_text=RECORDED)).to_contain_text("教学场地 20")
    answer = page.request.post(f"{portal}/federation/institutions/{INSTITUTION}/evaluation")
    assert answer.status in (400, 403)
    page.context.close()
