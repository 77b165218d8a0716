"""The institution staff's workspace (培训机构经办人): the lists the unions sent it, registration (the entrance
test and admission of academic students), payments, classes (dedicated with a head teacher and an assistant
above the campaign's threshold, or joining a class of public students), rosters (the deadline in Chinese working
days, submission, the federation's review), exam results and retakes, certificates, its scores and notices."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import gateway
from ..app import INSTITUTION_OPERATOR, me, requires
from ..forms import options, show_problem
from ..gateway import Problem
from .federation import enrolments_in_status, the_campaign, today
from .oversight import criteria_names, institution_score

blueprint = Blueprint("institution", __name__, url_prefix="/institution")

STATUSES = ("sent", "requested", "registered", "admitted", "refused", "withdrawn")


def programme_names() -> dict[str, str]:
    """Programme id -> name, for the institution's own programmes."""
    listed = gateway.get("/api/enrollment/programmes", institution_id=me().get("institution_id"), limit=500)
    return {p["programme_id"]: p["name"] for p in listed}


# ---------------------------------------------------------------- students: sent lists, registration


@blueprint.route("/students")
@requires(INSTITUTION_OPERATOR)
def students():
    return render_template("institution/students.html", **enrolments_in_status(STATUSES), programmes=programme_names())


@blueprint.route("/students/register", methods=["POST"])
@requires(INSTITUTION_OPERATOR)
def register():
    """Register the ticked students of the lists sent: quota answers each (a seat or subsidy, or a refusal)."""
    ids = request.form.getlist("enrolment_id")[:500]
    if not ids:
        flash(_("请先勾选学员。"), "error")
        return redirect(url_for("institution.students"))
    done, refused = 0, []
    for enrolment_id in ids:
        try:
            gateway.post(f"/api/enrollment/enrolments/{enrolment_id}/register")
            done += 1
        except Problem as error:
            if error.status >= 500:
                raise
            refused.append(f"{enrolment_id[:8]}：{error.detail}")
    flash(
        _(
            "报名登记：已提交 %(done)s 人，未成功 %(refused)s 人。名额核定结果稍后显示在“报名中/已报名”。",
            done=done,
            refused=len(refused),
        ),
        "ok" if not refused else "error",
    )
    for line in refused[:20]:
        flash(line, "error")
    return redirect(url_for("institution.students", status="requested"))


class EntranceTestForm(FlaskForm):
    held_on = DateField(_l("测试日期"), validators=[InputRequired(_l("请填写日期"))])
    score = DecimalField(_l("测试成绩"), places=2, validators=[InputRequired(_l("请填写成绩")), NumberRange(0, 1000)])
    passed = SelectField(_l("测试结果"), choices=options([("yes", _l("通过")), ("no", _l("未通过（不予录取）"))]))


class PaymentForm(FlaskForm):
    amount = StringField(_l("缴费金额（元）"), validators=[DataRequired(_l("请填写金额")), Length(max=20)])
    paid_on = DateField(_l("缴费日期"), validators=[InputRequired(_l("请填写日期"))])
    reference = StringField(_l("票据号"), validators=[Optional(), Length(max=100)])


class ResultForm(FlaskForm):
    exam = StringField(_l("考试名称"), validators=[DataRequired(_l("请填写考试名称")), Length(max=200)])
    held_on = DateField(_l("考试日期"), validators=[InputRequired(_l("请填写日期"))])
    score = DecimalField(_l("成绩"), places=2, validators=[InputRequired(_l("请填写成绩")), NumberRange(0, 1000)])
    passed = SelectField(_l("是否合格"), choices=options([("yes", _l("合格")), ("no", _l("不合格"))]))


class ChangeForm(FlaskForm):
    kind = SelectField(
        _l("变动类型"),
        choices=options([("withdrawal", _l("退学")), ("transfer", _l("转学")), ("major_change", _l("转专业/工种"))]),
    )
    to_programme_id = SelectField(_l("转入项目"), validators=[Optional()])
    effective_on = DateField(_l("生效日期"), validators=[InputRequired(_l("请填写日期"))])
    reason = TextAreaField(_l("变动原因"), validators=[DataRequired(_l("请填写原因")), Length(max=1000)])


class CertificateForm(FlaskForm):
    number = StringField(_l("证书编号"), validators=[DataRequired(_l("请填写证书编号")), Length(max=64)])
    issued_on = DateField(_l("发证日期"), validators=[InputRequired(_l("请填写日期"))])


