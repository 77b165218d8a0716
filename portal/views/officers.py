"""The officers' pages. First-level unit officer: its allocation and what remains, its grassroots unions, the
lists of its unions. Grassroots union officer: nominate (form with the resident ID check digit checked as typed,
or an .xlsx list), the democratic recommendation record, consents, confirmation in bulk (the list goes to the
institutions), the public notice (公示) with objections and their outcomes. Both: their employees' exam results
(retakes included) and certificates, names masked."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import gateway
from ..app import GRASSROOTS_OFFICER, UNIT_OFFICER, me, requires
from ..forms import import_refusal, options, show_problem
from ..gateway import Problem
from .federation import SPREADSHEETS, _published_lines, enrolments_in_status, the_campaign, today

blueprint = Blueprint("officers", __name__)


# ---------------------------------------------------------------- first-level unit officer


@blueprint.route("/unit/allocation")
@requires(UNIT_OFFICER)
def unit_allocation():
    campaign = the_campaign()
    lines = [line for line in _published_lines(campaign) if line["unit_id"] == me().get("unit_id")]
    report = None
    try:
        report = gateway.get(f"/api/quota/campaigns/{campaign['id']}/report")
    except Problem as error:
        if error.status not in (403, 404):
            raise
    accounts = gateway.every("/api/finance/accounts", campaign_id=campaign["id"])  # the unit's own: two at most
    return render_template(
        "officers/unit_allocation.html", campaign=campaign, line=(lines or [None])[0], report=report, accounts=accounts
    )


@blueprint.route("/unit/unions")
@requires(UNIT_OFFICER)
def unit_unions():
    page = gateway.page(
        "/api/quota/units", parent_id=me().get("unit_id"), sort="name", limit=100, cursor=request.args.get("cursor")
    )
    return render_template("officers/unit_unions.html", page=page)


@blueprint.route("/unit/lists")
@requires(UNIT_OFFICER)
def unit_lists():
    campaign = the_campaign()
    status = request.args.get("status") or None
    page = gateway.page(
        "/api/enrollment/enrolments", campaign_id=campaign["id"], status=status, cursor=request.args.get("cursor")
    )
    sent = gateway.page(
        "/api/enrollment/lists", campaign_id=campaign["id"], limit=20, cursor=request.args.get("sent_cursor")
    )
    return render_template(
        "officers/unit_lists.html",
        campaign=campaign,
        page=page,
        status=status,
        sent=sent,
        unions=_unions(),
        union_q=request.args.get("union_q", ""),
    )


UNIONS_SHOWN = 50


def _unions():
    """The unit's grassroots unions whose name holds `union_q`, by name: the first 50 (a district has hundreds or
    thousands), with their total; the officer types part of a name to find the others."""
    q = (request.args.get("union_q") or "").strip()[:100] or None
    return gateway.page(
        "/api/quota/units", parent_id=me().get("unit_id"), level="grassroots", q=q, sort="name", limit=UNIONS_SHOWN,
        count="true",
    )  # fmt: skip


def _chosen_union(chosen: str | None, unions: gateway.Page) -> str | None:
    """`chosen` when it is one of the officer's grassroots unions (among those found, or else asked of quota: it may
    lie beyond the first page); shown among the options then."""
    if not chosen or chosen in {u["id"] for u in unions.items}:
        return chosen or None
    found = gateway.maybe(lambda: gateway.get(f"/api/quota/units/{quote(chosen, safe='')}"))
    if not found or found.get("parent_id") != me().get("unit_id") or found.get("level") != "grassroots":
        return None
    unions.items.insert(0, found)
    return chosen


@blueprint.route("/unit/lists/unions")
@requires(UNIT_OFFICER)
def union_buttons():
    """The send buttons of the unions found as the officer types (htmx)."""
    return render_template("officers/_union_buttons.html", unions=_unions())


@blueprint.route("/unit/lists/send", methods=["POST"])
@requires(UNIT_OFFICER)
def send_list():
    """Send one grassroots union's confirmed nominees to the institutions, as one list dated today."""
    campaign = the_campaign()
    union = request.form.get("grassroots_union_id", "")
    try:
        sent = gateway.post("/api/enrollment/lists", {"campaign_id": campaign["id"], "grassroots_union_id": union})
        flash(
            _(
                "已向培训机构报送 %(union)s 的名单：%(count)s 人。",
                union=sent["grassroots_union_name"],
                count=sent["nominees"],
            ),
            "ok",
        )
    except Problem as error:
        if error.status >= 500:
            raise
        flash(error.detail or error.title, "error")
    return redirect(url_for("officers.unit_lists"))


