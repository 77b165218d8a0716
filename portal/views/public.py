"""The public pages (no login): what the programme is and who pays what, certificate verification by number
(valid / revoked / unknown, the programme and the holder's masked name), the published rosters of a campaign's
classes with masked ID numbers, and a grassroots union's nominees on their running public notice (公示) with
masked ID numbers. Both lists need the campaign's id (and the notice the union's code): nothing is listed across
campaigns. Objecting to a nominee needs an employee's login (objections are identified)."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import gateway
from ..app import EMPLOYEE, requires
from ..forms import refusal, render_form
from ..gateway import Problem

blueprint = Blueprint("public", __name__, url_prefix="/public")


@blueprint.route("/")
def about():
    return render_template("public/about.html")


@blueprint.route("/certificates")
def verify():
    """Asked with GET (a link printed on the certificate can carry both fields): the gateway's public route."""
    institution = (request.args.get("institution") or "").strip()[:64]
    number = (request.args.get("number") or "").strip()[:64]
    found, outcome, message = None, None, None
    if "number" in request.args:
        if not institution or not number:
            message = _("请填写发证机构编号和证书编号。")
        else:
            try:
                found = gateway.call(
                    "GET",
                    "/api/evaluation/public/certificates/verification",
                    anonymous=True,
                    params={"institution_id": institution, "number": number},
                ).json()
                outcome = found["status"]
            except Problem as error:
                if error.status == 404:
                    outcome = "unknown"
                elif error.status in (400, 422):
                    message = "；".join(error.field_errors().values()) or error.detail
                else:
                    raise
    return render_template(
        "public/verify.html", institution=institution, number=number, found=found, outcome=outcome, message=message
    )


def _uuid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return None


def _public_page(path: str, **filters) -> gateway.Page:
    """A page of a public list, asked without any token."""
    return gateway.page(path, limit=20, cursor=request.args.get("cursor"), anonymous=True, **filters)


@blueprint.route("/rosters")
def rosters():
    """A campaign's published rosters, paged; one class when its id is given."""
    campaign = _uuid(request.args.get("campaign"))
    klass = _uuid(request.args.get("class"))
    page = None
    if campaign:
        page = _public_page("/api/enrollment/public/rosters", campaign_id=campaign, class_id=klass)
    return render_template("public/rosters.html", page=page, campaign=campaign)


UNION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # enrollment's codes


def _notice_of() -> tuple[str | None, str | None]:
    """The campaign and the grassroots union of the link the union published (None when either is unusable)."""
    union = (request.args.get("union") or "").strip()
    return _uuid(request.args.get("campaign")), union if UNION_CODE.match(union) else None


@blueprint.route("/notices")
def notices():
    """A grassroots union's nominees whose public notice runs today, paged."""
    campaign, union = _notice_of()
    page = None
    if campaign and union:
        page = _public_page("/api/enrollment/public/notices", campaign_id=campaign, grassroots_union_id=union)
    return render_template("public/notices.html", page=page, campaign=campaign, union=union)


class ObjectionForm(FlaskForm):
    objector_name = StringField(
        _l("您的姓名"), validators=[DataRequired(_l("请填写您的姓名")), Length(max=50, message=_l("最多 50 个字"))]
    )
    summary = TextAreaField(
        _l("异议内容"), validators=[DataRequired(_l("请填写异议内容")), Length(max=2000, message=_l("最多 2000 个字"))]
    )


def _on_notice(campaign: str | None, union: str | None, enrolment_id: str) -> dict:
    """The nominee as the public notice shows them (404 when the notice is over or the nominee not on it)."""
    if campaign and union:
        # one union's nominees on its notice: a few dozen, read whole (`gateway.every`, page by page)
        listed = gateway.every(
            "/api/enrollment/public/notices", anonymous=True, campaign_id=campaign, grassroots_union_id=union
        )
        for entry in listed:
            if entry["enrolment_id"] == enrolment_id:
                return entry
    raise Problem(404, {"detail": _("公示已结束，或公示名单上没有这个人选。")})


@blueprint.route("/notices/<enrolment_id>/objection", methods=["GET", "POST"])
@requires(EMPLOYEE)
def objection(enrolment_id):
    """An employee's objection to a nominee on the notice, identified (their account and name): only the union
    and the federation see who objected. A visitor is sent to log in first and brought back here."""
    campaign, union = _notice_of()
    nominee = _on_notice(campaign, union, enrolment_id)
    form, error = ObjectionForm(), None
    if form.validate_on_submit():
        body = {"objector_name": form.objector_name.data.strip(), "summary": form.summary.data.strip()}
        error = refusal(lambda: gateway.post(f"/api/enrollment/notices/{enrolment_id}/objections", body))
        if error is None:
            flash(_("已提交异议，基层工会将核实处理。"), "ok")
            return redirect(url_for("public.notices", campaign=campaign, union=union))
    status = 422 if form.errors else 200
    return render_form("public/objection.html", form, error, status, nominee=nominee, campaign=campaign, union=union)
