from flask import request
from flask_smorest import Blueprint

from servicekit import Problem, unit_of_work
from servicekit.audit import audited
from servicekit.idempotency import HEADER, idempotent, parse_key
from servicekit.identity import (
    AUDITOR,
    EMPLOYEE,
    FEDERATION_ADMIN,
    GRASSROOTS_OFFICER,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    UNIT_OFFICER,
    current_identity,
    requires,
)
from servicekit.tabular import IMPORT_REJECTED, Column, export, read_rows, validate_rows

from ..listing import RESULTS, by_enrolment
from ..models import ExamResult
from ..problems import BATCH_REJECTED
from ..results import record_batch, template_rows
from ..schemas import ResultBatchIn, ResultBatchOut, ResultOut, ResultRow, ResultTemplateQuery, UploadFile

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
@requires(
    EMPLOYEE, GRASSROOTS_OFFICER, UNIT_OFFICER, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, FEDERATION_ADMIN, AUDITOR
)
def get_results(query):
    """Results, every attempt (retakes included): an employee sees their own as soon as recorded, a union's
    officer its employees' (a grassroots union's, or a first-level unit's), an institution its students'."""
    with unit_of_work() as uow:
        return by_enrolment(uow.session, current_identity(), RESULTS, ExamResult, query)


RESULT_COLUMNS = [
    Column("enrolment_id", "报名编号 Enrolment id"),
    Column("exam", "考试科目 Exam"),
    Column("held_on", "考试日期 Held on"),
    Column("score", "成绩 Score"),
    Column("passed", "是否通过 Passed"),
]


# What the prefilled template adds for the people filling it in: the import reads none of it.
TEMPLATE_COLUMNS = [
    *RESULT_COLUMNS,
    Column("holder_name_masked", "姓名（脱敏，不导入）Name (masked, not imported)"),
    Column("programme_id", "项目编号（不导入）Programme (not imported)"),
]


@blp.route("/import/template", methods=["GET"])
@blp.arguments(ResultTemplateQuery, location="query")
@blp.response(200, description="The .xlsx to fill in: the import's headers, prefilled with `campaign_id`")
@blp.alt_response(404, description="Unknown campaign")
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
def import_template(query):
    """The workbook to fill in for the import: the columns the import reads (and, to recognise the students, their
    masked names and programmes, which the import ignores). With `campaign_id` (and `programme_id`), one row per
    active student of the institution, the exam, date, score and outcome left to fill in; delete the rows of
    students without a result before importing. Evaluation knows no class membership (class.opened carries no
    students), so a class's students are chosen by their programme."""
    if not query.get("campaign_id"):
        return export([], RESULT_COLUMNS, "xlsx", "results-import")
    with unit_of_work() as uow:
        rows = template_rows(uow.session, current_identity(), str(query["campaign_id"]), query.get("programme_id"))
    return export(rows, TEMPLATE_COLUMNS, "xlsx", "results-import")


@blp.route("/import", methods=["POST"])
@requires(INSTITUTION_SYSTEM, INSTITUTION_OPERATOR)
@idempotent
@blp.arguments(UploadFile, location="files")
@blp.response(201, ResultBatchOut, description="Recorded (the first answer again for a replayed file)")
@blp.alt_response(400, description="The file cannot be read as .xlsx or .csv")
@blp.alt_response(
    422, description="Rows with errors (`errors.rows`: spreadsheet row, field, message): nothing recorded"
)
def import_results(files):
    """Exam results from .xlsx/.csv (报名编号 / 考试科目 / 考试日期 / 成绩 / 是否通过: 是 or 否), all rows or none, each
    checked as in a batch (attempts and retakes numbered the same way); an Idempotency-Key as for batches"""
    upload = files["file"]
    rows = read_rows(upload.read(), upload.filename or "", RESULT_COLUMNS)
    lines = validate_rows(rows, ResultRow())
    with unit_of_work() as uow:
        with audited(uow, "imported", "result_batch") as decision:
            try:
                response = record_batch(uow, current_identity(), parse_key(request.headers.get(HEADER)), lines)
            except BATCH_REJECTED as refused:
                by_line = (refused.errors or {}).get("lines") if isinstance(refused.errors, dict) else None
                if not by_line:
                    raise
                raise Problem(
                    IMPORT_REJECTED,
                    refused.detail,
                    errors={"rows": [{"row": rows[int(i)][0], "errors": m} for i, m in sorted(by_line.items())]},
                ) from None
            decision.entity_id = f"{len(lines)} rows"
        uow.commit()
    return response
