"""The federation's pages: campaigns, units, allocation, fund transfers, reviews, users.

The auditor sees every page read-only: no write control is rendered (`can_write` in the templates), the write
routes here refuse it, and the gateway refuses it anyway.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import gateway
from ..app import FEDERATION, FEDERATION_ADMIN, current_campaign, forget_campaigns, requires
from ..forms import import_refusal, options, show_problem
from ..gateway import Problem

blueprint = Blueprint("federation", __name__, url_prefix="/federation")
CHINA = ZoneInfo("Asia/Shanghai")
SPREADSHEETS = FileAllowed(["xlsx", "csv"], _l("请上传 .xlsx 或 .csv 文件"))


def today() -> date:
    from datetime import datetime

    return datetime.now(CHINA).date()


def the_campaign() -> dict:
    campaign = current_campaign()
    if campaign is None:
        raise Problem(404, {"detail": _("还没有计划：请先新建一个计划。")})
    return campaign


def enrolments_in_status(statuses: tuple[str, ...]) -> dict:
    """One page of the current campaign's enrolments in the status asked (else the first of `statuses`), searched
    by `q`: what the institution's students page and the union's studies page render."""
    campaign = the_campaign()
    status = request.args.get("status") if request.args.get("status") in statuses else statuses[0]
    page = gateway.page(
        "/api/enrollment/enrolments",
        campaign_id=campaign["id"],
        status=status,
        q=(request.args.get("q") or "").strip()[:50],
        cursor=request.args.get("cursor"),
    )
    return {"campaign": campaign, "page": page, "status": status, "q": request.args.get("q", "")}


# ---------------------------------------------------------------- campaigns


class CampaignForm(FlaskForm):
    name = StringField(_l("计划名称"), validators=[DataRequired(_l("请填写计划名称")), Length(max=200)])
    year = IntegerField(_l("年度"), validators=[InputRequired(_l("请填写年度")), NumberRange(2000, 2100)])
    academic = DecimalField(_l("学历提升资金（元）"), places=2, validators=[Optional()])
    skills = DecimalField(_l("技能提升资金（元）"), places=2, validators=[Optional()])
    subsidy = DecimalField(_l("学历每人补贴（元）"), places=2, validators=[Optional()])
    public_notice_days = IntegerField(_l("公示天数"), validators=[Optional(), NumberRange(0, 60)])


@blueprint.route("/campaigns", methods=["GET", "POST"])
@requires(*FEDERATION)
def campaigns():
    form = CampaignForm(year=today().year)
    listed = gateway.every("/api/quota/campaigns")  # one or two a year: read whole (not the first 50 only)
    if request.method == "POST":
        _only_admin()
        if form.validate():
            body = {"name": form.name.data.strip(), "year": form.year.data}
            pools = {k: str(getattr(form, k).data) for k in ("academic", "skills") if getattr(form, k).data is not None}
            if pools:
                body["fund_pools"] = pools
            if form.subsidy.data is not None:
                body["academic_subsidy_per_student"] = str(form.subsidy.data)
            if form.public_notice_days.data is not None:
                body["public_notice_days"] = form.public_notice_days.data
            try:
                made = gateway.post("/api/quota/campaigns", body)
            except Problem as error:
                show_problem(form, error, {"fund_pools": "academic", "academic_subsidy_per_student": "subsidy"})
                return render_template(
                    "federation/campaigns.html", form=form, listed=listed, form_error=error.detail
                ), 422
            forget_campaigns()
            flash(_("已新建计划“%(name)s”（草稿）。", name=made["name"]), "ok")
            return redirect(url_for("federation.campaigns"))
    return render_template("federation/campaigns.html", form=form, listed=listed, form_error=None)


@blueprint.route("/campaigns/<campaign_id>/publish", methods=["POST"])
@requires(FEDERATION_ADMIN)
def publish_campaign(campaign_id):
    made = gateway.post(f"/api/quota/campaigns/{campaign_id}/publish")
    forget_campaigns()
    flash(_("已发布计划“%(name)s”。", name=made["name"]), "ok")
    return redirect(url_for("federation.campaigns"))


class SettingsForm(FlaskForm):
    name = StringField(_l("计划名称"), validators=[DataRequired(_l("请填写计划名称")), Length(max=200)])
    academic = DecimalField(_l("学历提升资金（元）"), places=2, validators=[InputRequired(_l("请填写金额"))])
    skills = DecimalField(_l("技能提升资金（元）"), places=2, validators=[InputRequired(_l("请填写金额"))])
    subsidy = DecimalField(_l("学历每人补贴（元）"), places=2, validators=[InputRequired(_l("请填写金额"))])
    key_industry_weight = DecimalField(_l("重点行业权重"), places=2, validators=[InputRequired(_l("请填写权重"))])
    public_notice_days = IntegerField(_l("公示天数"), validators=[InputRequired(_l("请填写天数")), NumberRange(0, 60)])
    dedicated_class_threshold = IntegerField(
        _l("单独开班人数"), validators=[InputRequired(_l("请填写人数")), NumberRange(1, 1000)]
    )
    registration_start = DateField(_l("报名开始"), validators=[InputRequired(_l("请填写日期"))])
    registration_end = DateField(_l("报名截止"), validators=[InputRequired(_l("请填写日期"))])
    study_start = DateField(_l("学习开始"), validators=[InputRequired(_l("请填写日期"))])
    study_end = DateField(_l("学习结束"), validators=[InputRequired(_l("请填写日期"))])
    exams_from = DateField(_l("考试开始"), validators=[InputRequired(_l("请填写日期"))])
    transfer_deadline = DateField(_l("专款拨付期限"), validators=[Optional()])


WINDOWS = ("registration_start", "registration_end", "study_start", "study_end", "exams_from")
# the API's field names (a nested one as "parent.child") -> the settings form's fields
SETTINGS_FIELDS = {
    "fund_pools": "academic",
    "fund_pools.academic": "academic",
    "fund_pools.skills": "skills",
    "academic_subsidy_per_student": "subsidy",
    **{f"windows.{name}": name for name in WINDOWS},
}


@blueprint.route("/campaigns/<campaign_id>", methods=["GET", "POST"])
@requires(*FEDERATION)
def campaign_settings(campaign_id):
    """One campaign's settings; the admin changes them (a published campaign announces the new revision)."""
    campaign = gateway.get(f"/api/quota/campaigns/{campaign_id}")
    windows = campaign.get("windows") or {}
    form = SettingsForm(
        data={
            "name": campaign["name"],
            "academic": Decimal(campaign["fund_pools"]["academic"]),
            "skills": Decimal(campaign["fund_pools"]["skills"]),
            "subsidy": Decimal(campaign["academic_subsidy_per_student"]),
            "key_industry_weight": Decimal(campaign["key_industry_weight"]),
            "public_notice_days": campaign["public_notice_days"],
            "dedicated_class_threshold": campaign["dedicated_class_threshold"],
            "transfer_deadline": date.fromisoformat(campaign["transfer_deadline"])
            if campaign.get("transfer_deadline")
            else None,
            **{name: date.fromisoformat(windows[name]) for name in WINDOWS if windows.get(name)},
        }
    )
    form_error, status = None, 200
    if request.method == "POST":
        _only_admin()
        form = SettingsForm()
        if form.validate():
            body = {
                "name": form.name.data.strip(),
                "fund_pools": {"academic": str(form.academic.data), "skills": str(form.skills.data)},
                "academic_subsidy_per_student": str(form.subsidy.data),
                "key_industry_weight": str(form.key_industry_weight.data),
                "public_notice_days": form.public_notice_days.data,
                "dedicated_class_threshold": form.dedicated_class_threshold.data,
                "windows": {name: getattr(form, name).data.isoformat() for name in WINDOWS},
            }
            if form.transfer_deadline.data:
                body["transfer_deadline"] = form.transfer_deadline.data.isoformat()
            try:
                changed = gateway.call("PATCH", f"/api/quota/campaigns/{campaign_id}", json=body).json()
            except Problem as error:
                form_error, status = show_problem(form, _flat(error), SETTINGS_FIELDS), error.status
            else:
                forget_campaigns()
                flash(_("已保存计划“%(name)s”的设置。", name=changed["name"]), "ok")
                return redirect(url_for("federation.campaign_settings", campaign_id=campaign_id))
        else:
            status = 422
    return render_template("federation/campaign.html", campaign=campaign, form=form, form_error=form_error), status


