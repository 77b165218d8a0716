"""The institution staff's workspace (培训机构经办人): the lists the unions sent it, registration (the entrance
test and admission of academic students), payments, classes (dedicated with a head teacher and an assistant
above the campaign's threshold, or joining a class of public students), rosters (the deadline in Chinese working
days, submission, the federation's review), exam results and retakes, certificates, its scores and notices."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from .. import gateway
from ..app import INSTITUTION_OPERATOR, current_campaign, me, requires
from ..forms import import_refusal, options, refusal, refusal_text, show_problem
from ..gateway import Problem
from .federation import SPREADSHEETS, enrolments_in_status, the_campaign, today, xlsx_download
from .oversight import criteria_names, institution_score

blueprint = Blueprint("institution", __name__, url_prefix="/institution")

STATUSES = ("sent", "requested", "registered", "admitted", "refused", "withdrawn")


def programme_names() -> dict[str, str]:
    """Programme id -> name, for the institution's own programmes (read whole with `gateway.every`: one institution's
    programmes are a few dozen at most)."""
    listed = gateway.every("/api/enrollment/programmes", institution_id=me().get("institution_id"))
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


class RejectionForm(FlaskForm):
    reason = SelectField(
        _l("不予录取的原因"),
        choices=options([("documents_missing", _l("报名材料不齐")), ("entrance_test_failed", _l("入学测试未通过"))]),
    )
    note = TextAreaField(_l("说明"), validators=[DataRequired(_l("请填写说明")), Length(max=500)])


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
        "reject": RejectionForm(formdata=formdata, prefix="reject"),
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
    """Every programme a student may move to (another institution's: a transfer; this one's: a change). The
    catalogue is small by nature (the contracted institutions' programmes, a few hundred): read whole with
    `gateway.every` for the choice, as the union's plan does."""
    listed = gateway.every("/api/enrollment/programmes")
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
    if which == "reject":
        gateway.post(
            f"/api/enrollment/enrolments/{enrolment_id}/rejection",
            {"reason": form.reason.data, "note": form.note.data.strip()},
        )
        return _("已不予录取，名额退回所属单位。")
    gateway.post(
        "/api/evaluation/certificates",
        {
            "enrolment_id": enrolment_id,
            "number": form.number.data.strip(),
            "issued_on": form.issued_on.data.isoformat(),
        },
    )
    return _("已登记证书。")


# ---------------------------------------------------------------- programmes: the catalogue's entries and fees

FEE_LINES = ("tuition_or_training", "appraisal_exam", "textbook", "registration", "entrance_test")
MONEY = r"^\d{1,7}(\.\d{1,2})?$"


def fee_field(label):
    return StringField(
        label,
        default="0.00",
        validators=[DataRequired(_l("请填写金额，不收取填 0")), Regexp(MONEY, message=_l("金额为元，最多两位小数"))],
    )


class ProgrammeForm(FlaskForm):
    programme_id = StringField(
        _l("项目编号"),
        validators=[
            DataRequired(_l("请填写项目编号")),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9_-]+$", message=_l("只能用字母、数字、- 和 _")),
        ],
    )
    name = StringField(_l("项目名称"), validators=[DataRequired(_l("请填写项目名称")), Length(max=200)])
    kind = SelectField(_l("类别"), choices=options([("skills", _l("技能提升")), ("academic", _l("学历提升"))]))
    level = StringField(_l("层次/等级"), validators=[DataRequired(_l("请填写层次或等级")), Length(max=20)])
    trade = StringField(_l("工种（技能提升）"), validators=[Optional(), Length(max=100)])
    major = StringField(_l("专业（学历提升）"), validators=[Optional(), Length(max=100)])
    teaching_sites = TextAreaField(
        _l("教学点（每行一个）"), validators=[DataRequired(_l("请填写教学点")), Length(max=5000)]
    )
    start_date = DateField(_l("开课日期"), validators=[InputRequired(_l("请填写日期"))])
    on_site_teaching = BooleanField(_l("可送教上门"))
    tuition_or_training = fee_field(_l("培训费/学费（元）"))
    appraisal_exam = fee_field(_l("鉴定考试费（元）"))
    textbook = fee_field(_l("教材费（元）"))
    registration = fee_field(_l("报名费（元）"))
    entrance_test = fee_field(_l("入学测试费（元）"))


