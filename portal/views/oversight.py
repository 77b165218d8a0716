"""The federation's oversight pages: institutions and programmes (scores, sanctions), machine clients and the
dashboard.

The auditor reads the institutions' pages (no write control rendered, the write routes refuse it, the gateway
too) and the machine clients' list; only the admin changes them. A disqualification or reinstatement, a machine
client's disabling or enabling ask for a reason and a confirmation; a machine client's secret (made or rotated) is
shown once, on the answer page, and kept nowhere by the portal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import gateway
from ..app import FEDERATION, FEDERATION_ADMIN, current_campaign, requires
from ..charts import Series, bars, number
from ..forms import refusal, refusal_text, show_problem
from ..gateway import Problem
from .auth import safe_next
from .federation import xlsx_download

blueprint = Blueprint("oversight", __name__, url_prefix="/federation")
CRITERIA = ("plan_execution", "satisfaction", "results", "use_of_funds", "inspection")


def institution_score(institution_id: str, campaign: dict | None) -> tuple[dict | None, str | None]:
    """An institution's score in the campaign, or why there is none (no campaign, no working-day calendar...)."""
    if not campaign:
        return None, None
    try:
        return gateway.get(f"/api/evaluation/institutions/{institution_id}/scores", campaign_id=campaign["id"]), None
    except Problem as error:
        if error.status not in (404, 422):
            raise
        return None, error.detail


def criteria_names() -> dict[str, str]:
    return {
        "plan_execution": _("计划执行"),
        "satisfaction": _("学员满意度"),
        "results": _("考核结果"),
        "use_of_funds": _("资金使用"),
        "inspection": _("检查评估"),
    }


def campaign_scores(campaign: dict | None) -> tuple[dict[str, dict], str | None]:
    """Every institution's score in the campaign by institution id, or why there is none (no calendar yet...)."""
    if campaign is None:
        return {}, None
    try:
        found = gateway.every("/api/evaluation/scores", campaign_id=campaign["id"])  # one per institution: few
    except Problem as error:
        if error.status in (404, 422):
            return {}, error.detail
        raise
    return {score["institution_id"]: score for score in found}, None


@blueprint.route("/institutions")
@requires(*FEDERATION)
def institutions():
    campaign = current_campaign()
    page = gateway.page("/api/enrollment/institutions", cursor=request.args.get("cursor"))
    scores, why_none = campaign_scores(campaign)
    return render_template(
        "federation/institutions.html",
        campaign=campaign,
        page=page,
        scores=scores,
        why_none=why_none,
        criteria=criteria_names(),
    )


class SanctionForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[DataRequired(_l("请填写理由")), Length(max=500)])


def institution_names() -> dict[str, str]:
    """Every institution's name by its id (the contracted institutions: few, every page read)."""
    return {i["institution_id"]: i["name"] for i in gateway.every("/api/enrollment/institutions")}


def _institution(institution_id: str) -> dict:
    """The institution by its id: the API lists them (no read by id), and the contracted institutions are few."""
    for institution in gateway.every("/api/enrollment/institutions"):
        if institution["institution_id"] == institution_id:
            return institution
    raise Problem(404, {"detail": _("没有这个培训机构。")})