def _flat(error: Problem) -> Problem:
    """The problem with nested field errors ({"windows": {"study_end": [...]}}) named "windows.study_end"."""
    flat: dict = {}
    for name, messages in (error.errors or {}).items():
        if isinstance(messages, dict):
            flat.update({f"{name}.{inner}": text for inner, text in messages.items()})
        else:
            flat[name] = messages
    return Problem(error.status, {**error.body, "errors": flat}, error.retry_after)


# ---------------------------------------------------------------- working-day calendar


class CalendarForm(FlaskForm):
    days = TextAreaField(
        _l("节假日与调休上班日（每行一天：日期,是否上班,名称）"),
        validators=[DataRequired(_l("请填写至少一天")), Length(max=20_000)],
    )


@blueprint.route("/calendar", methods=["GET", "POST"])
@requires(*FEDERATION)
def calendar():
    """A year's public holidays and make-up working days (the State Council's arrangement) as loaded, and the
    admin loads (replaces) a year: the lines go to the API's import, which reports every bad line."""
    try:
        year = int(request.args.get("year") or today().year)
    except ValueError:
        year = today().year
    year = min(max(year, 2000), 2100)
    form, report, status = CalendarForm(), None, 200
    if request.method == "POST":
        _only_admin()
        if form.validate():
            lines = [line.strip() for line in form.days.data.splitlines() if line.strip()]
            text = "日期 Day,是否上班 Working day (是/否),名称 Name\n" + "\n".join(lines) + "\n"
            try:
                loaded = gateway.post(
                    f"/api/enrollment/calendar/{year}/import",
                    None,
                    files={"file": ("calendar.csv", text.encode(), "text/csv")},
                )
            except Problem as error:
                report, status = import_refusal(error), error.status
            else:
                flash(_("已载入 %(year)s 年的工作日安排（%(n)s 天）。", year=year, n=len(loaded["days"])), "ok")
                return redirect(url_for("federation.calendar", year=year))
        else:
            status = 422
    shown = gateway.get(f"/api/enrollment/calendar/{year}")
    if request.method == "GET":
        form.days.data = "\n".join(f"{d['day']},{'是' if d['workday'] else '否'},{d['name']}" for d in shown["days"])
    return render_template("federation/calendar.html", year=year, shown=shown, form=form, report=report), status