def _programme_body(form: ProgrammeForm) -> dict:
    academic = form.kind.data == "academic"
    return {
        "institution_id": me().get("institution_id"),
        "name": form.name.data.strip(),
        "kind": form.kind.data,
        "level": form.level.data.strip(),
        **({"major": (form.major.data or "").strip()} if academic else {"trade": (form.trade.data or "").strip()}),
        "teaching_sites": [line.strip() for line in form.teaching_sites.data.splitlines() if line.strip()][:50],
        "start_date": form.start_date.data.isoformat(),
        "on_site_teaching": bool(form.on_site_teaching.data),
        "fee_standard": {line: getattr(form, line).data.strip() for line in FEE_LINES},
    }


def fee_shares(body: dict) -> dict | None:
    """Who pays what of these fees in the current campaign, as finance computes a student's breakdown (the
    default unit policy); None when finance does not know the campaign yet."""
    campaign = current_campaign()
    if campaign is None:
        return None
    return gateway.maybe(
        lambda: gateway.get(
            f"/api/finance/campaigns/{campaign['id']}/fee-shares",
            kind=body["kind"],
            trade=body.get("trade"),
            **body["fee_standard"],
        )
    )


@blueprint.route("/programmes")
@requires(INSTITUTION_OPERATOR)
def programmes():
    listed = gateway.page(
        "/api/enrollment/programmes", institution_id=me().get("institution_id"), cursor=request.args.get("cursor")
    )
    return render_template("institution/programmes.html", page=listed)


@blueprint.route("/programmes/new", methods=["GET", "POST"])
@blueprint.route("/programmes/<programme_id>", methods=["GET", "POST"])
@requires(INSTITUTION_OPERATOR)
def programme(programme_id=None):
    """Create or edit a programme: its fees line by line and, beside them, the shares finance computes (of what
    is saved, or of what is typed when previewed). Saving a published programme announces the new fees."""
    saved = gateway.get(f"/api/enrollment/programmes/{programme_id}") if programme_id else None
    form = ProgrammeForm(
        data=(
            {
                **saved,
                **saved["fee_standard"],
                "teaching_sites": "\n".join(saved["teaching_sites"]),
                "start_date": date.fromisoformat(saved["start_date"]),
            }
            if saved and request.method == "GET"
            else None
        )
    )
    if saved:
        form.programme_id.data = programme_id  # the id of a saved programme stays
    form_error, status = None, 200
    shares = fee_shares(saved) if saved else None
    if request.method == "POST":
        if not form.validate():
            status = 422
        elif request.form.get("action") == "preview":
            shares = fee_shares(_programme_body(form))
        else:
            the_id = programme_id or form.programme_id.data.strip()
            try:
                gateway.put(f"/api/enrollment/programmes/{the_id}", _programme_body(form))
                flash(_("已保存培训项目。"), "ok")
                return redirect(url_for("institution.programme", programme_id=the_id))
            except Problem as error:
                if error.status >= 500:
                    raise
                fee_errors = error.errors.get("fee_standard") if isinstance(error.errors, dict) else None
                for line, messages in (fee_errors or {}).items() if isinstance(fee_errors, dict) else ():
                    getattr(form, line).errors = list(form[line].errors or []) + _texts(messages)
                form_error, status = show_problem(form, error), error.status
    return (
        render_template("institution/programme.html", form=form, saved=saved, shares=shares, form_error=form_error),
        status,
    )


# ---------------------------------------------------------------- .xlsx imports: exam results and payments