def _student_forms(row: dict, formdata=None) -> dict:
    """The forms of a student's page, empty or filled from the request (formdata). The exam's name is the last
    result's (a retake is the same exam again), else the programme's."""
    day = today()
    return {
        "test": EntranceTestForm(formdata=formdata, prefix="test", held_on=day),
        "payment": PaymentForm(formdata=formdata, prefix="payment", paid_on=day),
        "result": ResultForm(formdata=formdata, prefix="result", held_on=day, exam=row["exam"]),
        "certificate": CertificateForm(formdata=formdata, prefix="certificate", issued_on=day),
        "change": ChangeForm(formdata=formdata, prefix="change", effective_on=day),
    }


@blueprint.route("/students/<enrolment_id>", methods=["GET", "POST"])
@requires(INSTITUTION_OPERATOR)
def student(enrolment_id):
    row = gateway.get(f"/api/enrollment/enrolments/{enrolment_id}")
    row["programme_name"] = programme_names().get(row["programme_id"], row["programme_id"])
    results = _results(enrolment_id)
    row["exam"] = results[-1]["exam"] if results else row["programme_name"]
    which = request.form.get("form") if request.method == "POST" else None
    forms = _student_forms(row, formdata=None)
    moves = _programme_choices(row["programme_id"])
    forms["change"].to_programme_id.choices = moves
    form_error, status = None, 200
    if which in forms:
        forms[which] = _student_forms(row, formdata=request.form)[which]
        form = forms[which]
        forms["change"].to_programme_id.choices = moves
        if form.validate():
            try:
                flash(_act(which, enrolment_id, form), "ok")
                return redirect(url_for("institution.student", enrolment_id=enrolment_id))
            except Problem as error:
                if error.status >= 500:
                    raise
                form_error, status = show_problem(form, error), error.status
                lines = error.errors.get("lines") if isinstance(error.errors, dict) else None
                if isinstance(lines, dict):  # a batch of one line: its messages are this form's
                    form_error = "；".join([form_error, *(m for found in lines.values() for m in _texts(found))])
        else:
            status = 422
    elif which == "admit":
        try:
            gateway.post(f"/api/enrollment/enrolments/{enrolment_id}/admit")
            flash(_("已录取。"), "ok")
            return redirect(url_for("institution.student", enrolment_id=enrolment_id))
        except Problem as error:
            if error.status >= 500:
                raise
            form_error, status = error.detail, error.status
    breakdown = gateway.maybe(lambda: gateway.get(f"/api/finance/enrolments/{enrolment_id}/breakdown"))
    payments = gateway.maybe(lambda: gateway.get("/api/finance/payments", enrolment_id=enrolment_id), [])
    certificates = gateway.maybe(lambda: gateway.get("/api/evaluation/certificates", enrolment_id=enrolment_id), [])
    changes = gateway.maybe(lambda: gateway.get(f"/api/enrollment/enrolments/{enrolment_id}/status-changes"), [])
    return (
        render_template(
            "institution/student.html",
            row=row,
            forms=forms,
            which=which,
            form_error=form_error,
            breakdown=breakdown,
            payments=[p for p in payments if p.get("enrolment_id") == enrolment_id],
            results=results,
            certificates=[c for c in certificates if c.get("enrolment_id") == enrolment_id],
            changes=changes,
        ),
        status,
    )


def _programme_choices(current: str) -> list:
    """Every programme a student may move to (another institution's: a transfer; this one's: a change)."""
    listed = gateway.get("/api/enrollment/programmes", limit=500)
    return options(
        [("", _("（退学不填）"))]
        + [(p["programme_id"], f"{p['name']}（{p['institution_id']}）") for p in listed if p["programme_id"] != current]
    )


def _texts(found) -> list[str]:
    """Every message of a (possibly nested) errors value."""
    if isinstance(found, str):
        return [found]
    if isinstance(found, dict):
        return [text for value in found.values() for text in _texts(value)]
    if isinstance(found, list):
        return [text for value in found for text in _texts(value)]
    return []


def _results(enrolment_id: str) -> list[dict]:
    """The student's exam results, every attempt, in the order taken."""
    found = gateway.maybe(lambda: gateway.get("/api/evaluation/results", enrolment_id=enrolment_id), [])
    return sorted(
        (r for r in found if r.get("enrolment_id") == enrolment_id), key=lambda r: (r["held_on"], r.get("attempt", 0))
    )