# ---------------------------------------------------------------- dead letters and stalled items

SERVICES = {
    "quota": _l("指标服务"),
    "enrollment": _l("报名服务"),
    "finance": _l("资金服务"),
    "evaluation": _l("评估服务"),
}


class ReplayForm(FlaskForm):
    reason = TextAreaField(_l("重新投递原因"), validators=[DataRequired(_l("请填写原因")), Length(max=500)])


def _counted(path: str) -> int | None:
    """A list's total, or None where the service has no such list (no saga: no stalled items)."""
    try:
        return gateway.count(path)
    except Problem as error:
        if error.status in (404, 405):
            return None
        raise


@blueprint.route("/operations", methods=["GET", "POST"])
@requires(*FEDERATION)
def operations():
    """Each service's stalled saga items and dead letters (counts of all four), one service's lists in full (paged);
    the admin replays chosen dead letters with a reason (audited by the service)."""
    service = request.args.get("service") if request.args.get("service") in SERVICES else "enrollment"
    form, form_error, status = ReplayForm(), None, 200
    if request.method == "POST":
        _only_admin()
        ids = request.form.getlist("dead_id")
        if not ids:
            form_error, status = _("请勾选要重新投递的消息。"), 422
        elif form.validate():
            try:
                done = gateway.post(
                    f"/api/{service}/dead-letters/replay", {"ids": ids, "reason": form.reason.data.strip()}
                )
            except Problem as error:
                form_error, status = show_problem(form, error), error.status
            else:
                flash(_("已重新投递 %(n)s 条消息。", n=len(done["replayed"])), "ok")
                return redirect(url_for("federation.operations", service=service))
        else:
            status = 422
    summary = [
        (name, label, _counted(f"/api/{name}/stalled"), _counted(f"/api/{name}/dead-letters"))
        for name, label in SERVICES.items()
    ]
    stalled = next(row[2] for row in summary if row[0] == service)
    return render_template(
        "federation/operations.html",
        service=service,
        summary=summary,
        stalled=None
        if stalled is None
        else gateway.page(f"/api/{service}/stalled", sort="waiting_since", cursor=request.args.get("cursor")),
        letters=gateway.page(
            f"/api/{service}/dead-letters", limit=100, count="true", cursor=request.args.get("letters_cursor")
        ),
        form=form,
        form_error=form_error,
    ), status


