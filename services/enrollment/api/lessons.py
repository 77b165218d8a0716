"""A class's timetable (课表): its lessons, listed, added, changed, cancelled with a reason, imported."""

from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.audit import Changes, audit_changes
from servicekit.clock import china_today as today
from servicekit.identity import current_identity, requires
from servicekit.tabular import Column, export, read_rows, validate_rows

from .. import lessons
from ..listings import LESSONS
from ..schemas import LessonCancelIn, LessonChangeIn, LessonImportOut, LessonIn, LessonOut, LessonRow, UploadFile
from . import change, documents

blp = Blueprint("lessons", __name__, description="Classes' timetables (课表)")
INSTITUTION = "institution_operator"
READERS = ("federation_admin", "auditor", "institution_operator", "institution_system")
LESSON_COLUMNS = [
    Column("day", "日期 Day", aliases=("上课日期",)),
    Column("starts", "开始 Starts", aliases=("开始时间",)),
    Column("ends", "结束 Ends", aliases=("结束时间",)),
    Column("place", "地点 Place", aliases=("上课地点",)),
    Column("course", "课程 Course", aliases=("课程名称",)),
    Column("teacher", "授课教师 Teacher", aliases=("教师",)),
]


def _change(use_case, *args) -> dict:
    return change(use_case, lessons.present, *args)


@blp.route("/lessons", methods=["GET"])
@blp.arguments(LESSONS.query, location="query")
@blp.response(200, LessonOut(many=True))
@documents(blp, 403, 404)
@requires(*READERS)
def list_lessons(args):
    """Lessons in date order (cancelled ones too, with why), paged: a class's (`class_id`: its institution, the
    federation and the auditor; another institution 403), or those of every class the caller may see."""
    with unit_of_work() as uow:
        return LESSONS.page(
            uow.session,
            lessons.lessons_query(uow.session, current_identity(), args.get("class_id")),
            args,
            view=lambda rows: [lessons.lesson_view(lesson) for lesson in rows],
        )


@blp.route("/classes/<class_id>/lessons", methods=["POST"])
@blp.arguments(LessonIn)
@blp.response(201, LessonOut)
@documents(blp, 403, 404, 409)
@requires(INSTITUTION)
def add_lesson(body, class_id):
    """Add a lesson (any day of the week, within the class's opening day and the study end, overlapping none)."""
    return _change(lessons.add_lesson, class_id, body)


@blp.route("/classes/<class_id>/lessons/<lesson_id>", methods=["PUT"])
@blp.arguments(LessonChangeIn)
@blp.response(200, LessonOut)
@documents(blp, 403, 404, 409)
@requires(INSTITUTION)
def change_lesson(body, class_id, lesson_id):
    """Move a lesson or change its place, course or teacher; the old and new values and the reason are audited."""
    return _change(lessons.change_lesson, class_id, lesson_id, body)


@blp.route("/classes/<class_id>/lessons/<lesson_id>/cancel", methods=["POST"])
@blp.arguments(LessonCancelIn)
@blp.response(200, LessonOut)
@documents(blp, 403, 404, 409)
@requires(INSTITUTION)
def cancel_lesson(body, class_id, lesson_id):
    """Cancel a lesson with a reason (audited; the students see it cancelled, and why)."""
    return _change(lessons.cancel_lesson, class_id, lesson_id, body, today())


@blp.route("/lessons/import/template", methods=["GET"])
@blp.response(200, description="An empty .xlsx with the import's headers")
@requires(INSTITUTION)
def lessons_template():
    """The workbook to fill in for a timetable import: its header row only, the columns the import reads."""
    return export([], LESSON_COLUMNS, "xlsx", "lessons-import")


@blp.route("/classes/<class_id>/lessons/import", methods=["POST"])
@blp.arguments(UploadFile, location="files")
@blp.response(201, LessonImportOut)
@documents(blp, 400, 403, 404)
@requires(INSTITUTION)
def import_lessons(files, class_id):
    """Lessons from .xlsx/.csv (日期 / 开始 / 结束 / 地点 / 课程 / 授课教师), all rows or none: a bad row (a time
    that is not one, outside the class's period, overlapping) refuses the file, with a report per spreadsheet row."""
    upload = files["file"]
    read = read_rows(upload.read(), upload.filename or "", LESSON_COLUMNS)
    rows = validate_rows(read, LessonRow())
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        added = lessons.import_lessons(
            uow, current_identity(), class_id, [(number, row) for (number, _), row in zip(read, rows, strict=True)]
        )
        uow.session.flush()
        audit_changes(uow, changes, "imported", entity_type="lesson", entity_id=class_id)
        uow.commit()
        found = [lessons.lesson_view(lesson) for lesson in added]
    return {"imported": len(found), "lessons": found}
