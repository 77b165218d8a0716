"""Nominations and the enrolments they become: notice, objections, consent, confirmation, registration."""

import functools

from flask_smorest import Blueprint
from sqlalchemy import select

from servicekit import unit_of_work
from servicekit.app import runtime
from servicekit.audit import Changes, audit_changes
from servicekit.bulk import BulkOut
from servicekit.clock import china_today as today
from servicekit.identity import ROLES, current_identity, requires
from servicekit.pseudonym import employee_id_key
from servicekit.tabular import Column, read_rows, validate_rows

from .. import nominations, registration
from ..access import find_enrolment, scoped, views
from ..listings import ENROLMENTS
from ..models import Enrolment
from ..schemas import (
    ConsentIn,
    EnrolmentOut,
    EnrolmentsIn,
    EntranceTestIn,
    NominationImportForm,
    NominationIn,
    NominationRow,
    ObjectionIn,
    OutcomeIn,
    OutcomesIn,
    RecommendationIn,
    RegistrationRejectionIn,
    UploadFile,
)
from . import change, change_each, documents


def employee_key() -> bytes:
    return _employee_key(runtime().settings.var_dir)


@functools.cache
def _employee_key(var_dir) -> bytes:
    """Read once per process: it never changes, and unset it is a locked file read."""
    return employee_id_key(var_dir)


blp = Blueprint("enrolments", __name__, description="Nominations (人选推荐), public notice, registration (学员建档)")


NOMINATION_COLUMNS = [
    Column("name", "姓名 Name"),
    Column("resident_id", "身份证号 Resident ID number"),
    Column("phone", "手机号码 Mobile phone"),
    Column("education", "文化程度 Education"),
    Column("attestation", "推荐理由 Attestation"),
    Column("programme_id", "项目编号 Programme id"),
]


def _view(session, enrolment: Enrolment) -> dict:
    return views(session, current_identity(), [enrolment])[0]


def _change(use_case, *args) -> dict:
    return change(use_case, _view, *args)


@blp.route("/enrolments", methods=["POST"])
@blp.arguments(NominationIn)
@blp.response(201, EnrolmentOut)
@documents(blp, 409)
@requires("grassroots_officer")
def nominate(body):
    """Nominate an employee; the public notice starts (campaign's public_notice_days)."""
    return _change(nominations.nominate, body, today(), employee_key())


@blp.route("/enrolments/import", methods=["POST"])
@blp.arguments(UploadFile, location="files")
@blp.arguments(NominationImportForm, location="form", content_type="multipart/form-data")
@blp.response(201, EnrolmentOut(many=True))
@documents(blp, 400, 409)
@requires("grassroots_officer")
def import_nominations(files, form):
    """Nominate from a .xlsx/.csv list: every row is nominated, or none and each bad row is reported. The
    democratic recommendation's meeting day and method may be given for every row (a vote's votes: PUT each)."""
    upload, _ = files["file"], form.pop("file")  # the form's file field only documents the upload
    meeting_on, method = form.pop("meeting_on"), form.pop("method")
    form["recommendation"] = {"meeting_on": meeting_on, "method": method} if method else None
    read = read_rows(upload.read(), upload.filename or "", NOMINATION_COLUMNS)
    rows = validate_rows(read, NominationRow())
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        created = nominations.nominate_many(
            uow,
            current_identity(),
            form,
            [(number, row) for (number, _), row in zip(read, rows)],
            today(),
            employee_key(),
        )
        uow.session.flush()
        audit_changes(uow, changes, "nominated", entity_type="enrolment")
        found = views(uow.session, current_identity(), created)
        uow.commit()
    return found


@blp.route("/enrolments", methods=["GET"])
@blp.arguments(ENROLMENTS.query, location="query")
@blp.response(200, EnrolmentOut(many=True))
@requires(*ROLES)
def list_enrolments(filters):
    """The enrolments the caller may see; ID numbers and phones masked except for the nominating union."""
    query = scoped(select(Enrolment), current_identity())
    with unit_of_work() as uow:
        found = ENROLMENTS.page(
            uow.session, query, filters, view=lambda rows: views(uow.session, current_identity(), rows)
        )
        uow.commit()  # the record of full ID numbers shown
    return found


@blp.route("/enrolments/<enrolment_id>", methods=["GET"])
@blp.response(200, EnrolmentOut)
@documents(blp, 404)
@requires(*ROLES)
def get_enrolment(enrolment_id):
    with unit_of_work() as uow:
        found = _view(uow.session, find_enrolment(uow.session, current_identity(), enrolment_id))
        uow.commit()  # the record of a full ID number shown
    return found