def _only_admin():
    from ..app import me

    if me().get("role") != FEDERATION_ADMIN:
        raise Problem(403, {"detail": _("审计人员只能查看，不能修改。")})


# ---------------------------------------------------------------- units


class ImportForm(FlaskForm):
    file = FileField(_l("单位名册文件（.xlsx）"), validators=[FileRequired(_l("请选择文件")), SPREADSHEETS])


CATEGORY_CHOICES = [
    ("district", _l("区总工会")),
    ("industry", _l("产业工会")),
    ("directly_affiliated", _l("直属单位")),
    ("grassroots", _l("基层工会")),
]


class UnitForm(FlaskForm):
    id = StringField(_l("单位编号"), validators=[DataRequired(_l("请填写单位编号")), Length(max=50)])
    name = StringField(_l("单位名称"), validators=[DataRequired(_l("请填写单位名称")), Length(max=200)])
    category = SelectField(_l("类别"), choices=options(CATEGORY_CHOICES))
    parent_id = StringField(_l("上级一级单位编号（基层工会填写）"), validators=[Optional(), Length(max=50)])
    headcount = IntegerField(
        _l("会员人数"), validators=[InputRequired(_l("请填写会员人数")), NumberRange(0, 10_000_000)]
    )
    key_industry = BooleanField(_l("重点产业"))


class RetireForm(FlaskForm):
    reason = TextAreaField(_l("撤销或合并原因"), validators=[DataRequired(_l("请填写原因")), Length(max=500)])
    successor_id = StringField(
        _l("并入的一级单位编号（合并时填写；留空即撤销）"), validators=[Optional(), Length(max=50)]
    )


def _units_page(
    form=None, retire_form=None, import_form=None, report=None, form_error=None, retire_error=None, status=200
):
    """One page of units: the first-level units by name, a search over every unit (`q`), or one first-level unit
    with its grassroots unions (`parent`). Never the whole list: the API's pages, 50 a page, with the total."""
    parent_id, q = request.args.get("parent") or None, (request.args.get("q") or "").strip() or None
    parent = gateway.get(f"/api/quota/units/{parent_id}") if parent_id else None
    filters = {"parent_id": parent_id} if parent_id else ({"q": q} if q else {"level": "first_level"})
    page = gateway.page("/api/quota/units", sort="name", count="true", cursor=request.args.get("cursor"), **filters)
    return (
        render_template(
            "federation/units.html",
            page=page,
            parent=parent,
            q=q,
            form=form or UnitForm(),
            import_form=import_form or ImportForm(),
            retire_form=retire_form or RetireForm(),
            report=report,
            form_error=form_error,
            retire_error=retire_error,
        ),
        status,
    )


@blueprint.route("/units")
@requires(*FEDERATION)
def units():
    return _units_page()


@blueprint.route("/units/new", methods=["POST"])
@requires(FEDERATION_ADMIN)
def create_unit():
    form = UnitForm()
    if not form.validate():
        return _units_page(form=form, status=422)
    grassroots = form.category.data == "grassroots"
    body = {
        "id": form.id.data.strip(),
        "name": form.name.data.strip(),
        "level": "grassroots" if grassroots else "first_level",
        "category": form.category.data,
        "parent_id": (form.parent_id.data or "").strip() or None,
        "headcount": form.headcount.data,
        "key_industry": bool(form.key_industry.data),
    }
    try:
        made = gateway.post("/api/quota/units", body)
    except Problem as error:
        return _units_page(form=form, form_error=show_problem(form, error), status=error.status)
    flash(_("已新建单位“%(name)s”（%(id)s）。", name=made["name"], id=made["id"]), "ok")
    return redirect(url_for("federation.units", parent=made.get("parent_id") or None))