class ImportForm(FlaskForm):
    file = FileField(_l("选择文件（.xlsx）"), validators=[FileRequired(_l("请选择文件")), SPREADSHEETS])


# kind -> the API's import, its template; each answers with every row recorded or a report of every bad row.
IMPORTS = {
    "results": ("/api/evaluation/results/import", "/api/evaluation/results/import/template"),
    "payments": ("/api/finance/payments/import", "/api/finance/payments/import/template"),
}


def _import_summary(kind: str, done: dict) -> str:
    if kind == "payments":
        return _("导入完成：已登记 %(n)s 笔缴费。", n=done.get("recorded", 0))
    retakes = sum(1 for line in done.get("results", []) if (line.get("attempt") or 1) > 1)
    return _("导入完成：已登记 %(n)s 条成绩，其中补考 %(r)s 条。", n=done.get("recorded", 0), r=retakes)


@blueprint.route("/imports")
@requires(INSTITUTION_OPERATOR)
def imports():
    forms = {kind: ImportForm(prefix=kind) for kind in IMPORTS}
    return render_template(
        "institution/imports.html", forms=forms, shown=None, report=None, programmes=programme_names()
    )


@blueprint.route("/imports/<kind>", methods=["POST"])
@requires(INSTITUTION_OPERATOR)
def import_file(kind):
    """All rows or none: the counts, or the report of every bad row, in place of the result (htmx) or on the
    page."""
    if kind not in IMPORTS:
        abort(404)
    forms = {name: ImportForm(prefix=name) for name in IMPORTS}
    form, report, status = forms[kind], None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            done = gateway.post(
                IMPORTS[kind][0],
                None,
                files={"file": (upload.filename, upload.read(), upload.mimetype or "application/octet-stream")},
            )
            report = {"ok": True, "summary": _import_summary(kind, done)}
        except Problem as error:
            report, status = import_refusal(error), error.status
    if request.headers.get("HX-Request"):
        return render_template("federation/_import_result.html", import_form=form, report=report)
    return render_template(
        "institution/imports.html", forms=forms, shown=kind, report=report, programmes=programme_names()
    ), status


@blueprint.route("/imports/<kind>/template.xlsx")
@requires(INSTITUTION_OPERATOR)
def import_template(kind):
    """The import's template; `prefilled=1`: with a row per student of the campaign (results: of a programme too),
    as the service holding the import knows them."""
    if kind not in IMPORTS:
        abort(404)
    params = {}
    if request.args.get("prefilled") and current_campaign():
        params["campaign_id"] = current_campaign()["id"]
        if kind == "results" and request.args.get("programme_id"):
            params["programme_id"] = request.args["programme_id"]
    return xlsx_download(IMPORTS[kind][1], f"{kind}-import.xlsx", params)


# ---------------------------------------------------------------- classes and rosters


class ClassForm(FlaskForm):
    programme_id = SelectField(_l("培训项目"), validators=[DataRequired(_l("请选择培训项目"))])
    opens_on = DateField(_l("开班日期"), validators=[InputRequired(_l("请填写开班日期"))])
    site = StringField(_l("教学地点"), validators=[DataRequired(_l("请填写教学地点")), Length(max=200)])
    on_site = BooleanField(_l("送教上门（在单位办学）"))
    head_teacher = StringField(_l("班主任"), validators=[Optional(), Length(max=50)])
    learning_assistant = StringField(_l("学习助理"), validators=[Optional(), Length(max=50)])
    public_class_name = StringField(_l("插入的社会班名称"), validators=[Optional(), Length(max=200)])


class PlacementForm(FlaskForm):
    enrolment_id = SelectField(_l("学员"), validators=[DataRequired(_l("请选择学员"))])


