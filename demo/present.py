"""What the guided demo prints for people: per step a short Chinese summary, a small table (who did what,
counts, money per payer in yuan) and, for the ledger, what its line means. The step's facts themselves
(English keys, plain values) stay as they are for the tests that read them (Scenario.summary)."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from servicekit.progress import Progress

__all__ = ["Progress", "checklist_line", "closeout_line", "render", "seat_line", "table", "width", "yuan"]

# step -> (title, who, did what)
STEPS = {
    "accounts": ("账号：每个角色一个登录", "总工会管理员", "开设各角色账号与机构考试系统的签名密钥"),
    "units": ("单位（职工人数为示意）", "总工会管理员", "登记一级单位与基层工会"),
    "campaign": ("发布培训计划批次", "总工会", "发布本批次的资金池、学历名额和报名时间"),
    "participation": (
        "选定参加本批次的一级单位",
        "总工会",
        "明确选定参加单位（此处为全部在册单位）；分配发布后只能从预留中增补",
    ),
    "allocation": ("按职工人数加权分配名额（最大余额法）", "总工会", "把学历名额和技能资金分配到各单位"),
    "fund_transfers": ("专项资金划拨（专款专用）", "总工会", "把补贴资金划入单位的专项账户"),
    "catalogue": ("培训项目目录", "培训机构", "发布培训项目与收费"),
    "plans": ("单位培训计划", "一级单位", "选定本单位参加的培训项目"),
    "nominations": (
        "民主推荐、公示（5天，免登录可查）与一条实名异议",
        "基层工会 / 职工",
        "记录民主推荐（会议日期、方式、票数）后公示；职工实名提出异议，工会说明理由作出处理",
    ),
    "confirmation": (
        "参训意愿确认，基层工会确认名单",
        "职工 / 基层工会",
        "确认自愿参训，公示期满、异议处理完毕后确认名单",
    ),
    "list_send": (
        "一级单位向培训机构报送名单",
        "一级单位",
        "按基层工会名单整批报送（注明报送日期）；机构只看到已报送的名单",
    ),
    "registration": ("学员建档，额度系统预留名额或资金", "培训机构 → 额度系统", "为学员建档；额度系统逐一预留或拒绝"),
    "entrance_tests": (
        "学历教育入学测试：未通过者被机构退回，名额释放后由同单位另一人选使用",
        "培训机构 → 额度系统",
        "记录入学测试；退回未通过者的建档，额度系统释放名额；因名额不足被拒的人选重新建档、测试、录取",
    ),
    "payments": ("学员向培训机构足额缴费", "学员", "按费用明细向培训机构缴费"),
    "transfer": ("一次转学（转机构）", "机构申请、单位同意、总工会审核", "学员转到另一机构，补缴差额"),
    "classes": ("组班：专班（>30人）与插班；花名册按工作日报送", "培训机构", "组班、报送花名册、公示（脱敏）、开班"),
    "exams": ("机构考试系统上报成绩（签名请求）", "机构考试系统", "批量上报考试成绩，含一次补考"),
    "certificates": ("颁发证书", "评价服务", "为考试合格的学员颁发证书"),
    "reimbursements": ("向持证学员发放补贴", "单位（从专项账户）", "把总工会份额返还给取得证书的学员"),
    "surveys": ("匿名满意度调查（盲签名）", "学员", "匿名评价培训机构，答卷无法追溯到个人"),
    "scores": ("实地考察与机构评分", "总工会", "实地考察并按学员满意度给机构评分"),
    "disqualification": ("取消芳村工人文化宫的培训资格", "总工会", "取消资格；该机构的新报名被拒绝"),
    "transfer_deadline": ("年底拨付期限：各单位未拨付资金", "总工会", "查看距拨付截止日的天数与各单位尚未拨付的金额"),
    "checks": ("核对：资金可追溯到分", "审计", "核对财务不变量、额度报表和资金台账"),
    "closeout": (
        "结项：检查清单、关闭批次、按单位和机构的结项报告",
        "总工会",
        "查看结项检查清单后关闭批次（此后只可查看）；单位结余退回资金池；导出结项报告（JSON 与 .xlsx）",
    ),
}

# fact key -> Chinese label; money facts are shown in yuan
LABELS = {
    "users made now": "本次新建账号",
    "users": "账号",
    "machine clients": "考试系统客户端",
    "first-level units": "一级单位",
    "grassroots unions": "基层工会",
    "added now": "本次新增",
    "headcount of first-level units": "一级单位职工总数",
    "key-industry units": "重点行业单位",
    "name": "名称",
    "fund": "资金池",
    "academic seats": "学历名额",
    "windows": "时间窗口",
    "total seats": "名额合计",
    "total skills money": "技能补贴资金合计",
    "lines": "分配最多的单位",
    "transfers": "划拨",
    "programmes": "培训项目",
    "skills": "技能类",
    "academic": "学历类",
    "nominated now": "本次新推荐",
    "nominations": "推荐人数",
    "objection": "异议",
    "employee logins": "职工登录名",
    "recommendation": "民主推荐",
    "public notice": "公示（免登录查看，身份证号脱敏）",
    "objector (seen by the union)": "异议人（仅工会与总工会可见）",
    "objector seen by the unit": "一级单位看到的异议人",
    "outcome": "处理结果与理由",
    "chosen now": "本次选定",
    "participants": "参加单位",
    "chosen by the federation": "由总工会明确选定",
    "lists sent now": "本次报送名单",
    "lists": "已报送名单",
    "unsent seen by an institution": "机构可见的未报送人选",
    "awaiting full payment": "待学员缴清全部费用",
    "deadline": "拨付截止日",
    "deadline status": "拨付状态",
    "not transferred": "尚未拨付",
    "units not fully transferred": "未拨付完毕的单位数",
    "largest": "未拨付最多的单位",
    "consents recorded now": "本次记录的参训意愿",
    "confirmed now": "本次确认",
    "not rejected": "未被否决",
    "by status": "各状态人数",
    "refused": "被拒绝",
    "quota used": "额度使用",
    "payments recorded now": "本次缴费笔数",
    "difference paid": "补缴差额",
    "student": "学员",
    "enrolment_id": "报名编号",
    "now at": "现在的机构与项目",
    "status": "状态",
    "classes": "班级",
    "public roster sample": "公示花名册（示例，已脱敏）",
    "attempts": "成绩条数",
    "failed attempts": "不合格次数",
    "retakes": "补考与不合格",
    "issued now": "本次颁发",
    "certificates": "证书总数",
    "public verification": "公开查验",
    "paid now": "本次发放",
    "paid": "已发放",
    "answered now": "本次答卷",
    "answers": "答卷总数",
    "overall (1-5)": "总体满意度（1-5）",
    "averages": "各项平均分",
    "registration answer": "报名的回答",
    "student stays": "学员状态保持",
    "finance invariants": "财务不变量",
    "quota": "额度",
    "admitted now": "本次录取",
    "rejected registrations": "被机构退回的建档",
    "seat taken by": "使用该名额的人选",
    "seats of the unit": "该单位的学历名额",
    "closed now": "本次结项",
    "ready": "清单全部完成",
    "checklist": "结项检查清单",
    "write after close": "结项后的修改请求",
    "units": "按单位",
    "institutions": "按机构",
    "report (.xlsx) bytes": "结项报告 .xlsx（字节）",
}
MONEY = {"total skills money", "difference paid"} | {
    f"{payer} share{tail}" for payer in ("federation", "unit", "employee") for tail in ("", " paid out")
}
LABELS |= {
    f"{payer} share": f"{zh}份额" for payer, zh in (("federation", "总工会"), ("unit", "单位"), ("employee", "职工"))
}
LABELS |= {
    f"{p} share paid out": f"已返还的{zh}份额"
    for p, zh in (("federation", "总工会"), ("unit", "单位"), ("employee", "职工"))
}

STATUS_ZH = {
    "nominated": "公示中",
    "confirmed": "工会已确认、待单位报送",
    "sent": "已报送机构",
    "upheld": "异议成立",
    "dismissed": "异议不成立",
    "transferred": "已拨付完毕",
    "open": "未到期",
    "due_soon": "临近截止",
    "overdue": "已逾期",
    "requested": "待额度确认",
    "registered": "已建档",
    "admitted": "已录取",
    "refused": "未建档（额度不足或被机构退回）",
    "rejected": "异议成立被否决",
    "withdrawn": "已退学",
    "closed": "已结项（只读）",
}
PAYERS = {"federation": "总工会", "unit": "单位", "employee": "职工"}
SEATS = {"allocated": "已分配", "reserved": "已预留", "consumed": "已使用", "spent": "已支付", "released": "已释放"}
SEATS |= {"available": "可用"}
MOMENTS = {"held": "退回前", "released": "机构退回后", "reused": "另一人选建档后", "now": "现在"}
CLOSEOUT_COUNTS = {"nominated": "推荐", "registered": "建档", "trained": "参训", "passed": "考试通过"}
CLOSEOUT_COUNTS |= {"certified": "取得证书"}
CLOSEOUT_MONEY = {"fees": "费用", "federation": "总工会", "unit": "单位", "employee": "职工"}
CLOSEOUT_MONEY |= {"paid_by_employees": "学员已缴", "returned_at_close": "结项退回"}
CHECKLIST = {
    "classes_finished": "班级均已开班",
    "results_in": "成绩均已上报",
    "reimbursements_paid": "补贴均已发放",
    "funds_transferred": "资金均已拨付",
    "objections_decided": "异议均已处理",
}

LEDGER_EXPLAINED = (
    "台账每一行是一名学员：费用合计 = 总工会份额 + 单位份额 + 职工份额，三者相加必须到分相等；"
    "“已付机构”是学员实际缴给培训机构的金额；总工会份额由单位在学员取得证书后从专项账户返还给学员"
    "（“补贴”一栏：payable 待发放，paid 已发放）。"
)


def yuan(amount) -> str:
    """¥1,234.50 from a decimal string or number (exact: Decimal, never float)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return f"¥{value:,.2f}"