@blueprint.route("/units/<unit_id>/retirement", methods=["POST"])
@requires(FEDERATION_ADMIN)
def retire_unit(unit_id):
    form = RetireForm()
    if not form.validate():
        return _units_page(retire_form=form, status=422)
    body = {"reason": form.reason.data.strip()}
    if (form.successor_id.data or "").strip():
        body["successor_id"] = form.successor_id.data.strip()
    try:
        done = gateway.post(f"/api/quota/units/{unit_id}/retirement", body)
    except Problem as error:
        return _units_page(retire_form=form, retire_error=show_problem(form, error), status=error.status)
    moved = len(done.get("grassroots_unions_moved") or [])
    flash(
        _(
            "已将“%(name)s”并入 %(successor)s，转入 %(n)s 个基层工会。",
            name=done["name"],
            successor=body["successor_id"],
            n=moved,
        )
        if "successor_id" in body
        else _("已撤销“%(name)s”：历史记录保留，不再参与新的分配和报名。", name=done["name"]),
        "ok",
    )
    return redirect(url_for("federation.units", parent=unit_id))


@blueprint.route("/units/import", methods=["POST"])
@requires(FEDERATION_ADMIN)
def import_units():
    """The import's result in place of the form (htmx) or on the page: counts, or the report of every bad row."""
    form = ImportForm()
    report, status = None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            done = gateway.post(
                "/api/quota/units/import",
                None,
                files={"file": (upload.filename, upload.read(), upload.mimetype or "application/octet-stream")},
            )
            report = {"ok": True, "imported": done.get("imported"), "changed": done.get("changed")}
        except Problem as error:
            report, status = import_refusal(error), error.status
    if request.headers.get("HX-Request"):
        return render_template("federation/_import_result.html", import_form=form, report=report)
    return _units_page(import_form=form, report=report, status=status)


# ---------------------------------------------------------------- allocation


WHAT_IF = ("academic_pool", "skills_pool", "academic_subsidy_per_student", "key_industry_weight")


class WhatIfForm(FlaskForm):
    """Settings to try before publishing (GET: nothing is saved)."""

    class Meta:
        csrf = False

    academic_pool = DecimalField(_l("学历提升资金（元）"), places=2, validators=[Optional(), NumberRange(0)])
    skills_pool = DecimalField(_l("技能提升资金（元）"), places=2, validators=[Optional(), NumberRange(0)])
    academic_subsidy_per_student = DecimalField(
        _l("学历每人补贴（元）"), places=2, validators=[Optional(), NumberRange(Decimal("0.01"))]
    )
    key_industry_weight = DecimalField(_l("重点行业权重"), places=2, validators=[Optional(), NumberRange(0, 99)])


class LineEditForm(FlaskForm):
    unit_id = SelectField(_l("单位"), validators=[DataRequired(_l("请选择单位"))])
    academic_seats = IntegerField(_l("学历名额"), validators=[Optional(), NumberRange(0, 10_000_000)])
    skills_money = StringField(_l("技能资金（元）"), validators=[Optional(), Length(max=20)])
    reason = TextAreaField(_l("调整原因"), validators=[DataRequired(_l("请填写调整原因")), Length(max=500)])


@blueprint.route("/allocation", methods=["GET", "POST"])
@requires(*FEDERATION)
def allocation():
    """The saved allocation (or the proposal), a what-if preview with other settings, line edits with reasons."""
    campaign = the_campaign()
    base = f"/api/quota/campaigns/{campaign['id']}/allocation"
    what_if = WhatIfForm(request.args)
    tried = {name: str(getattr(what_if, name).data) for name in WHAT_IF if getattr(what_if, name).data is not None}
    edit, edit_error, status = LineEditForm(), None, 200
    if request.method == "POST":
        _only_admin()
        current = gateway.get(base)
        edit.unit_id.choices = options([(line["unit_id"], line["unit_name"]) for line in current["lines"]])
        if edit.validate():
            body = {"reason": edit.reason.data.strip()}
            if edit.academic_seats.data is not None:
                body["academic_seats"] = edit.academic_seats.data
            if (edit.skills_money.data or "").strip():
                body["skills_money"] = edit.skills_money.data.replace(",", "").strip()
            try:
                gateway.call("PATCH", f"{base}/lines/{edit.unit_id.data}", json=body)
            except Problem as error:
                edit_error, status = show_problem(edit, error), error.status
            else:
                flash(_("已调整该单位的指标，调整原因已记入变更记录。"), "ok")
                return redirect(url_for("federation.allocation"))
        else:
            status = 422
    elif tried and what_if.validate():
        try:
            current = gateway.get(f"{base}/preview", **tried)
        except Problem as error:
            show_problem(what_if, error)
            current, tried = _saved_or_proposed(base), {}
    else:
        current, tried = _saved_or_proposed(base), {}
    edit.unit_id.choices = options(
        [("", _("请选择"))] + [(line["unit_id"], line["unit_name"]) for line in current["lines"]]
    )
    changes = (
        gateway.page(f"{base}/changes", sort="-changed_at", limit=20, cursor=request.args.get("cursor"))
        if current.get("id")
        else None
    )
    largest = max((line["academic_seats"] for line in current["lines"]), default=0) or 1
    return render_template(
        "federation/allocation.html",
        campaign=campaign,
        allocation=current,
        largest=largest,
        what_if=what_if,
        tried=tried,
        edit=edit,
        edit_error=edit_error,
        changes=changes,
    ), status