@blueprint.route("/institutions/<institution_id>", methods=["GET", "POST"])
@requires(*FEDERATION)
def institution(institution_id):
    """One institution: its standing, score, decisions and programmes; the admin disqualifies or reinstates it."""
    campaign = current_campaign()
    form, form_error, status = SanctionForm(), None, 200
    if request.method == "POST":
        if not can_sanction():
            raise Problem(403, {"detail": _("审计人员只能查看，不能修改。")})
        standing = gateway.get(f"/api/evaluation/institutions/{institution_id}/decisions")
        action = "reinstatement" if standing.get("disqualified") else "disqualification"
        if form.validate():
            body = {"reason": form.reason.data.strip(), **({"campaign_id": campaign["id"]} if campaign else {})}
            try:
                gateway.post(f"/api/evaluation/institutions/{institution_id}/{action}", body)
            except Problem as error:
                form_error, status = show_problem(form, error), error.status
            else:
                flash(_("已取消该机构的资格。") if action == "disqualification" else _("已恢复该机构的资格。"), "ok")
                return redirect(url_for("oversight.institution", institution_id=institution_id))
        else:
            status = 422
    found = _institution(institution_id)
    standing = gateway.get(f"/api/evaluation/institutions/{institution_id}/decisions")
    score, why_none = institution_score(institution_id, campaign)
    programmes = gateway.page(
        "/api/enrollment/programmes", institution_id=institution_id, cursor=request.args.get("cursor")
    )
    return render_template(
        "federation/institution.html",
        campaign=campaign,
        institution=found,
        standing=standing,
        score=score,
        why_none=why_none,
        criteria=criteria_names(),
        programmes=programmes,
        form=form,
        form_error=form_error,
    ), status


@blueprint.route("/programmes")
@requires(*FEDERATION)
def programmes():
    """The catalogue's programmes, by institution; the 待发布 tab: the drafts the institutions made, which the admin
    publishes (with a confirmation) or sends back with the reason."""
    status = "draft" if request.args.get("status") == "draft" else None
    institution_id = request.args.get("institution_id") or None
    names = institution_names()
    listed = gateway.page(
        "/api/enrollment/programmes",
        status=status,
        institution_id=institution_id if institution_id in names else None,
        sort="start_date",
        cursor=request.args.get("cursor"),
    )
    return render_template(
        "federation/programmes.html", page=listed, status=status, institution_id=institution_id, names=names
    )


@blueprint.route("/programmes/<programme_id>/publish", methods=["POST"])
@requires(FEDERATION_ADMIN)
def publish_programme(programme_id):
    refused = refusal(lambda: gateway.post(f"/api/enrollment/programmes/{programme_id}/publish"))
    if refused:
        flash(refusal_text(refused), "error")
    else:
        flash(_("已发布培训项目 %(id)s。", id=programme_id), "ok")
    return redirect(safe_next(request.form.get("next") or url_for("oversight.programmes", status="draft")))


@blueprint.route("/programmes/<programme_id>/return", methods=["POST"])
@requires(FEDERATION_ADMIN)
def return_programme(programme_id):
    body = {"reason": (request.form.get("reason") or "").strip()}
    refused = refusal(lambda: gateway.post(f"/api/enrollment/programmes/{programme_id}/return", body))
    if refused:
        flash(refusal_text(refused), "error")
    else:
        flash(_("已将培训项目 %(id)s 退回机构修改。", id=programme_id), "ok")
    return redirect(safe_next(request.form.get("next") or url_for("oversight.programmes", status="draft")))


def can_sanction() -> bool:
    from ..app import me

    return me().get("role") == FEDERATION_ADMIN


# ---------------------------------------------------------------- machine clients


class ClientForm(FlaskForm):
    name = StringField(_l("客户端名称"), validators=[DataRequired(_l("请填写名称")), Length(max=200)])
    institution_id = StringField(_l("培训机构编号"), validators=[DataRequired(_l("请填写机构编号")), Length(max=64)])


class ClientActionForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Length(max=500)])


CLIENT_ACTIONS = ("disable", "enable", "rotate")


@blueprint.route("/clients", methods=["GET", "POST"])
@requires(*FEDERATION)
def clients():
    """Institution systems' API keys: the paged list (the auditor reads it); the admin makes one (the answer page
    shows its secret, once), disables or enables one with a reason, or rotates its secret."""
    form, form_error, made, status = ClientForm(), None, None, 200
    if request.method == "POST":
        if not can_sanction():
            raise Problem(403, {"detail": _("审计人员只能查看，不能修改。")})
        if form.validate():
            try:
                made = gateway.post(
                    "/auth/clients",
                    {"name": form.name.data.strip(), "institution_id": form.institution_id.data.strip()},
                )
            except Problem as error:
                form_error, status = show_problem(form, error), error.status
            else:
                form = ClientForm(formdata=None)
        else:
            status = 422
    return _clients_page(form, form_error, made=made, status=status)


