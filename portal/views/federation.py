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
from wtforms import DateField, DecimalField, IntegerField, PasswordField, SelectField, StringField
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
    listed = gateway.get("/api/quota/campaigns")
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


def _only_admin():
    from ..app import me

    if me().get("role") != FEDERATION_ADMIN:
        raise Problem(403, {"detail": _("审计人员只能查看，不能修改。")})


# ---------------------------------------------------------------- units


class ImportForm(FlaskForm):
    file = FileField(_l("单位名册文件（.xlsx）"), validators=[FileRequired(_l("请选择文件")), SPREADSHEETS])


def unit_tree(units: list[dict]) -> list[dict]:
    """First-level units each followed by its grassroots unions (a flat list, in tree order)."""
    children: dict[str, list[dict]] = {}
    for unit in units:
        if unit.get("parent_id"):
            children.setdefault(unit["parent_id"], []).append(unit)
    ordered = []
    for unit in sorted((u for u in units if not u.get("parent_id")), key=lambda u: u["id"]):
        ordered.append({**unit, "unions": len(children.get(unit["id"], []))})
        ordered.extend(sorted(children.get(unit["id"], []), key=lambda u: u["id"]))
    return ordered


@blueprint.route("/units")
@requires(*FEDERATION)
def units():
    listed = gateway.get("/api/quota/units")
    return render_template("federation/units.html", tree=unit_tree(listed), form=ImportForm(), report=None)


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
    template = "federation/_import_result.html" if request.headers.get("HX-Request") else "federation/units.html"
    listed = [] if request.headers.get("HX-Request") else gateway.get("/api/quota/units")
    return render_template(
        template, form=form, report=report, tree=unit_tree(listed)
    ), status if not request.headers.get("HX-Request") else 200


# ---------------------------------------------------------------- allocation


@blueprint.route("/allocation")
@requires(*FEDERATION)
def allocation():
    campaign = the_campaign()
    base = f"/api/quota/campaigns/{campaign['id']}/allocation"
    try:
        current = gateway.get(base)
    except Problem as error:
        if error.status != 404:
            raise
        current = gateway.get(f"{base}/preview")
    largest = max((line["academic_seats"] for line in current["lines"]), default=0) or 1
    return render_template("federation/allocation.html", campaign=campaign, allocation=current, largest=largest)


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
    for account in gateway.get("/api/finance/accounts", campaign_id=campaign["id"]):
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
        context["changes"] = gateway.get("/api/enrollment/status-changes/pending")
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
    role = request.args.get("role") or None
    listed = gateway.get("/auth/users", role=role, limit=200)
    return render_template(
        "federation/users.html", form=form, form_error=form_error, listed=listed, role_filter=role
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