def _saved_or_proposed(base: str) -> dict:
    try:
        return gateway.get(base)
    except Problem as error:
        if error.status != 404:
            raise
        return gateway.get(f"{base}/preview")


@blueprint.route("/allocation/save", methods=["POST"])
@requires(FEDERATION_ADMIN)
def save_allocation():
    campaign = the_campaign()
    gateway.post(f"/api/quota/campaigns/{campaign['id']}/allocation")
    flash(_("已按预览保存分配方案（草稿），核对后请发布。"), "ok")
    return redirect(url_for("federation.allocation"))


@blueprint.route("/allocation/publish", methods=["POST"])
@requires(FEDERATION_ADMIN)
def publish_allocation():
    campaign = the_campaign()
    gateway.post(f"/api/quota/campaigns/{campaign['id']}/allocation/publish")
    flash(_("指标分配已发布，各单位可以查看本单位指标。"), "ok")
    return redirect(url_for("federation.allocation"))


@blueprint.route("/allocation/export.xlsx")
@requires(*FEDERATION)
def export_allocation():
    campaign = the_campaign()
    return xlsx_download(
        f"/api/quota/campaigns/{campaign['id']}/allocation/export", f"allocation-{campaign['year']}.xlsx"
    )


def xlsx_download(path: str, filename: str, params: dict | None = None) -> Response:
    answer = gateway.call("GET", path, params={**(params or {}), "format": "xlsx"})
    return Response(
        answer.content,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---------------------------------------------------------------- fund transfers


class TransferForm(FlaskForm):
    unit_id = SelectField(_l("拨付单位"), validators=[DataRequired(_l("请选择单位"))])
    kind = SelectField(_l("资金类别"), choices=options([("skills", _l("技能提升")), ("academic", _l("学历提升"))]))
    amount = StringField(_l("金额（元）"), validators=[DataRequired(_l("请填写金额"))])
    transferred_on = DateField(_l("拨付日期"), validators=[InputRequired(_l("请填写日期"))])
    reference = StringField(_l("拨付文号"), validators=[DataRequired(_l("请填写文号")), Length(max=100)])


@blueprint.route("/transfers", methods=["GET", "POST"])
@requires(*FEDERATION)
def transfers():
    campaign = the_campaign()
    lines = _published_lines(campaign)
    form = TransferForm(transferred_on=today())
    form.unit_id.choices = options([("", _("请选择"))] + [(line["unit_id"], line["unit_name"]) for line in lines])
    form_error, status = None, 200
    if request.method == "POST":
        _only_admin()
        if form.validate():
            try:
                amount = Decimal(form.amount.data.replace(",", "").strip())
            except InvalidOperation:
                amount = None
            if amount is None or amount.as_tuple().exponent < -2:
                form.amount.errors = [_("金额应为数字，最多两位小数")]
            else:
                try:
                    gateway.post(
                        "/api/finance/transfers",
                        {
                            "campaign_id": campaign["id"],
                            "unit_id": form.unit_id.data,
                            "kind": form.kind.data,
                            "amount": str(amount),
                            "transferred_on": form.transferred_on.data.isoformat(),
                            "reference": form.reference.data.strip(),
                        },
                    )
                except Problem as error:
                    form_error, status = show_problem(form, error), error.status
                else:
                    flash(_("已登记拨付。"), "ok")
                    return redirect(url_for("federation.transfers"))
        status = status if form_error else 422
    page = gateway.page("/api/finance/transfers", campaign_id=campaign["id"], cursor=request.args.get("cursor"))
    balances = {}
    for account in gateway.every("/api/finance/accounts", campaign_id=campaign["id"]):  # two per unit: > 50
        if account.get("unit_id"):
            balances.setdefault(account["unit_id"], {})[account["kind"]] = account["balance"]
    names = {line["unit_id"]: line["unit_name"] for line in lines}
    return (
        render_template(
            "federation/transfers.html",
            campaign=campaign,
            page=page,
            form=form,
            form_error=form_error,
            lines=lines,
            balances=balances,
            names=names,
        ),
        status,
    )


def _published_lines(campaign) -> list[dict]:
    try:
        allocation = gateway.get(f"/api/quota/campaigns/{campaign['id']}/allocation")
    except Problem as error:
        if error.status == 404:
            return []
        raise
    return allocation["lines"] if allocation["status"] == "published" else []


# ---------------------------------------------------------------- reviews


@blueprint.route("/reviews")
@requires(*FEDERATION)
def reviews():
    campaign = the_campaign()
    tab = request.args.get("tab", "nominations")
    context = {"campaign": campaign, "tab": tab}
    if tab == "changes":
        context["changes"] = gateway.page(
            "/api/enrollment/status-changes/pending", count="true", cursor=request.args.get("cursor")
        )
    elif tab == "rosters":
        context["classes"] = gateway.page(
            "/api/enrollment/classes", campaign_id=campaign["id"], cursor=request.args.get("cursor")
        )
    else:
        status = request.args.get("status") or None
        context["page"] = gateway.page(
            "/api/enrollment/enrolments", campaign_id=campaign["id"], status=status, cursor=request.args.get("cursor")
        )
        context["status"] = status
    return render_template("federation/reviews.html", **context)


# ---------------------------------------------------------------- users


ROLE_CHOICES = [
    ("unit_officer", _l("一级单位经办人")),
    ("grassroots_officer", _l("基层工会经办人")),
    ("institution_operator", _l("培训机构经办人")),
    ("auditor", _l("审计人员")),
    ("federation_admin", _l("市总工会管理员")),
]


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=100)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码"))])
    role = SelectField(_l("角色"), choices=options(ROLE_CHOICES))
    unit_id = StringField(_l("一级单位编号"), validators=[Optional()])
    grassroots_union_id = StringField(_l("基层工会编号"), validators=[Optional()])
    institution_id = StringField(_l("培训机构编号"), validators=[Optional()])