# ---------------------------------------------------------------- grassroots union officer


METHODS = options([("vote", _l("表决（填写票数）")), ("evaluation", _l("民主评议")), ("consultation", _l("民主协商"))])
VOTES = ("voters", "votes_for", "votes_against", "votes_abstained")


class NominationForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=50)])
    resident_id = StringField(
        _l("身份证号"),
        validators=[DataRequired(_l("请填写身份证号")), Length(min=18, max=18, message=_l("身份证号应为 18 位"))],
    )
    phone = StringField(_l("手机号码"), validators=[DataRequired(_l("请填写手机号码"))])
    education = SelectField(
        _l("文化程度"), choices=options((v, v) for v in ("初中", "高中", "中专", "技校", "大专", "本科"))
    )
    programme_id = SelectField(_l("培训项目"), validators=[DataRequired(_l("请选择培训项目"))])
    attestation = TextAreaField(
        _l("民主推荐情况（推荐理由）"), validators=[DataRequired(_l("请填写民主推荐情况")), Length(max=1000)]
    )
    notice_start = DateField(_l("公示开始日期"), validators=[InputRequired(_l("请填写公示开始日期"))])
    meeting_on = DateField(_l("民主推荐会议日期"), validators=[InputRequired(_l("请填写民主推荐会议日期"))])
    method = SelectField(_l("推荐方式"), choices=METHODS)
    voters = IntegerField(_l("到会人数"), validators=[Optional(), NumberRange(min=1)])
    votes_for = IntegerField(_l("赞成票"), validators=[Optional(), NumberRange(min=0)])
    votes_against = IntegerField(_l("反对票"), validators=[Optional(), NumberRange(min=0)])
    votes_abstained = IntegerField(_l("弃权票"), validators=[Optional(), NumberRange(min=0)])

    def recommendation(self) -> dict:
        """The democratic recommendation record as the API takes it (votes only where voted)."""
        record = {"meeting_on": self.meeting_on.data.isoformat(), "method": self.method.data}
        if self.method.data == "vote":
            record |= {key: getattr(self, key).data for key in VOTES}
        return record


class NominationImportForm(FlaskForm):
    file = FileField(_l("推荐名单文件（.xlsx）"), validators=[FileRequired(_l("请选择文件")), SPREADSHEETS])
    notice_start = DateField(_l("公示开始日期"), validators=[InputRequired(_l("请填写公示开始日期"))])
    meeting_on = DateField(_l("民主推荐会议日期"), validators=[InputRequired(_l("请填写民主推荐会议日期"))])
    method = SelectField(_l("推荐方式"), choices=METHODS[1:])  # a vote's votes are per nominee: one by one


class ObjectionForm(FlaskForm):
    raised_on = DateField(_l("提出日期"), validators=[InputRequired(_l("请填写日期"))])
    summary = TextAreaField(_l("异议内容"), validators=[DataRequired(_l("请填写异议内容")), Length(max=2000)])


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        _l("处理结果"),
        choices=options([("dismissed", _l("异议不成立，继续推荐")), ("upheld", _l("异议成立，取消推荐"))]),
    )
    note = TextAreaField(_l("核实情况"), validators=[DataRequired(_l("请填写核实情况")), Length(max=2000)])


def programme_choices(campaign) -> list:
    """The programmes of the officer's unit's plan (all published ones when the unit has no plan yet)."""
    unit = me().get("unit_id")
    chosen: list[str] = []
    try:
        chosen = gateway.get(f"/api/enrollment/units/{unit}/plans/{campaign['id']}").get("programme_ids", [])
    except Problem as error:
        if error.status not in (403, 404):
            raise
    # the select lists every programme the union may choose: the catalogue is hundreds at most (one call of 500)
    programmes = gateway.every("/api/enrollment/programmes", status="published")
    return options(
        [("", _("请选择"))]
        + [
            (p["programme_id"], f"{p['name']}（{p['institution_id']}）")
            for p in programmes
            if not chosen or p["programme_id"] in chosen
        ]
    )


