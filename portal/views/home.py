"""工作台: what waits for this person, with counts and links; the campaign switcher."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import gateway
from ..app import (
    CHINA,
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
SINCE_SHOWN = 8  # the audit trail's latest entries on the 工作台


@blueprint.route("/")
@requires()
def index():
    campaign = current_campaign()
    role = me().get("role")
    facts: list = []
    waiting = lambda: []  # noqa: E731
    if role in FEDERATION:
        waiting = lambda: federation_tasks(campaign)  # noqa: E731
    elif role == GRASSROOTS_OFFICER and campaign:
        waiting = lambda: grassroots_tasks(campaign)  # noqa: E731
    elif role == UNIT_OFFICER and campaign:
        waiting = lambda: unit_tasks(campaign)  # noqa: E731
    elif role == EMPLOYEE:
        waiting = employee_tasks
    elif role == INSTITUTION_OPERATOR and campaign:
        waiting = lambda: institution_tasks(campaign)  # noqa: E731
    # what changed since the last visit comes after the page (htmx: GET /since), or inline with ?since=1 (no script)
    inline = request.args.get("since") == "1"
    tasks, since = (
        gateway.concurrently(waiting, lambda: since_last_visit(role, campaign)) if inline else (waiting(), None)
    )
    if campaign:
        windows = campaign.get("windows") or {}
        facts = [
            (_("报名时间"), f"{windows.get('registration_start', '')} — {windows.get('registration_end', '')}"),
            (_("学习时间"), f"{windows.get('study_start', '')} — {windows.get('study_end', '')}"),
            (_("学历提升名额"), campaign.get("academic_seats")),
        ]
    return render_template("home.html", tasks=tasks, campaign=campaign, facts=facts, since=since)


@blueprint.route("/since")
@requires()
def since():
    """The 工作台's panel of what changed since the last login, loaded after the page."""
    return render_template("_since.html", since=since_last_visit(me().get("role"), current_campaign()))


def since_last_visit(role: str, campaign) -> dict:
    """What changed since the person's previous login (the gateway names it at login): for the federation the
    latest decisions of the audit trail since then, for officers how many of their lists' rows are new."""
    previous = session.get("previous_login_at")
    if not previous:
        return {"first": True}
    found: dict = {"at": previous, "audit": None, "counts": []}
    if role in FEDERATION:
        page = gateway.page("/api/audit", limit=SINCE_SHOWN, at_from=previous)
        found["audit"] = page
    elif role in (UNIT_OFFICER, GRASSROOTS_OFFICER) and campaign:
        day = datetime.fromisoformat(previous).astimezone(CHINA).date().isoformat()

        def counted(**filters):
            return lambda: gateway.count("/api/enrollment/enrolments", campaign_id=campaign["id"], **filters)

        nominated, registered = gateway.concurrently(
            counted(nominated_at_from=previous), counted(registered_on_from=day)
        )
        lists = "officers.unit_lists" if role == UNIT_OFFICER else "officers.nominations"
        found["counts"] = [
            (_("新推荐的人选"), nominated, url_for(lists)),
            (_("新报名的职工（按报名日期）"), registered, url_for(lists, status="registered")),
        ]
    return found


def federation_tasks(campaign) -> list[tuple[str, int, str]]:
    """(what, how many, where): counts the lists give (X-Total-Count), never a whole list read."""
    listed = campaigns()
    tasks = [(_("未发布的计划"), sum(c["status"] == "draft" for c in listed), url_for("federation.campaigns"))]
    today = datetime.now(CHINA).date().isoformat()
    studied = [
        c for c in listed if c["status"] == "published" and (c.get("windows") or {}).get("study_end", "9") < today
    ]
    tasks.append(
        (
            _("学习期已结束、待结项的计划"),
            len(studied),
            url_for("closeout.closeout", campaign_id=studied[0]["id"]) if studied else url_for("federation.campaigns"),
        )
    )
    if campaign:
        allocation = gateway.maybe(lambda: gateway.get(f"/api/quota/campaigns/{campaign['id']}/allocation"))
        published = bool(allocation and allocation["status"] == "published")
        tasks.append((_("待发布的指标分配"), 0 if published else 1, url_for("federation.allocation")))
        if published:
            waiting = sum(
                1
                for line in allocation["lines"]
                if Decimal(line["academic_received"]) == 0 and Decimal(line["skills_received"]) == 0
            )
            tasks.append((_("待拨付专款的单位"), waiting, url_for("federation.transfers")))
    drafts = gateway.maybe(lambda: gateway.count("/api/enrollment/programmes", status="draft")) or 0
    tasks.append((_("待发布的培训项目"), drafts, url_for("oversight.programmes", status="draft")))
    changes = gateway.maybe(lambda: gateway.count("/api/enrollment/status-changes/pending")) or 0
    tasks.append((_("待审核的学籍变动"), changes, url_for("federation.reviews", tab="changes")))
    if campaign:
        overdue, answered = gateway.concurrently(*(notices_in(campaign, state) for state in ("overdue", "answered")))
        tasks.append((_("整改逾期的通报"), overdue, url_for("inspections.overview", tab="notices", state="overdue")))
        tasks.append(
            (_("待审核的整改报告"), answered, url_for("inspections.overview", tab="notices", state="answered"))
        )
    return tasks