@blueprint.route("/clients/<key_id>/<action>", methods=["POST"])
@requires(FEDERATION_ADMIN)
def client_action(key_id, action):
    """Disable or enable a client (a reason required), or rotate its secret (the new one shown once, the old one
    working 24 hours more)."""
    if action not in CLIENT_ACTIONS:
        raise Problem(404, {"detail": _("没有这个操作。")})
    form = ClientActionForm()
    reason = (form.reason.data or "").strip() if form.validate() else ""
    if action == "rotate":
        rotated = gateway.post(f"/auth/clients/{key_id}/secret", {"reason": reason} if reason else {})
        return _clients_page(ClientForm(formdata=None), None, rotated=rotated)
    if not reason:
        flash(_("停用或启用接口客户端须填写理由。"), "error")
        return redirect(url_for("oversight.clients", **_list_args()))
    changed = gateway.post(f"/auth/clients/{key_id}/{action}", {"reason": reason})
    flash(
        _("已停用 %(name)s。", name=changed["name"])
        if action == "disable"
        else _("已启用 %(name)s。", name=changed["name"]),
        "ok",
    )
    return redirect(url_for("oversight.clients", **_list_args()))


def _list_args() -> dict:
    return {k: v for k, v in request.args.items() if k in ("q", "institution_id", "active")}


def _clients_page(form, form_error, *, made=None, rotated=None, status: int = 200):
    filters = _list_args()
    page = gateway.page("/auth/clients", cursor=request.args.get("cursor"), count="true", **filters)
    return render_template(
        "federation/clients.html",
        form=form,
        form_error=form_error,
        made=made,
        rotated=rotated,
        page=page,
        filters=filters,
        action_form=ClientActionForm(formdata=None),
    ), status


# ---------------------------------------------------------------- dashboard


def _used(usage: dict) -> Decimal:
    return number(usage.get("consumed")) + number(usage.get("spent"))


def payer_totals(rows: list[dict]) -> list[dict]:
    """Who bears the fees of the campaign's active enrolments: the employees, the federation, the units."""
    due, federation, unit = Decimal(0), Decimal(0), Decimal(0)
    for row in rows:
        due += number(row.get("fees_due"))
        federation += number(row.get("federation_committed"))
        unit += number(row.get("unit_committed"))
    return [
        {"label": _("职工个人"), "amount": due - federation - unit},
        {"label": _("市总工会"), "amount": federation},
        {"label": _("一级单位"), "amount": unit},
    ]


MONTHS_SHOWN = 12


def months_of(campaign: dict, today: date | None = None) -> list[tuple[date, date]]:
    """The months from the campaign's registration start to its study end or today, whichever is first (the last 12
    at most): (first day, last day) each."""
    windows = campaign.get("windows") or {}
    try:
        start = date.fromisoformat(windows["registration_start"])
        end = date.fromisoformat(windows.get("study_end") or windows["registration_end"])
    except (KeyError, TypeError, ValueError):
        start, end = date(campaign["year"], 1, 1), date(campaign["year"], 12, 31)
    end = min(end, today) if today else end
    months, first = [], start.replace(day=1)
    while first <= end:
        following = (first + timedelta(days=32)).replace(day=1)
        months.append((first, following - timedelta(days=1)))
        first = following
    return months[-MONTHS_SHOWN:]


def registrations_by_month(campaign: dict) -> list[dict]:
    """How many were registered each month: one count per month (limit=0: no row read, no list fetched whole), the
    months asked at once."""
    from .federation import today

    def counted(first: date, last: date):
        return lambda: gateway.count(
            "/api/enrollment/enrolments",
            campaign_id=campaign["id"],
            registered_on_from=first.isoformat(),
            registered_on_to=last.isoformat(),
        )

    months = months_of(campaign, today())
    totals = gateway.concurrently(*(counted(first, last) for first, last in months))
    return [{"label": first.strftime("%Y-%m"), "registered": total} for (first, _last), total in zip(months, totals)]