def _nominations_page(campaign, form, import_form, form_error=None, import_report=None, status=200, bulk=None):
    ready_only = request.args.get("ready") == "1"
    # ready to confirm: the notice over, consent recorded, no objection undecided (the list filters it)
    ready = (
        {
            "status": "nominated",
            "notice_end_to": today().isoformat(),
            "consent_recorded": "true",
            "objection_open": "false",
        }
        if ready_only
        else {"status": request.args.get("status") or None}
    )
    page = gateway.page(
        "/api/enrollment/enrolments", campaign_id=campaign["id"], cursor=request.args.get("cursor"), **ready
    )
    return (
        render_template(
            "officers/nominations.html",
            campaign=campaign,
            page=page,
            form=form,
            import_form=import_form,
            form_error=form_error,
            import_report=import_report,
            bulk=bulk,
            today=today().isoformat(),
            ready_only=ready_only,
        ),
        status,
    )


@blueprint.route("/nominations", methods=["GET", "POST"])
@requires(GRASSROOTS_OFFICER)
def nominations():
    campaign = the_campaign()
    form = NominationForm(notice_start=today())
    form.programme_id.choices = programme_choices(campaign)
    if request.method == "POST":
        if not form.validate():
            return _nominations_page(
                campaign, form, NominationImportForm(formdata=None, prefix="import", notice_start=today()), status=422
            )
        body = {
            name: getattr(form, name).data.strip()
            for name in ("name", "resident_id", "phone", "education", "programme_id", "attestation")
        }
        body["resident_id"] = body["resident_id"].upper()
        body.update(
            campaign_id=campaign["id"],
            notice_start=form.notice_start.data.isoformat(),
            recommendation=form.recommendation(),
        )
        try:
            made = gateway.post("/api/enrollment/enrolments", body)
        except Problem as error:
            message = show_problem(form, error)
            return _nominations_page(
                campaign,
                form,
                NominationImportForm(formdata=None, prefix="import", notice_start=today()),
                message,
                status=error.status,
            )
        flash(_("已推荐 %(name)s，公示至 %(end)s。", name=made["name"], end=made["notice_end"]), "ok")
        return redirect(url_for("officers.nominations"))
    return _nominations_page(campaign, form, NominationImportForm(formdata=None, prefix="import", notice_start=today()))


@blueprint.route("/nominations/import", methods=["POST"])
@requires(GRASSROOTS_OFFICER)
def import_nominations():
    campaign = the_campaign()
    form = NominationImportForm(prefix="import")
    report, status = None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            made = gateway.post(
                "/api/enrollment/enrolments/import",
                None,
                files={"file": (upload.filename, upload.read(), upload.mimetype or "application/octet-stream")},
                data={
                    "campaign_id": campaign["id"],
                    "notice_start": form.notice_start.data.isoformat(),
                    "meeting_on": form.meeting_on.data.isoformat(),
                    "method": form.method.data,
                },
            )
            report = {"ok": True, "imported": len(made), "changed": len(made)}
        except Problem as error:
            report, status = import_refusal(error), error.status
    if request.headers.get("HX-Request"):
        return render_template("federation/_import_result.html", import_form=form, report=report)
    empty = NominationForm(formdata=None, notice_start=today())
    empty.programme_id.choices = programme_choices(campaign)
    return _nominations_page(campaign, empty, form, import_report=report, status=status)


@blueprint.route("/nominations/bulk", methods=["POST"])
@requires(GRASSROOTS_OFFICER)
def bulk():
    """Consent (written, dated today) or confirm the ticked nominations, one by one: each done or refused with
    the gateway's reason."""
    action = request.form.get("action")
    ids = request.form.getlist("enrolment_id")[:500]
    if action not in ("consent", "confirm") or not ids:
        flash(_("请先勾选人选。"), "error")
        return redirect(url_for("officers.nominations"))
    done, refused = 0, []
    for enrolment_id in ids:
        try:
            if action == "consent":
                gateway.post(
                    f"/api/enrollment/enrolments/{enrolment_id}/consent", {"written_consent_on": today().isoformat()}
                )
            else:
                gateway.post(f"/api/enrollment/enrolments/{enrolment_id}/confirm")
            done += 1
        except Problem as error:
            if error.status >= 500:
                raise
            reasons = error.errors.get("blockers") if isinstance(error.errors, dict) else None
            refused.append(
                f"{enrolment_id[:8]}：{error.detail}{'（' + '；'.join(map(str, reasons)) + '）' if reasons else ''}"
            )
    what = _("登记本人书面同意") if action == "consent" else _("确认名单")
    flash(
        _("%(what)s：成功 %(done)s 人，未成功 %(refused)s 人。", what=what, done=done, refused=len(refused)),
        "ok" if not refused else "error",
    )
    for line in refused[:20]:
        flash(line, "error")
    return redirect(url_for("officers.nominations"))