def _act(which: str, enrolment_id: str, form) -> str:
    """Send one of the student page's forms to the gateway; the message to show when done."""
    if which == "test":
        gateway.post(
            f"/api/enrollment/enrolments/{enrolment_id}/entrance-test",
            {
                "held_on": form.held_on.data.isoformat(),
                "score": f"{form.score.data:.2f}",
                "passed": form.passed.data == "yes",
            },
        )
        return _("已记录入学测试结果。")
    if which == "payment":
        made = gateway.post(
            f"/api/finance/enrolments/{enrolment_id}/payments",
            {
                "amount": form.amount.data.strip(),
                "paid_on": form.paid_on.data.isoformat(),
                **({"reference": form.reference.data.strip()} if form.reference.data else {}),
            },
        )
        return _("已登记缴费 %(amount)s 元。", amount=made.get("amount", form.amount.data))
    if which == "result":
        gateway.post(
            "/api/evaluation/results/batches",
            {
                "lines": [
                    {
                        "enrolment_id": enrolment_id,
                        "exam": form.exam.data.strip(),
                        "held_on": form.held_on.data.isoformat(),
                        "score": f"{form.score.data:.2f}",
                        "passed": form.passed.data == "yes",
                    }
                ]
            },
        )
        return _("已登记考试成绩。")
    if which == "change":
        gateway.post(
            f"/api/enrollment/enrolments/{enrolment_id}/status-changes",
            {
                "kind": form.kind.data,
                "effective_on": form.effective_on.data.isoformat(),
                "reason": form.reason.data.strip(),
                **({"to_programme_id": form.to_programme_id.data} if form.to_programme_id.data else {}),
            },
        )
        return _("已提出学籍变动申请，待单位工会和市总工会审核。")
    gateway.post(
        "/api/evaluation/certificates",
        {
            "enrolment_id": enrolment_id,
            "number": form.number.data.strip(),
            "issued_on": form.issued_on.data.isoformat(),
        },
    )
    return _("已登记证书。")


# ---------------------------------------------------------------- classes and rosters


class ClassForm(FlaskForm):
    programme_id = SelectField(_l("培训项目"), validators=[DataRequired(_l("请选择培训项目"))])
    opens_on = DateField(_l("开班日期"), validators=[InputRequired(_l("请填写开班日期"))])
    site = StringField(_l("教学地点"), validators=[DataRequired(_l("请填写教学地点")), Length(max=200)])
    on_site = BooleanField(_l("送教上门（在单位办学）"))
    head_teacher = StringField(_l("班主任"), validators=[Optional(), Length(max=50)])
    learning_assistant = StringField(_l("学习助理"), validators=[Optional(), Length(max=50)])
    public_class_name = StringField(_l("插入的社会班名称"), validators=[Optional(), Length(max=200)])


class StaffForm(FlaskForm):
    head_teacher = StringField(_l("班主任"), validators=[DataRequired(_l("请填写班主任")), Length(max=50)])
    learning_assistant = StringField(_l("学习助理"), validators=[DataRequired(_l("请填写学习助理")), Length(max=50)])


def working_days_left(until: str | None, calendars: dict[int, dict], start: date | None = None) -> int | None:
    """Chinese working days after `start` (today) up to `until` (inclusive): weekdays, less the public holidays
    and plus the make-up working days of the loaded calendar (`calendars` by year, the gateway asked for a year
    not in it); -1 when `until` has passed, None when a year's calendar is missing."""
    if not until:
        return None
    end, day, count = date.fromisoformat(until), start or today(), 0
    if end < day:
        return -1
    while day < end:
        day += timedelta(days=1)
        calendar = calendars.get(day.year)
        if calendar is None:
            calendar = calendars[day.year] = gateway.maybe(
                lambda: gateway.get(f"/api/enrollment/calendar/{day.year}"), {}
            )
        if not calendar or calendar.get("source") == "missing":
            return None
        special = {d["day"]: d["workday"] for d in calendar.get("days", [])}
        count += special.get(day.isoformat(), day.weekday() < 5)
    return count


