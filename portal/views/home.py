"""工作台: what waits for this person, with counts and links; the campaign switcher."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import gateway
from ..app import (
    EMPLOYEE,
    FEDERATION,
    GRASSROOTS_OFFICER,
    INSTITUTION_OPERATOR,
    UNIT_OFFICER,
    campaigns,
    current_campaign,
    me,
    requires,
)
from .auth import safe_next

blueprint = Blueprint("home", __name__)


@blueprint.route("/")
@requires()
def index():
    campaign = current_campaign()
    role = me().get("role")
    tasks, facts = [], []
    if role in FEDERATION:
        tasks = federation_tasks(campaign)
    elif role == GRASSROOTS_OFFICER and campaign:
        tasks = grassroots_tasks(campaign)
    elif role == UNIT_OFFICER and campaign:
        tasks = unit_tasks(campaign)
    elif role == EMPLOYEE:
        tasks = employee_tasks()
    elif role == INSTITUTION_OPERATOR and campaign:
        tasks = institution_tasks(campaign)
    if campaign:
        windows = campaign.get("windows") or {}
        facts = [
            (_("报名时间"), f"{windows.get('registration_start', '')} — {windows.get('registration_end', '')}"),
            (_("学习时间"), f"{windows.get('study_start', '')} — {windows.get('study_end', '')}"),
            (_("学历提升名额"), campaign.get("academic_seats")),
        ]
    return render_template("home.html", tasks=tasks, campaign=campaign, facts=facts)


def federation_tasks(campaign) -> list[tuple[str, int, str]]:
    """(what, how many, where)."""
    listed = campaigns()
    tasks = [(_("未发布的计划"), sum(c["status"] == "draft" for c in listed), url_for("federation.campaigns"))]
    if campaign:
        allocation = gateway.maybe(lambda: gateway.get(f"/api/quota/campaigns/{campaign['id']}/allocation"))
        tasks.append(
            (
                _("待发布的指标分配"),
                0 if allocation and allocation["status"] == "published" else 1,
                url_for("federation.allocation"),
            )
        )
        if allocation and allocation["status"] == "published":
            transfers = gateway.get("/api/finance/transfers", campaign_id=campaign["id"])
            paid = {t["unit_id"] for t in transfers}
            waiting = sum(1 for line in allocation["lines"] if line["unit_id"] not in paid)
            tasks.append((_("待拨付专款的单位"), waiting, url_for("federation.transfers")))
    changes = gateway.maybe(lambda: gateway.get("/api/enrollment/status-changes/pending")) or []
    tasks.append((_("待审核的学籍变动"), len(changes), url_for("federation.reviews", tab="changes")))
    return tasks


def grassroots_tasks(campaign) -> list[tuple[str, int, str]]:
    rows = gateway.get("/api/enrollment/enrolments", campaign_id=campaign["id"], status="nominated")
    today = date.today().isoformat()
    open_objections = sum(1 for r in rows for o in r["objections"] if o["outcome"] is None)
    no_consent = sum(1 for r in rows if r["consent_on"] is None and r.get("consent_method") is None)
    ready = sum(
        1
        for r in rows
        if r["notice_end"] <= today
        and r.get("consent_method") is not None
        and not any(o["outcome"] is None for o in r["objections"])
    )
    return [
        (_("公示中的人选"), sum(1 for r in rows if r["notice_end"] > today), url_for("officers.notice")),
        (_("待处理的异议"), open_objections, url_for("officers.notice")),
        (_("待登记本人同意"), no_consent, url_for("officers.nominations")),
        (_("可确认报送的人选"), ready, url_for("officers.nominations", ready=1)),
    ]


def unit_tasks(campaign) -> list[tuple[str, int, str]]:
    rows = gateway.get("/api/enrollment/enrolments", campaign_id=campaign["id"])
    return [
        (
            _("公示中的人选"),
            sum(r["status"] == "nominated" for r in rows),
            url_for("officers.unit_lists", status="nominated"),
        ),
        (
            _("已报送机构待报名"),
            sum(r["status"] == "sent" for r in rows),
            url_for("officers.unit_lists", status="sent"),
        ),
        (
            _("已报名"),
            sum(r["status"] in ("registered", "admitted") for r in rows),
            url_for("officers.unit_lists", status="registered"),
        ),
    ]


def institution_tasks(campaign) -> list[tuple[str, int, str]]:
    sent = gateway.get("/api/enrollment/enrolments", campaign_id=campaign["id"], status="sent", limit=500)
    classes = gateway.get("/api/enrollment/classes", campaign_id=campaign["id"], limit=500)
    return [
        (_("待报名登记的学员"), len(sent), url_for("institution.students", status="sent")),
        (
            _("待报送的花名册"),
            sum(c["status"] in ("forming", "returned") for c in classes),
            url_for("institution.classes"),
        ),
    ]


def employee_tasks() -> list[tuple[str, int, str]]:
    rows = gateway.get("/api/enrollment/enrolments", limit=50)
    return [
        (
            _("待确认是否自愿参加"),
            sum(r["status"] == "nominated" and r.get("consent_method") is None for r in rows),
            url_for("employee.studies"),
        ),
        (_("我的学习"), len(rows), url_for("employee.studies")),
    ]


@blueprint.route("/campaign", methods=["POST"])
@requires()
def switch_campaign():
    session["campaign_id"] = request.form.get("campaign_id", "")
    return redirect(safe_next(request.form.get("next")))
