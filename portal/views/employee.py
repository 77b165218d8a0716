"""The employee's own pages, phone first (职工): their nomination and its public notice, their consent (what they
agree to and what they will pay), their class and when and where it is taught, what they paid and what will be
reimbursed to them by whom (the three shares in yuan), their results and retakes, their certificate as a printable
page with its verification number, and their data (PIPL): everything held about them to download, and corrections
asked for and decided."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import gateway
from ..app import EMPLOYEE, requires
from ..forms import options, refusal, render_form
from ..gateway import Problem
from .federation import xlsx_download

blueprint = Blueprint("employee", __name__, url_prefix="/me")


def _programme(programme_id: str) -> dict:
    return gateway.maybe(lambda: gateway.get(f"/api/enrollment/programmes/{programme_id}"), {}) or {}


def _own(path: str, key: str, wanted: str) -> dict:
    """The employee's own item of a list the API scopes to them (404 when it is not theirs). Read whole with
    `gateway.every`: an employee's own certificates or surveys are a few (one or two per course taken)."""
    found = next((item for item in gateway.every(path) if item[key] == wanted), None)
    if found is None:
        abort(404)
    return found


@blueprint.route("/")
@requires(EMPLOYEE)
def studies():
    """Every enrolment of theirs (one per campaign and kind: a few, read whole with `gateway.every`), newest first."""
    rows = gateway.every("/api/enrollment/enrolments", sort="-nominated_at")
    for row in rows:
        row["programme"] = _programme(row["programme_id"])
    return render_template("employee/studies.html", rows=rows)


@blueprint.route("/<enrolment_id>", methods=["GET", "POST"])
@requires(EMPLOYEE)
def enrolment(enrolment_id):
    path = f"/api/enrollment/enrolments/{enrolment_id}"
    if request.method == "POST" and request.form.get("action") == "consent":
        try:
            gateway.post(f"{path}/consent", {})
            flash(_("已确认：您自愿参加本次培训。"), "ok")
        except Problem as error:
            if error.status >= 500:
                raise
            flash(error.detail, "error")
        return redirect(url_for("employee.enrolment", enrolment_id=enrolment_id))
    row = gateway.get(path)
    programme = _programme(row["programme_id"])
    breakdown = gateway.maybe(lambda: gateway.get(f"/api/finance/enrolments/{enrolment_id}/breakdown"))
    reimbursements = gateway.maybe(lambda: gateway.get("/api/finance/reimbursements", enrolment_id=enrolment_id), [])
    results = gateway.maybe(lambda: gateway.get("/api/evaluation/results", enrolment_id=enrolment_id), [])
    certificates = gateway.maybe(lambda: gateway.get("/api/evaluation/certificates", enrolment_id=enrolment_id), [])
    return render_template(
        "employee/enrolment.html",
        row=row,
        programme=programme,
        breakdown=breakdown,
        reimbursements=[r for r in reimbursements if r.get("enrolment_id") == enrolment_id],
        results=sorted(
            (r for r in results if r.get("enrolment_id") == enrolment_id), key=lambda r: (r["held_on"], r["attempt"])
        ),
        certificates=[c for c in certificates if c.get("enrolment_id") == enrolment_id],
    )


@blueprint.route("/certificates/<certificate_id>")
@requires(EMPLOYEE)
def certificate(certificate_id):
    """A printable page of the certificate, with what anyone needs to verify it on the public page."""
    found = _own("/api/evaluation/certificates", "certificate_id", certificate_id)
    row = gateway.get(f"/api/enrollment/enrolments/{found['enrolment_id']}")
    return render_template(
        "employee/certificate.html", certificate=found, row=row, programme=_programme(row["programme_id"])
    )


def _class_of(enrolment_id: str) -> dict | None:
    return gateway.maybe(lambda: gateway.get(f"/api/enrollment/enrolments/{enrolment_id}/class"))


