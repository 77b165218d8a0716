from flask import request
from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.audit import audited
from servicekit.idempotency import HEADER, idempotent, parse_key
from servicekit.identity import (
    AUDITOR,
    EMPLOYEE,
    FEDERATION_ADMIN,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    current_identity,
    requires,
)

from ..listing import RESULTS, by_enrolment
from ..models import ExamResult
from ..results import record_batch
from ..schemas import ResultBatchIn, ResultBatchOut, ResultOut

blp = Blueprint("results", __name__, url_prefix="/results", description="Exam results (考试成绩) and retakes")


@blp.route("/batches", methods=["POST"])
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
@idempotent
@blp.arguments(ResultBatchIn)
@blp.response(
    201,
    ResultBatchOut,
    description="Recorded (or the first answer again for a replayed batch, with `Idempotent-Replayed: true`)",
)
@blp.alt_response(422, description="Lines with errors, by index in `lines`: nothing recorded")
def post_batch(body):
    """Publish exam results in bulk, all lines or none; only for the institution's own students."""
    with unit_of_work() as uow:
        with audited(uow, "recorded", "result_batch") as decision:
            response = record_batch(uow, current_identity(), parse_key(request.headers.get(HEADER)), body["lines"])
            decision.entity_id = f"{len(body['lines'])} lines"
        uow.commit()
    return response


@blp.route("", methods=["GET"])
@blp.arguments(RESULTS.query, location="query")
@blp.response(200, ResultOut(many=True))
@requires(EMPLOYEE, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN, AUDITOR)
def get_results(query):
    """Results, every attempt: an employee sees their own as soon as recorded, an institution its students'."""
    with unit_of_work() as uow:
        return by_enrolment(uow.session, current_identity(), RESULTS, ExamResult, query)