@blueprint.route("/dashboard")
@requires(*FEDERATION)
def dashboard():
    """Seats and money per unit, money per payer, pass rates and satisfaction per institution (inline SVG)."""
    campaign = current_campaign()
    if campaign is None:
        raise Problem(404, {"detail": _("还没有计划：请先新建一个计划。")})
    report, funds, (scores, why_none) = gateway.concurrently(
        lambda: gateway.get(f"/api/quota/campaigns/{campaign['id']}/report"),
        lambda: gateway.get("/api/finance/reports/funds", campaign_id=campaign["id"], by="institution"),
        lambda: campaign_scores(campaign),
    )
    units = [
        {
            "label": unit.get("unit_name") or unit["unit_id"],
            "seats_allocated": unit["seats"]["allocated"],
            "seats_reserved": unit["seats"]["reserved"],
            "seats_used": _used(unit["seats"]),
            "money_allocated": unit["money"]["allocated"],
            "money_reserved": unit["money"]["reserved"],
            "money_used": _used(unit["money"]),
        }
        for unit in report.get("units", [])
    ]
    payers = payer_totals(funds)
    institutions = [
        {
            "label": score.get("institution_name") or institution_id,
            "pass_rate": ((score.get("criteria") or {}).get("results") or {}).get("score"),
            "satisfaction": ((score.get("criteria") or {}).get("satisfaction") or {}).get("score"),
        }
        for institution_id, score in sorted(scores.items())
    ]
    registrations = registrations_by_month(campaign)
    allocated, reserved, used = _("已分配"), _("已预留"), _("已使用")
    charts = {
        "seats": bars(
            _("各单位名额"),
            units,
            [Series("seats_allocated", allocated), Series("seats_reserved", reserved), Series("seats_used", used)],
            unit=_("人"),
        ),
        "money": bars(
            _("各单位资金（元）"),
            units,
            [Series("money_allocated", allocated), Series("money_reserved", reserved), Series("money_used", used)],
        ),
        "registrations": bars(_("每月报名人数"), registrations, [Series("registered", _("报名人数"))], unit=_("人")),
        "payers": bars(_("各方承担的费用（元）"), payers, [Series("amount", _("承担金额"))]),
        "institutions": bars(
            _("各机构考核通过率与满意度（分）"),
            institutions,
            [Series("pass_rate", _("考核通过率")), Series("satisfaction", _("满意度"))],
        ),
    }
    return render_template(
        "federation/dashboard.html",
        campaign=campaign,
        charts=charts,
        units=units,
        payers=payers,
        registrations=registrations,
        institutions=institutions,
        why_none=why_none,
    )


# ---------------------------------------------------------------- audit trail

AUDIT_FILTERS = ("entity_type", "entity_id", "actor_id", "service")
CHINA = ZoneInfo("Asia/Shanghai")


def audit_query(args) -> dict:
    """The page's filters as the gateway's /api/audit takes them: dates (China time) as the day's first and last
    moment."""
    query = {name: (args.get(name) or "").strip()[:200] for name in AUDIT_FILTERS}
    for name, moment in (("at_from", "T00:00:00+08:00"), ("at_to", "T23:59:59.999999+08:00")):
        try:
            query[name] = date.fromisoformat(args.get(name, "")).isoformat() + moment
        except ValueError:
            query[name] = ""
    return {k: v for k, v in query.items() if v}


@blueprint.route("/audit")
@requires(*FEDERATION)
def audit():
    """Every decision of every service, newest first: filter by entity, person, service and time."""
    query = audit_query(request.args)
    page = gateway.page("/api/audit", cursor=request.args.get("cursor"), **query)
    for entry in page.items:  # shown in China time
        try:
            entry["at"] = datetime.fromisoformat(entry["at"]).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        except (KeyError, TypeError, ValueError):
            pass
    return render_template("federation/audit.html", page=page, filters=request.args)


@blueprint.route("/audit/export.xlsx")
@requires(*FEDERATION)
def audit_export():
    return xlsx_download("/api/audit", "audit-trail.xlsx", audit_query(request.args))
