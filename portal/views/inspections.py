"""The federation's inspections (实地考察), scoring settings and notices (通报) of institutions.

The evaluation service keeps them: an inspection is a sheet of 0-100 marks per criterion the inspectors chose
(its mean is the score's "inspection" criterion); the scoring settings weigh the five criteria and set the notice
threshold; an evaluation keeps the institution's score and, below the threshold, notifies the institution once
per campaign (enrollment lists the notices). The auditor reads every page: no write control is rendered, the
write routes refuse it, and the gateway refuses it anyway.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, FieldList, FormField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import gateway
from ..app import FEDERATION, FEDERATION_ADMIN, requires
from ..forms import refusal, refusal_text, show_problem
from ..gateway import Problem
from .auth import safe_next
from .federation import _flat, _only_admin, the_campaign, today
from .oversight import CRITERIA, _institution, criteria_names, institution_names

blueprint = Blueprint("inspections", __name__, url_prefix="/federation")
# What inspectors usually mark on site: offered as the sheet's first lines, each may be renamed or left unmarked.
USUAL_MARKS = (_l("教学场地"), _l("师资力量"), _l("教学管理"), _l("学员服务"))
MARK_LINES = 6
TABS = ("inspections", "notices", "settings")
LISTS = {  # the tabs that list: the list, newest first
    "inspections": ("/api/evaluation/inspections", "-inspected_on"),
    "notices": ("/api/evaluation/notices", "-issued_at"),
}
NOTICE_STATES = ("awaiting_report", "overdue", "answered", "accepted", "not_accepted")  # the notices tab's filters


class MarkForm(FlaskForm):
    class Meta:
        csrf = False  # a line of the inspection's form, which carries the token

    criterion = StringField(_l("考察项目"), validators=[Optional(), Length(max=100)])
    score = IntegerField(
        _l("得分（0-100）"), validators=[Optional(), NumberRange(0, 100, _l("得分应在 0 到 100 之间"))]
    )


class InspectionForm(FlaskForm):
    inspector = StringField(_l("考察人员"), validators=[DataRequired(_l("请填写考察人员")), Length(max=200)])
    inspected_on = DateField(_l("考察日期"), validators=[InputRequired(_l("请填写日期"))])
    marks = FieldList(FormField(MarkForm), min_entries=MARK_LINES, max_entries=MARK_LINES)
    notes = TextAreaField(_l("考察情况说明"), validators=[Optional(), Length(max=5000)])

    def scores(self) -> dict[str, int] | None:
        """The sheet's marks by criterion (lines without a score left out), or None with the lines' errors set."""
        found: dict[str, int] = {}
        for line in self.marks:
            name, score = (line.criterion.data or "").strip(), line.score.data
            if score is None:
                continue
            if not name:
                line.criterion.errors = [_("请填写考察项目")]
            elif name in found:
                line.criterion.errors = [_("考察项目重复")]
            else:
                found[name] = score
        if any(line.criterion.errors or line.score.errors for line in self.marks):
            return None
        if not found:
            self.marks.errors = [_("请至少为一个考察项目打分")]
            return None
        return found


def inspection_form(formdata=None) -> InspectionForm:
    form = InspectionForm(formdata=formdata, inspected_on=today())
    if formdata is None:
        for line, name in zip(form.marks, USUAL_MARKS):
            line.criterion.data = str(name)
    return form


@blueprint.route("/institutions/<institution_id>/inspections", methods=["GET", "POST"])
@requires(*FEDERATION)
def institution_inspections(institution_id):
    """One institution's inspections in the campaign and its notices; the admin records an inspection (its
    marks per criterion) and evaluates the institution (which notifies it below the threshold)."""
    campaign = the_campaign()
    institution = _institution(institution_id)
    form, form_error, status = inspection_form(), None, 200
    if request.method == "POST":
        _only_admin()
        form = inspection_form(request.form)
        valid, scores = form.validate(), form.scores()  # every line's errors at once
        if not valid or scores is None:
            status = 422
        else:
            body = {
                "campaign_id": campaign["id"],
                "institution_id": institution_id,
                "inspector": form.inspector.data.strip(),
                "inspected_on": form.inspected_on.data.isoformat(),
                "scores": scores,
                "notes": (form.notes.data or "").strip() or None,
            }
            try:
                gateway.post("/api/evaluation/inspections", body)
            except Problem as error:
                form_error, status = show_problem(form, error, {"scores": "marks"}), error.status
            else:
                flash(_("已记录对“%(name)s”的实地考察。", name=institution["name"]), "ok")
                return redirect(url_for("inspections.institution_inspections", institution_id=institution_id))
    inspections, notices = gateway.concurrently(
        lambda: gateway.page(
            "/api/evaluation/inspections",
            campaign_id=campaign["id"],
            institution_id=institution_id,
            sort="-inspected_on",
            cursor=request.args.get("cursor"),
        ),
        # at most one notice per campaign: few by nature
        lambda: gateway.every("/api/evaluation/notices", institution_id=institution_id, sort="-issued_at"),
    )
    return render_template(
        "federation/inspections_institution.html",
        campaign=campaign,
        institution=institution,
        inspections=inspections,
        notices=notices,
        form=form,
        form_error=form_error,
    ), status


@blueprint.route("/institutions/<institution_id>/evaluation", methods=["POST"])
@requires(FEDERATION_ADMIN)
def evaluate(institution_id):
    """Keep the institution's score in the campaign; below the notice threshold it is notified (once per
    campaign): the flash says which."""
    campaign = the_campaign()
    back = redirect(url_for("inspections.institution_inspections", institution_id=institution_id))
    body = {"campaign_id": campaign["id"]}
    if request.form.get("respond_by"):  # else 10 working days from today, as the service counts them
        body["respond_by"] = request.form["respond_by"]
    try:
        found = gateway.post(f"/api/evaluation/institutions/{institution_id}/evaluations", body)
    except Problem as error:
        if error.status >= 500 or error.status == 429:
            raise  # 稍后再试, with the time to wait
        # e.g. no working-day calendar for the rosters' year, a due date in the past
        flash(refusal_text(error), "error")
        return back
    score, line = found.get("score") or "—", found["notice_threshold"]
    if found.get("notice"):
        due = (found.get("rectification") or {}).get("respond_by")
        flash(
            _(
                "已评估：综合评分 %(score)s，低于通报线 %(line)s，已向该机构发出通报，整改报告截止 %(due)s。",
                score=score,
                line=line,
                due=due,
            ),
            "ok",
        )
    elif found.get("below_threshold"):
        flash(_("已评估：综合评分 %(score)s，低于通报线；本计划已通报过该机构，不再重复通报。", score=score), "ok")
    else:
        flash(_("已评估：综合评分 %(score)s，不低于通报线 %(line)s，无需通报。", score=score, line=line), "ok")
    return back


class SettingsForm(FlaskForm):
    plan_execution = DecimalField(_l("计划执行权重"), places=2, validators=[InputRequired(_l("请填写权重"))])
    satisfaction = DecimalField(_l("学员满意度权重"), places=2, validators=[InputRequired(_l("请填写权重"))])
    results = DecimalField(_l("考核结果权重"), places=2, validators=[InputRequired(_l("请填写权重"))])
    use_of_funds = DecimalField(_l("资金使用权重"), places=2, validators=[InputRequired(_l("请填写权重"))])
    inspection = DecimalField(_l("检查评估权重"), places=2, validators=[InputRequired(_l("请填写权重"))])
    notice_threshold = DecimalField(
        _l("通报线（综合评分低于此分即通报）"),
        places=2,
        validators=[InputRequired(_l("请填写通报线")), NumberRange(0, 100, _l("通报线应在 0 到 100 之间"))],
    )


# the API's field names -> the settings form's (an error of the weights as a whole, their sum, is the form's)
SETTINGS_FIELDS = {f"weights.{name}": name for name in CRITERIA}


@blueprint.route("/inspections", methods=["GET", "POST"])
@requires(*FEDERATION)
def overview():
    """The campaign's inspections of every institution, the notices given, and the scoring settings (the admin
    changes the weights and the notice threshold)."""
    campaign = the_campaign()
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "inspections"
    settings = gateway.get("/api/evaluation/scoring-settings")
    form = SettingsForm(
        data={
            **{name: Decimal(settings["weights"][name]) for name in CRITERIA},
            "notice_threshold": Decimal(settings["notice_threshold"]),
        }
    )
    form_error, status = None, 200
    if request.method == "POST":
        _only_admin()
        tab, form = "settings", SettingsForm()
        if form.validate():
            body = {
                "weights": {name: str(getattr(form, name).data) for name in CRITERIA},
                "notice_threshold": str(form.notice_threshold.data),
            }
            try:
                gateway.put("/api/evaluation/scoring-settings", body)
            except Problem as error:
                form_error, status = show_problem(form, _flat(error), SETTINGS_FIELDS), error.status
            else:
                flash(_("已保存评分权重与通报线。"), "ok")
                return redirect(url_for("inspections.overview", tab="settings"))
        else:
            status = 422
    listed, state = None, request.args.get("state") if request.args.get("state") in NOTICE_STATES else None
    if tab in LISTS:
        path, newest_first = LISTS[tab]
        filters = {"state": state} if tab == "notices" else {}
        listed = gateway.page(
            path, campaign_id=campaign["id"], sort=newest_first, cursor=request.args.get("cursor"), **filters
        )
    return render_template(
        "federation/inspections.html",
        campaign=campaign,
        tab=tab,
        state=state,
        listed=listed,
        names=institution_names(),
        settings=settings,
        criteria=criteria_names(),
        form=form,
        form_error=form_error,
    ), status


@blueprint.route("/notices/<notice_id>/verdict", methods=["POST"])
@requires(FEDERATION_ADMIN)
def judge_notice(notice_id):
    """Accept the institution's rectification, or not (with the reason: it then sends a revised report)."""
    back = safe_next(request.form.get("next") or url_for("inspections.overview", tab="notices"))
    accepted = request.form.get("accepted") == "true"
    body = {"accepted": accepted, "reason": (request.form.get("reason") or "").strip() or None}
    refused = refusal(lambda: gateway.post(f"/api/evaluation/notices/{notice_id}/verdict", body))
    if refused:
        flash(refusal_text(refused), "error")
    else:
        flash(_("已认可该机构的整改。") if accepted else _("已记录：整改不予认可，待机构重新提交。"), "ok")
    return redirect(back)