@blueprint.route("/notice")
@requires(GRASSROOTS_OFFICER)
def notice():
    campaign = the_campaign()
    page = gateway.page(
        "/api/enrollment/enrolments", campaign_id=campaign["id"], status="nominated", cursor=request.args.get("cursor")
    )
    return render_template("officers/notice.html", campaign=campaign, page=page, today=today().isoformat())


@blueprint.route("/notice/<enrolment_id>", methods=["GET", "POST"])
@requires(GRASSROOTS_OFFICER)
def enrolment(enrolment_id):
    row = gateway.get(f"/api/enrollment/enrolments/{enrolment_id}")
    objection = ObjectionForm(prefix="objection", raised_on=today())
    outcome = OutcomeForm(prefix="outcome")
    form_error, status = None, 200
    if request.method == "POST":
        which = request.form.get("form")
        try:
            if which == "objection" and objection.validate():
                gateway.post(
                    f"/api/enrollment/enrolments/{enrolment_id}/objections",
                    {"raised_on": objection.raised_on.data.isoformat(), "summary": objection.summary.data.strip()},
                )
                flash(_("已登记异议，请核实后作出处理结果。"), "ok")
                return redirect(url_for("officers.enrolment", enrolment_id=enrolment_id))
            if which == "outcome" and outcome.validate():
                gateway.post(
                    f"/api/enrollment/enrolments/{enrolment_id}/objections/{request.form['objection_id']}/outcome",
                    {"outcome": outcome.outcome.data, "note": outcome.note.data.strip()},
                )
                flash(_("已记录异议处理结果。"), "ok")
                return redirect(url_for("officers.enrolment", enrolment_id=enrolment_id))
            status = 422
        except Problem as error:
            form_error = show_problem(objection if which == "objection" else outcome, error)
            status = error.status
    return (
        render_template(
            "officers/enrolment.html", row=row, objection=objection, outcome=outcome, form_error=form_error
        ),
        status,
    )


# ---------------------------------------------------------------- grassroots: its employees' studies

STUDY_STATUSES = ("registered", "admitted", "completed", "withdrawn", "refused")


@blueprint.route("/studies")
@requires(GRASSROOTS_OFFICER)
def studies():
    """Its employees past the nomination: registrations, entrance tests, classes, completion."""
    return render_template("officers/studies.html", **enrolments_in_status(STUDY_STATUSES))


# ---------------------------------------------------------------- both officers: results and certificates

OUTCOMES = {"passed": "true", "failed": "false"}


@blueprint.route("/union/results")
@requires(GRASSROOTS_OFFICER, UNIT_OFFICER)
def results():
    """Its employees' exam results (every attempt: retakes show as later attempts) and certificates, as evaluation
    scopes them (a grassroots union's own; a first-level unit's unions', one union at a time if chosen); names
    masked. A first-level officer filters by union; certificates are searched by the number's beginning."""
    campaign = the_campaign()
    showing = "certificates" if request.args.get("show") == "certificates" else "results"
    unions, union = None, None
    if me().get("role") == UNIT_OFFICER:
        # a district has hundreds or thousands of unions: the first 50 whose name holds union_q (as the lists page)
        unions = _unions()
        union = _chosen_union(request.args.get("union"), unions)
    outcome = request.args.get("outcome") if request.args.get("outcome") in OUTCOMES else ""
    filters = {"campaign_id": campaign["id"], "grassroots_union_id": union, "count": "true"}
    if showing == "results":
        page = gateway.page(
            "/api/evaluation/results",
            sort="-held_on",
            passed=OUTCOMES.get(outcome),
            cursor=request.args.get("cursor"),
            **filters,
        )
    else:
        page = gateway.page(
            "/api/evaluation/certificates",
            sort="-issued_on",
            q=(request.args.get("q") or "").strip()[:50],
            cursor=request.args.get("cursor"),
            **filters,
        )
    return render_template(
        "officers/results.html",
        campaign=campaign,
        page=page,
        showing=showing,
        unions=unions,
        union=union,
        union_q=request.args.get("union_q", ""),
        outcome=outcome,
        q=request.args.get("q", ""),
    )
