"""The public pages (no login): what the programme is and who pays what, certificate verification by number
(valid / revoked / unknown, the programme and the holder's masked name), and the published rosters of a
campaign's classes with masked ID numbers (the campaign's id is required: nothing is listed across campaigns)."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from .. import gateway
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


@blueprint.route("/rosters")
def rosters():
    """A campaign's published rosters, paged; one class when its id is given."""
    campaign = _uuid(request.args.get("campaign"))
    klass = _uuid(request.args.get("class"))
    page = None
    if campaign:
        page = gateway.page(
            "/api/enrollment/public/rosters",
            limit=20,
            cursor=request.args.get("cursor"),
            anonymous=True,
            campaign_id=campaign,
            class_id=klass,
        )
    return render_template("public/rosters.html", page=page, campaign=campaign)