def _placement_choices(klass: dict) -> list:
    """The programme's students who may join this class (studying, paid in full, not in it yet); those in another
    class are moved from it. The enrollment service checks each again."""
    found = []
    for status in ("registered", "admitted"):
        # read whole with `gateway.every` (not the first 200 only): one programme's students of one campaign are a
        # few classes' worth, small by nature
        found += gateway.every(
            "/api/enrollment/enrolments",
            campaign_id=klass["campaign_id"],
            programme_id=klass["programme_id"],
            status=status,
        )
    pairs = [
        (
            e["enrolment_id"],
            f"{e['name']}（{e['resident_id']}）" + (_("，现在其他班级") if e.get("class_id") else _("，未分班")),
        )
        for e in found
        if e.get("payment_status") in ("full", "over") and e.get("class_id") != klass["class_id"]
    ]
    return options([("", _("请选择")), *pairs])


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
    # one row per programme of this institution: a handful, read whole (the class form chooses among them)
    groupings = gateway.every("/api/enrollment/groupings", campaign_id=campaign["id"])
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


class LessonForm(FlaskForm):
    """A lesson of the class's timetable: added, or changed when `lesson_id` names one (with an optional reason)."""

    lesson_id = HiddenField()
    day = DateField(_l("上课日期"), validators=[InputRequired(_l("请填写上课日期"))])
    starts = TimeField(_l("开始时间"), validators=[InputRequired(_l("请填写开始时间"))])
    ends = TimeField(_l("结束时间"), validators=[InputRequired(_l("请填写结束时间"))])
    place = StringField(_l("上课地点（空着即为教学地点）"), validators=[Optional(), Length(max=200)])
    course = StringField(_l("课程"), validators=[DataRequired(_l("请填写课程")), Length(max=200)])
    teacher = StringField(_l("授课教师"), validators=[DataRequired(_l("请填写授课教师")), Length(max=50)])
    reason = StringField(_l("修改原因（修改时填写）"), validators=[Optional(), Length(max=1000)])


class CancelLessonForm(FlaskForm):
    lesson_id = HiddenField(validators=[DataRequired()])
    reason = StringField(_l("取消原因"), validators=[DataRequired(_l("请填写取消原因")), Length(max=1000)])


def _lesson_body(form: LessonForm) -> dict:
    body = {
        "day": form.day.data.isoformat(),
        "starts": form.starts.data.strftime("%H:%M"),
        "ends": form.ends.data.strftime("%H:%M"),
        "course": form.course.data.strip(),
        "teacher": form.teacher.data.strip(),
    }
    if (form.place.data or "").strip():
        body["place"] = form.place.data.strip()
    if form.lesson_id.data and (form.reason.data or "").strip():
        body["reason"] = form.reason.data.strip()
    return body


def _save_lesson(path: str, form: LessonForm) -> None:
    if form.lesson_id.data:
        gateway.put(f"{path}/lessons/{form.lesson_id.data}", _lesson_body(form))
        flash(_("已修改课程。"), "ok")
    else:
        gateway.post(f"{path}/lessons", _lesson_body(form))
        flash(_("已添加课程。"), "ok")


def _lesson_form(lessons: list[dict]) -> LessonForm:
    """Empty to add one; filled with the lesson `?edit=` names, to change it."""
    editing = next((x for x in lessons if x["lesson_id"] == request.args.get("edit")), None)
    if request.method == "POST" or editing is None:
        return LessonForm(prefix="lesson")
    return LessonForm(
        prefix="lesson",
        lesson_id=editing["lesson_id"],
        day=date.fromisoformat(editing["day"]),
        starts=datetime.strptime(editing["starts"], "%H:%M").time(),
        ends=datetime.strptime(editing["ends"], "%H:%M").time(),
        place=editing["place"],
        course=editing["course"],
        teacher=editing["teacher"],
    )


@blueprint.route("/classes/<class_id>", methods=["GET", "POST"])
@requires(INSTITUTION_OPERATOR)
def klass(class_id):
    return _class_page(class_id)


