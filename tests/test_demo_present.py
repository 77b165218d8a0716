"""What the guided demo prints for people (demo/present.py): Chinese, tables aligned on a terminal, money in yuan
to the fen, and progress bars only on a terminal (pipes and tests read the plain lines)."""

from __future__ import annotations

import io
from decimal import Decimal

from demo.present import Progress, checklist_line, closeout_line, render, seat_line, table, width, yuan


def test_money_is_shown_in_yuan_to_the_fen_without_floats():
    assert yuan("5000000.00") == "¥5,000,000.00"
    assert yuan(Decimal("0.1") + Decimal("0.2")) == "¥0.30"


def test_tables_align_chinese_text_by_its_width_on_a_terminal():
    lines = table(["付款方", "金额（元）"], [["总工会", "¥1.00"], ["unit", "¥12,000.50"]])
    assert len({width(line) for line in lines}) == 1, lines


def test_a_step_says_who_did_what_the_counts_and_the_money_per_payer():
    lines = render(
        9,
        "payments",
        {"payments recorded now": 2, "federation share": "300.00", "unit share": "300.00", "employee share": "0.50"},
        payers={"federation": Decimal("300.00"), "unit": Decimal("300.00"), "employee": Decimal("0.50")},
        note="三方分担",
    )
    text = "\n".join(lines)
    assert "第 9 步 · 学员向培训机构足额缴费" in text
    assert "学员 │ 按费用明细向培训机构缴费" in text
    assert "本次缴费笔数 │ 2" in text
    for row in ("总工会 │ ¥300.00", "单位   │ ¥300.00", "职工   │ ¥0.50", "合计   │ ¥600.50"):
        assert row in text, text
    assert lines[-1] == "   说明：三方分担"


def test_statuses_are_named_in_chinese():
    text = "\n".join(render(8, "registration", {"by status": {"registered": 44, "refused": 1}}))
    assert "已建档 44，未建档（额度不足或被机构退回） 1" in text


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_drawn_on_a_terminal_only():
    piped = io.StringIO()
    Progress("建档", 3, piped).advance()
    assert piped.getvalue() == ""
    terminal = Terminal()
    progress = Progress("建档", 2, terminal)
    progress.advance()
    progress.advance()
    assert terminal.getvalue().endswith("2/2\n") and "1/2" in terminal.getvalue()


def test_the_notice_list_send_and_deadline_steps_speak_chinese():
    notice = "\n".join(
        render(
            9,
            "nominations",
            {"public notice": "GZ-TH-G1: 1 人公示中", "objector seen by the unit": "—", "outcome": "upheld: 属实"},
        )
    )
    assert "民主推荐、公示（5天，免登录可查）与一条实名异议" in notice
    assert "公示（免登录查看，身份证号脱敏） │ GZ-TH-G1: 1 人公示中" in notice
    assert "一级单位看到的异议人" in notice
    sent = "\n".join(render(11, "list_send", {"lists sent now": 3, "unsent seen by an institution": 0}))
    assert "第 11 步 · 一级单位向培训机构报送名单" in sent and "本次报送名单" in sent
    assert "机构可见的未报送人选" in sent
    deadline = "\n".join(render(20, "transfer_deadline", {"deadline status": "due_soon", "participants": 30}))
    assert "年底拨付期限" in deadline and "临近截止" in deadline
    assert "工会已确认、待单位报送 2" in "\n".join(render(8, "registration", {"by status": {"confirmed": 2}}))


def test_the_seat_reuse_and_the_closeout_steps_speak_chinese():
    seats = "\n".join(
        render(
            9,
            "entrance_tests",
            {
                "rejected registrations": ["张三: entrance_test_failed（入学测试未达录取线）"],
                "seats of the unit": [
                    seat_line("held", {"allocated": 1, "available": 0, "released": 0, "reserved": 1}),
                    seat_line("released", {"allocated": 1, "reserved": 0, "available": 1, "released": 1}),
                ],
            },
        )
    )
    assert "第 9 步 · 学历教育入学测试：未通过者被机构退回，名额释放后由同单位另一人选使用" in seats
    assert "被机构退回的建档（1）" in seats
    assert "· 退回前：已分配 1，已预留 1，已释放 0，可用 0" in seats  # quota's order, whatever the JSON's
    assert "· 机构退回后：已分配 1，已预留 0，已释放 1，可用 1" in seats

    unit = {"unit_id": "GZ-TH", "nominated": 46, "registered": 44, "trained": 43, "passed": 43, "certified": 43}
    unit |= {"fees": "120000.00", "federation": "30000.00", "returned_at_close": "1500.50"}
    line = closeout_line(unit, "unit_id")
    assert line == (
        "GZ-TH：推荐 46，建档 44，参训 43，考试通过 43，取得证书 43；"
        "费用 ¥120,000.00，总工会 ¥30,000.00，结项退回 ¥1,500.50"
    )
    institution = {"institution_id": "GZ-GCJS", "nominated": 31, "fees": "0.00", "satisfaction": "83.25"}
    assert closeout_line(institution, "institution_id").endswith("费用 ¥0.00；满意度 83.25")
    unknown_to_finance = {"institution_id": "GZ-FCG", "nominated": 1}
    assert closeout_line(unknown_to_finance, "institution_id").endswith("取得证书 0")
    assert checklist_line({"item": "results_in", "done": False, "open": 2, "total": 45}) == (
        "成绩均已上报：未完成 2 项（共 45 项）"
    )
    assert checklist_line({"item": "objections_decided", "done": True, "open": 0, "total": 1}) == (
        "异议均已处理：已完成（共 1 项）"
    )
    closed = "\n".join(
        render(
            25,
            "closeout",
            {"closed now": True, "ready": False, "status": "closed", "units": [line]},
            note="结项后只可查看",
        )
    )
    assert "第 25 步 · 结项：检查清单、关闭批次、按单位和机构的结项报告" in closed
    assert "本次结项     │ 是" in closed and "清单全部完成 │ 否" in closed
    assert "已结项（只读）" in closed and "按单位（1）" in closed
