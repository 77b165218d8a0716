from flask import request
from flask_smorest import Blueprint

from servicekit import Problem, unit_of_work
from servicekit.errors import PRECONDITION_REQUIRED
from servicekit.identity import (
    AUDITOR,
    EMPLOYEE,
    FEDERATION_ADMIN,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    current_identity,
    requires,
)

from ..listing import by_enrolment
from ..models import ExamResult
from ..results import body_digest, record_batch
from ..schemas import EnrolmentQuery, ResultBatchIn, ResultBatchOut, ResultOut

blp = Blueprint("results", __name__, url_prefix="/results", description="Exam results (考试成绩) and retakes")

KEY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "One key per batch; resending the same batch with it records nothing twice.",
}


@blp.route("/batches", methods=["POST"])
@blp.arguments(ResultBatchIn)
@blp.response(
    201,
    ResultBatchOut,
    description="Recorded (or the first answer again for a replayed batch, with `Idempotent-Replayed: true`)",
)
@blp.alt_response(409, description="The key was used for a different batch")
@blp.alt_response(422, description="Lines with errors, by index in `lines`: nothing recorded")
@blp.alt_response(428, description="No Idempotency-Key header")
@blp.doc(parameters=[KEY_HEADER])
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
def post_batch(body):
    """Publish exam results in bulk, all lines or none; only for the institution's own students."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 100:
        raise Problem(PRECONDITION_REQUIRED, "Send an Idempotency-Key header (1-100 characters) with each batch.")
    with unit_of_work() as uow:
        response, replayed = record_batch(uow, current_identity(), key, body["lines"], body_digest(request.get_json()))
        uow.commit()
    return response, 201, {"Idempotent-Replayed": "true" if replayed else "false"}


@blp.route("", methods=["GET"])
@blp.arguments(EnrolmentQuery, location="query")
@blp.response(200, ResultOut(many=True))
@requires(EMPLOYEE, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN, AUDITOR)
def get_results(query):
    """Results, every attempt: an employee sees their own as soon as recorded, an institution its students'."""
    with unit_of_work() as uow:
        return by_enrolment(
            uow.session,
            current_identity(),
            ExamResult,
            query,
            (ExamResult.enrolment_id, ExamResult.exam, ExamResult.attempt),
        )