@blp.route("/enrolments/<enrolment_id>/recommendation", methods=["PUT"])
@blp.arguments(RecommendationIn)
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("grassroots_officer")
def record_recommendation(body, enrolment_id):
    """The democratic recommendation (民主推荐) that chose the nominee: meeting day (on or before the notice's
    first day), method, votes where voted. Needed before confirmation; corrected while the notice runs."""
    return _change(nominations.record_recommendation, enrolment_id, body, today())


@blp.route("/enrolments/<enrolment_id>/objections", methods=["POST"])
@blp.arguments(ObjectionIn)
@blp.response(201, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("grassroots_officer")
def record_objection(body, enrolment_id):
    """Record an objection raised to the union during the public notice (who raised it, when). Employees object
    themselves through POST /notices/{enrolment_id}/objections."""
    return _change(nominations.record_objection, enrolment_id, body, today())


@blp.route("/enrolments/<enrolment_id>/objections/<objection_id>/outcome", methods=["POST"])
@blp.arguments(OutcomeIn)
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("grassroots_officer")
def decide_objection(body, enrolment_id, objection_id):
    """The outcome of an objection: upheld takes the employee off the list, dismissed lets it go on."""
    return _change(nominations.decide_objection, enrolment_id, objection_id, body, today())


@blp.route("/enrolments/<enrolment_id>/consent", methods=["POST"])
@blp.arguments(ConsentIn)
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("employee", "grassroots_officer")
def record_consent(body, enrolment_id):
    """Voluntary participation: the employee confirms, or the union records the written consent and its date."""
    return _change(nominations.record_consent, enrolment_id, body, today())


@blp.route("/enrolments/<enrolment_id>/confirm", methods=["POST"])
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("grassroots_officer")
def confirm(enrolment_id):
    """Confirm after the notice (recommendation recorded, no open objection, consent recorded): the nomination
    is on the union's list, which the first-level unit sends to the institutions (POST /lists)."""
    return _change(nominations.confirm, enrolment_id, today())


@blp.route("/enrolments/confirm", methods=["POST"])
@blp.arguments(EnrolmentsIn)
@blp.response(200, BulkOut)
@requires("grassroots_officer")
def confirm_many(body):
    """Confirm many nominations at once (at most 500): each confirmed, or refused with the reason its own
    confirmation would give (notice not over, an open objection, no consent...)."""
    on = today()
    return change_each(body["items"], nominations.confirm, lambda i: (i["enrolment_id"], on), _enrolment_of)


@blp.route("/objections/decide", methods=["POST"])
@blp.arguments(OutcomesIn)
@blp.response(200, BulkOut)
@requires("grassroots_officer")
def decide_objections(body):
    """Decide many objections at once (at most 500), each as its own decision would be: upheld takes the
    employee off the list, dismissed lets the nomination go on."""
    on = today()
    return change_each(
        body["items"],
        nominations.decide_objection,
        lambda i: (i["enrolment_id"], i["objection_id"], {"outcome": i["outcome"], "note": i["note"]}, on),
        lambda i: i["objection_id"],
    )


def _enrolment_of(item: dict) -> str:
    return item["enrolment_id"]


@blp.route("/enrolments/<enrolment_id>/register", methods=["POST"])
@blp.response(202, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("institution_operator")
def register(enrolment_id):
    """Register a sent nomination: asks quota for the seat or subsidy (enrollment.requested); answered later."""
    return _change(registration.request_registration, enrolment_id, today())


@blp.route("/enrolments/<enrolment_id>/entrance-test", methods=["POST"])
@blp.arguments(EntranceTestIn)
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("institution_operator")
def record_entrance_test(body, enrolment_id):
    """Academic: the entrance test result (入学测试)."""
    return _change(registration.record_entrance_test, enrolment_id, body, today())


@blp.route("/enrolments/<enrolment_id>/rejection", methods=["POST"])
@blp.arguments(RegistrationRejectionIn)
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("institution_operator")
def reject_registration(body, enrolment_id):
    """Reject a registration before admission (entrance test failed, documents missing): the unit's seat or
    subsidy is released (enrollment.registration_rejected) for another nominee; registered again later if the
    papers come in."""
    return _change(registration.reject_registration, enrolment_id, body, today())


@blp.route("/enrolments/<enrolment_id>/admit", methods=["POST"])
@blp.response(200, EnrolmentOut)
@documents(blp, 403, 404, 409)
@requires("institution_operator")
def admit(enrolment_id):
    """Academic: admission (录取) after a passed entrance test (announces enrollment.admitted)."""
    return _change(registration.admit, enrolment_id, today())