def _class_page(class_id: str, lesson_import: ImportForm | None = None, report: dict | None = None, status=200):
    """The class, its staff, its timetable and its roster; a POST with an `action` changes one of them (a refused
    timetable import, without htmx, is shown here with its `report`)."""
    path = f"/api/enrollment/classes/{class_id}"
    found = gateway.get(path)
    staff = StaffForm(head_teacher=found.get("head_teacher"), learning_assistant=found.get("learning_assistant"))
    placement = PlacementForm(prefix="place")
    if found["status"] in ("forming", "returned"):
        placement.enrolment_id.choices = _placement_choices(found)
    lessons = gateway.page("/api/enrollment/lessons", limit=100, cursor=request.args.get("cursor"), class_id=class_id)
    lesson, cancel = _lesson_form(lessons.items), CancelLessonForm(prefix="cancel")
    form_error = None
    if request.method == "POST" and report is None:
        action = request.form.get("action")
        try:
            if action == "lesson" and lesson.validate():
                _save_lesson(path, lesson)
                return redirect(url_for("institution.klass", class_id=class_id, _anchor="timetable"))
            if action == "cancel" and cancel.validate():
                gateway.post(f"{path}/lessons/{cancel.lesson_id.data}/cancel", {"reason": cancel.reason.data.strip()})
                flash(_("已取消课程。"), "ok")
                return redirect(url_for("institution.klass", class_id=class_id, _anchor="timetable"))
            if action == "place" and placement.validate():
                gateway.post(f"{path}/students", {"enrolment_id": placement.enrolment_id.data})
                flash(_("已将学员分配到本班。"), "ok")
                return redirect(url_for("institution.klass", class_id=class_id))
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
            shown = {"place": placement, "lesson": lesson, "cancel": cancel}.get(action, staff)
            form_error, status = show_problem(shown, error), error.status
    found["working_days_left"] = (
        working_days_left(found.get("roster_deadline"), {}) if found["status"] in ("forming", "returned") else None
    )
    return (
        render_template(
            "institution/class.html",
            klass=found,
            staff=staff,
            placement=placement,
            lessons=lessons,
            lesson=lesson,
            cancel=cancel,
            lesson_import=lesson_import or ImportForm(prefix="lessons"),
            report=report,
            form_error=form_error,
            programme=programme_names().get(found["programme_id"], found["programme_id"]),
        ),
        status,
    )


@blueprint.route("/classes/<class_id>/lessons/import", methods=["POST"])
@requires(INSTITUTION_OPERATOR)
def import_lessons(class_id):
    """The class's timetable from .xlsx/.csv, all rows or none: the count, or the report of every bad row, in place
    of the result (htmx) or on the page."""
    form, report, status = ImportForm(prefix="lessons"), None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            done = gateway.post(
                f"/api/enrollment/classes/{class_id}/lessons/import",
                None,
                files={"file": (upload.filename, upload.read(), upload.mimetype or "application/octet-stream")},
            )
            report = {"ok": True, "summary": _("导入完成：已加入 %(n)s 节课。", n=done.get("imported", 0))}
        except Problem as error:
            if error.status >= 500:
                raise
            report, status = import_refusal(error), error.status
    if report and report["ok"]:  # the page again, its timetable with the lessons imported
        flash(report["summary"], "ok")
        target = url_for("institution.klass", class_id=class_id, _anchor="timetable")
        if request.headers.get("HX-Request"):  # the class page posted it: loaded again (the same URL: no redirect)
            return "", 200, {"HX-Refresh": "true"}
        return redirect(target)
    if request.headers.get("HX-Request"):  # the report in place of the result (htmx swaps 200s only)
        return render_template("federation/_import_result.html", import_form=form, report=report)
    return _class_page(class_id, form, report or {}, status if report else 422)


@blueprint.route("/lessons/template.xlsx")
@requires(INSTITUTION_OPERATOR)
def lessons_template():
    return xlsx_download("/api/enrollment/lessons/import/template", "lessons-import.xlsx")


# ---------------------------------------------------------------- its IT staff: machine clients, signing