def _classes_page(campaign, form, form_error=None, status=200):
    groupings = gateway.get("/api/enrollment/groupings", campaign_id=campaign["id"])
    page = gateway.page("/api/enrollment/classes", campaign_id=campaign["id"], cursor=request.args.get("cursor"))
    calendars: dict[int, dict] = {}
    for klass in page.items:
        klass["working_days_left"] = (
            working_days_left(klass.get("roster_deadline"), calendars)
            if klass["status"] in ("forming", "returned")
            else None
        )
    return (
        render_template(
            "institution/classes.html",
            campaign=campaign,
            groupings=groupings,
            page=page,
            form=form,
            form_error=form_error,
            programmes=programme_names(),
        ),
        status,
    )


@blueprint.route("/classes", methods=["GET", "POST"])
@requires(INSTITUTION_OPERATOR)
def classes():
    campaign = the_campaign()
    names = programme_names()
    form = ClassForm(opens_on=today() + timedelta(days=14))
    form.programme_id.choices = options([("", _("请选择")), *names.items()])
    if request.method == "POST":
        if not form.validate():
            return _classes_page(campaign, form, status=422)
        body = {
            "campaign_id": campaign["id"],
            "programme_id": form.programme_id.data,
            "opens_on": form.opens_on.data.isoformat(),
            "site": form.site.data.strip(),
            "on_site": bool(form.on_site.data),
        }
        for name in ("head_teacher", "learning_assistant", "public_class_name"):
            value = (getattr(form, name).data or "").strip()
            if value:
                body[name] = value
        try:
            made = gateway.post("/api/enrollment/classes", body)
        except Problem as error:
            if error.status >= 500:
                raise
            return _classes_page(campaign, form, show_problem(form, error), error.status)
        flash(
            _(
                "已开班：%(programme)s，%(n)s 名学员。",
                programme=names.get(made["programme_id"], ""),
                n=len(made["students"]),
            ),
            "ok",
        )
        return redirect(url_for("institution.klass", class_id=made["class_id"]))
    return _classes_page(campaign, form)


@blueprint.route("/classes/<class_id>", methods=["GET", "POST"])
@requires(INSTITUTION_OPERATOR)
def klass(class_id):
    path = f"/api/enrollment/classes/{class_id}"
    found = gateway.get(path)
    staff = StaffForm(head_teacher=found.get("head_teacher"), learning_assistant=found.get("learning_assistant"))
    form_error, status = None, 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "staff" and staff.validate():
                gateway.put(
                    f"{path}/staff",
                    {
                        "head_teacher": staff.head_teacher.data.strip(),
                        "learning_assistant": staff.learning_assistant.data.strip(),
                    },
                )
                flash(_("已保存班主任和学习助理。"), "ok")
                return redirect(url_for("institution.klass", class_id=class_id))
            if action == "submit":
                gateway.post(f"{path}/roster")
                flash(_("花名册已报送市总工会审核。"), "ok")
                return redirect(url_for("institution.klass", class_id=class_id))
            if action == "open":
                gateway.post(f"{path}/open")
                flash(_("已开课。"), "ok")
                return redirect(url_for("institution.klass", class_id=class_id))
            status = 422
        except Problem as error:
            if error.status >= 500:
                raise
            form_error, status = show_problem(staff, error), error.status
    found["working_days_left"] = (
        working_days_left(found.get("roster_deadline"), {}) if found["status"] in ("forming", "returned") else None
    )
    return (
        render_template(
            "institution/class.html",
            klass=found,
            staff=staff,
            form_error=form_error,
            programme=programme_names().get(found["programme_id"], found["programme_id"]),
        ),
        status,
    )


# ---------------------------------------------------------------- its scores and the notices it received


@blueprint.route("/records")
@requires(INSTITUTION_OPERATOR)
def records():
    campaign = the_campaign()
    mine = me().get("institution_id")
    score, why_none = institution_score(mine, campaign)
    standing = gateway.maybe(lambda: gateway.get(f"/api/evaluation/institutions/{mine}/decisions"), {"decisions": []})
    notices = gateway.page("/api/enrollment/institution-notices", cursor=request.args.get("cursor"))
    surveys = [
        {**s, "results": gateway.maybe(lambda s=s: gateway.get(f"/api/evaluation/surveys/{s['survey_id']}/results"))}
        for s in gateway.get("/api/evaluation/surveys", campaign_id=campaign["id"], limit=20)
    ]
    return render_template(
        "institution/records.html",
        surveys=surveys,
        campaign=campaign,
        score=score,
        why_none=why_none,
        criteria=criteria_names(),
        standing=standing,
        page=notices,
    )