def seat_line(moment: str, seats: dict) -> str:
    """A unit's seats at one moment, as quota counts them: 退回前：已分配 1，已预留 1，……"""
    return f"{MOMENTS.get(moment, moment)}：" + "，".join(f"{zh} {seats[k]}" for k, zh in SEATS.items() if k in seats)


def checklist_line(item: dict) -> str:
    """One item of the close-out checklist: 成绩均已上报：未完成 2 项（共 45 项）"""
    name = CHECKLIST.get(item["item"], item["item"])
    state = "已完成" if item["done"] else f"未完成 {item['open']} 项"
    return f"{name}：{state}（共 {item['total']} 项）"


def closeout_line(figures: dict, key: str) -> str:
    """One row of the close-out report: the counts, then money per payer in yuan."""
    counts = "，".join(f"{zh} {figures.get(name, 0)}" for name, zh in CLOSEOUT_COUNTS.items())
    amounts = "，".join(f"{zh} {yuan(figures[name])}" for name, zh in CLOSEOUT_MONEY.items() if name in figures)
    satisfaction = f"满意度 {figures['satisfaction']}" if figures.get("satisfaction") else ""
    return f"{figures[key]}：" + "；".join(part for part in (counts, amounts, satisfaction) if part)


def width(text: str) -> int:
    """Columns on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: list[str], rows: list[list]) -> list[str]:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "  │ " + " │ ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)) + " │"

    rule = "  ├─" + "─┼─".join("─" * w for w in widths) + "─┤"
    return [line(cells[0]), rule, *(line(row) for row in cells[1:])]


def _label(key: str) -> str:
    if key.startswith("ledger rows (of "):
        return f"资金台账（共 {key.removeprefix('ledger rows (of ').rstrip(')')} 行，前几行）"
    return LABELS.get(key, key)


def _value(key: str, value) -> str:
    if key in MONEY:
        return yuan(value) + " 元"
    if key == "by status" and isinstance(value, dict):
        return "，".join(f"{STATUS_ZH.get(s, s)} {n}" for s, n in value.items())
    if isinstance(value, dict):
        return "，".join(f"{k} {yuan(v) if _is_money(v) else v}" for k, v in value.items())
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(STATUS_ZH.get(value, value)) if isinstance(value, str) else str(value)


def _is_money(value) -> bool:
    return isinstance(value, str) and value.replace(".", "", 1).isdigit() and "." in value


def render(number: int, name: str, facts: dict, *, payers: dict | None = None, note: str | None = None) -> list[str]:
    """The step as printed: title, who did what, the facts (lists shortened), money per payer, a note."""
    title, who, did = STEPS.get(name, (name, "", ""))
    lines = [f"\n== 第 {number} 步 · {title}", *table(["谁", "做了什么"], [[who, did]])]
    rows, lists = [], []
    for key, value in facts.items():
        if payers and key in MONEY:
            continue  # in the payers' table below
        if isinstance(value, list):
            lists.append((key, value))
        else:
            rows.append([_label(key), _value(key, value)])
    if rows:
        lines += table(["项目", "结果"], rows)
    for key, values in lists:
        lines.append(f"   {_label(key)}（{len(values)}）：")
        lines += [f"     · {v}" for v in values[:6]] + (
            [f"     · ……另 {len(values) - 6} 项"] if len(values) > 6 else []
        )
    if payers:
        total = sum((Decimal(str(v)) for v in payers.values()), Decimal(0))
        lines += table(
            ["付款方", "金额（元）"],
            [[PAYERS.get(p, p), yuan(v)] for p, v in payers.items()] + [["合计", yuan(total)]],
        )
    if note:
        lines.append(f"   说明：{note}")
    return lines