@blueprint.route("/users", methods=["GET", "POST"])
@requires(FEDERATION_ADMIN)
def users():
    form = UserForm()
    form_error, status = None, 200
    if request.method == "POST" and form.validate():
        body = {"username": form.username.data.strip(), "password": form.password.data, "role": form.role.data}
        for name in ("unit_id", "grassroots_union_id", "institution_id"):
            if getattr(form, name).data:
                body[name] = getattr(form, name).data.strip()
        try:
            gateway.post("/auth/users", body)
        except Problem as error:
            form_error, status = show_problem(form, error), error.status
        else:
            flash(_("已新建用户 %(name)s。", name=body["username"]), "ok")
            return redirect(url_for("federation.users"))
    elif request.method == "POST":
        status = 422
    role, q = request.args.get("role") or None, (request.args.get("q") or "").strip()[:100] or None
    # every officer and employee has an account: thousands, paged and searched by username, never read whole
    listed = gateway.page("/auth/users", role=role, q=q, count="true", cursor=request.args.get("cursor"))
    return render_template(
        "federation/users.html", form=form, form_error=form_error, listed=listed, role_filter=role, q=q
    ), status


@blueprint.route("/users/<user_id>/<action>", methods=["POST"])
@requires(FEDERATION_ADMIN)
def user_action(user_id, action):
    if action not in ("disable", "enable"):
        raise Problem(404, {"detail": _("没有这个操作。")})
    changed = gateway.post(f"/auth/users/{user_id}/{action}")
    flash(
        _("已停用 %(name)s。", name=changed["username"])
        if action == "disable"
        else _("已启用 %(name)s。", name=changed["username"]),
        "ok",
    )
    return redirect(url_for("federation.users"))