@blueprint.route("/classes")
@requires(EMPLOYEE)
def classes():
    """The class of each enrolment placed in one: when it opens, until when one studies, where, with whom."""
    rows = [row for row in gateway.every("/api/enrollment/enrolments") if row.get("class_id")]  # their own: a few
    placed = gateway.concurrently(*(partial(_class_of, row["enrolment_id"]) for row in rows))
    return render_template("employee/classes.html", placed=[found for found in placed if found])


# ---------------------------------------------------------------- their data (PIPL: access and correction)


def correction_fields() -> dict[str, str]:
    return {"name": _("姓名"), "phone": _("手机号码"), "education": _("文化程度")}


class CorrectionForm(FlaskForm):
    field = SelectField(_l("要更正的信息"), validators=[DataRequired(_l("请选择要更正的信息"))])
    requested_value = StringField(
        _l("正确的内容"), validators=[DataRequired(_l("请填写正确的内容")), Length(max=50, message=_l("最多 50 个字"))]
    )
    reason = TextAreaField(
        _l("更正理由"),
        validators=[DataRequired(_l("请说明为什么需要更正")), Length(max=1000, message=_l("最多 1000 个字"))],
    )


@blueprint.route("/data", methods=["GET", "POST"])
@requires(EMPLOYEE)
def data():
    """What is held about them (to download), their requests to correct it and the decisions, and a new request."""
    form = CorrectionForm()
    form.field.choices = options(correction_fields().items())
    error = None
    if form.validate_on_submit():
        body = {
            "field": form.field.data,
            "requested_value": form.requested_value.data.strip(),
            "reason": form.reason.data.strip(),
        }
        error = refusal(lambda: gateway.post("/api/enrollment/me/corrections", body))
        if error is None:
            flash(_("已提交更正申请，推荐您的基层工会核实后处理。"), "ok")
            return redirect(url_for("employee.data"))
    page = gateway.page(
        "/api/enrollment/corrections", limit=20, cursor=request.args.get("cursor"), sort="-requested_at"
    )
    return render_form(
        "employee/data.html", form, error, 422 if form.errors else 200, page=page, fields=correction_fields()
    )


@blueprint.route("/data/download")
@requires(EMPLOYEE)
def download():
    """Everything held about them, as the gateway gathers it (each download is recorded there)."""
    if request.args.get("format") == "json":
        answer = gateway.call("GET", "/api/me/data")
        return Response(
            answer.content,
            mimetype="application/json",
            headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
        )
    return xlsx_download("/api/me/data", "my-data.xlsx")


# ---------------------------------------------------------------- the anonymous survey (RFC 9474, blinded here)


@blueprint.route("/surveys")
@requires(EMPLOYEE)
def surveys():
    """The surveys the employee is invited to (their institutions'), and whether their token was issued."""
    page = gateway.page("/api/evaluation/surveys", cursor=request.args.get("cursor"))
    return render_template("employee/surveys.html", page=page)


@blueprint.route("/surveys/<survey_id>")
@requires(EMPLOYEE)
def survey(survey_id):
    """The questions; the page's script (static/vendor/survey.bundle.js) blinds, finalises and answers."""
    found = _own("/api/evaluation/surveys", "survey_id", survey_id)
    settings = current_app.config["PORTAL"]
    return render_template(
        "employee/survey.html",
        survey=found,
        answer_url=f"{settings.browser_gateway_url}/api/evaluation/public/surveys/{survey_id}/answers",
        max_delay=settings.survey_max_delay_seconds,
    )


@blueprint.route("/surveys/<survey_id>/token", methods=["POST"])
@requires(EMPLOYEE)
def token(survey_id):
    """The blind signature of the employee's blinded token: the portal sees only the blinded message (which
    reveals nothing of the token) and the blind signature; the finalised token never comes back here."""
    body = request.get_json(silent=True) or {}
    blinded = body.get("blinded_msg")
    if not isinstance(blinded, str) or len(body) != 1:
        return jsonify({"detail": _("请求有误。")}), 400
    try:
        signed = gateway.post(f"/api/evaluation/surveys/{survey_id}/tokens", {"blinded_msg": blinded})
    except Problem as error:
        return jsonify({"detail": error.detail}), error.status
    return jsonify({"blind_sig": signed["blind_sig"]})