def notices_in(campaign, state: str):
    """The campaign's notices (通报) in a rectification state, counted (0 while evaluation does not answer)."""
    return lambda: (
        gateway.maybe(lambda: gateway.count("/api/evaluation/notices", campaign_id=campaign["id"], state=state)) or 0
    )


def grassroots_tasks(campaign) -> list[tuple[str, int, str]]:
    today = datetime.now(CHINA).date()

    def nominated(**filters) -> int:
        return gateway.count("/api/enrollment/enrolments", campaign_id=campaign["id"], status="nominated", **filters)

    in_notice, objections, no_consent, ready = gateway.concurrently(
        lambda: nominated(notice_end_from=(today + timedelta(days=1)).isoformat()),
        lambda: nominated(objection_open="true"),
        lambda: nominated(consent_recorded="false"),
        lambda: nominated(notice_end_to=today.isoformat(), consent_recorded="true", objection_open="false"),
    )
    return [
        (_("公示中的人选"), in_notice, url_for("officers.notice")),
        (_("待处理的异议"), objections, url_for("officers.notice")),
        (_("待登记本人同意"), no_consent, url_for("officers.nominations")),
        (_("可确认报送的人选"), ready, url_for("officers.nominations", ready=1)),
    ]


def unit_tasks(campaign) -> list[tuple[str, int, str]]:
    def counted(status: str):
        return lambda: gateway.count("/api/enrollment/enrolments", campaign_id=campaign["id"], status=status)

    nominated, sent, registered, admitted = gateway.concurrently(
        counted("nominated"), counted("sent"), counted("registered"), counted("admitted")
    )
    return [
        (_("公示中的人选"), nominated, url_for("officers.unit_lists", status="nominated")),
        (_("已报送机构待报名"), sent, url_for("officers.unit_lists", status="sent")),
        (_("已报名"), registered + admitted, url_for("officers.unit_lists", status="registered")),
    ]


def institution_tasks(campaign) -> list[tuple[str, int, str]]:
    """Counted by the lists (X-Total-Count), as every 工作台 count: a list read whole stops being right at 500."""
    sent, forming, returned, notices = gateway.concurrently(
        lambda: gateway.count("/api/enrollment/enrolments", campaign_id=campaign["id"], status="sent"),
        lambda: gateway.count("/api/enrollment/classes", campaign_id=campaign["id"], status="forming"),
        lambda: gateway.count("/api/enrollment/classes", campaign_id=campaign["id"], status="returned"),
        notices_in(campaign, "awaiting_report"),
    )
    return [
        (_("待报名登记的学员"), sent, url_for("institution.students", status="sent")),
        (_("待报送的花名册"), forming + returned, url_for("institution.classes")),
        (_("待提交整改报告的通报"), notices, url_for("institution.records", _anchor="notices")),
    ]


def employee_tasks() -> list[tuple[str, int, str]]:
    """The employee's own enrolments (the API shows no one else's), counted."""
    unconsented, studies = gateway.concurrently(
        lambda: gateway.count("/api/enrollment/enrolments", status="nominated", consent_recorded="false"),
        lambda: gateway.count("/api/enrollment/enrolments"),
    )
    return [
        (_("待确认是否自愿参加"), unconsented, url_for("employee.studies")),
        (_("我的学习"), studies, url_for("employee.studies")),
    ]


@blueprint.route("/campaign", methods=["POST"])
@requires()
def switch_campaign():
    session["campaign_id"] = request.form.get("campaign_id", "")
    return redirect(safe_next(request.form.get("next")))