# A worked example of a signed request, from a demo key that no gateway accepts (its secret is published here).
DEMO_KEY_ID, DEMO_SECRET = "ik_demo0example", "demo-secret-for-the-worked-example-only"
DEMO_TIMESTAMP, DEMO_NONCE = 1767225600, "3f9c2a7e41d84b6c"  # 2026-01-01 08:00 in Beijing
DEMO_TARGET = "/api/evaluation/results/batches"
RECENT_REQUESTS = 30


def signing_example() -> dict:
    """Every step of signing one request (the gateway's scheme, X-Signature = hex HMAC-SHA256(secret, METHOD \\n
    path?query \\n timestamp \\n nonce \\n hex SHA-256(body))), for an integrator to check their code against."""
    line = {"enrolment_id": "0b7e1c52-6a0f-4f3e-9d55-2f4a8c1e9b31", "exam": "电工中级职业技能鉴定"}
    line |= {"held_on": "2025-12-28", "score": "86.50", "passed": True}
    body = json.dumps({"lines": [line]}, ensure_ascii=False, separators=(",", ":")).encode()
    body_hash = hashlib.sha256(body).hexdigest()
    canonical = "\n".join(["POST", DEMO_TARGET, str(DEMO_TIMESTAMP), DEMO_NONCE, body_hash])
    return {
        "key_id": DEMO_KEY_ID,
        "secret": DEMO_SECRET,
        "method": "POST",
        "target": DEMO_TARGET,
        "timestamp": str(DEMO_TIMESTAMP),
        "signed_at": datetime.fromtimestamp(DEMO_TIMESTAMP, timezone(timedelta(hours=8))).isoformat(),
        "nonce": DEMO_NONCE,
        "body": body.decode(),
        "body_hash": body_hash,
        "canonical": canonical,
        "signature": hmac.new(DEMO_SECRET.encode(), canonical.encode(), hashlib.sha256).hexdigest(),
    }


@blueprint.route("/it")
@requires(INSTITUTION_OPERATOR)
def it():
    """The machine clients of this institution (the gateway lists its own only: key ids, never a secret)."""
    clients = gateway.page("/auth/clients", cursor=request.args.get("cursor"))
    received = gateway.maybe(lambda: gateway.get("/auth/clients/requests", limit=RECENT_REQUESTS), [])
    return render_template(
        "institution/it.html",
        page=clients,
        received=received,
        example=signing_example(),
        gateway_url=current_app.config["PORTAL"].browser_gateway_url,
    )


# ---------------------------------------------------------------- its scores and the notices it received


@blueprint.route("/notices/<notice_id>/rectification", methods=["POST"])
@requires(INSTITUTION_OPERATOR)
def report_rectification(notice_id):
    """The institution's rectification report on a notice (sent again: a revision, with its reason)."""
    body = {"report": request.form.get("report", ""), "reason": (request.form.get("reason") or "").strip() or None}
    refused = refusal(lambda: gateway.post(f"/api/evaluation/notices/{notice_id}/rectification", body))
    if refused:
        flash(refusal_text(refused), "error")
    else:
        flash(_("已提交整改报告，待市总工会审核。"), "ok")
    return redirect(url_for("institution.records", _anchor="notices"))


@blueprint.route("/records")
@requires(INSTITUTION_OPERATOR)
def records():
    campaign = the_campaign()
    mine = me().get("institution_id")
    score, why_none = institution_score(mine, campaign)
    standing = gateway.maybe(lambda: gateway.get(f"/api/evaluation/institutions/{mine}/decisions"), {"decisions": []})
    notices = gateway.page("/api/evaluation/notices", sort="-issued_at", cursor=request.args.get("cursor"))
    surveys = [
        {**s, "results": gateway.maybe(lambda s=s: gateway.get(f"/api/evaluation/surveys/{s['survey_id']}/results"))}
        for s in gateway.every("/api/evaluation/surveys", campaign_id=campaign["id"])  # a campaign's few surveys
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
