"""Classes (开班), rosters and their review and publication, the working-day calendar."""

from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.bulk import BulkOut
from servicekit.clock import china_today as today
from servicekit.identity import ROLES, current_identity, requires
from servicekit.tabular import Column, read_rows, validate_rows

from .. import classes, workcalendar
from ..listings import CLASSES, GROUPINGS, PUBLISHED_ROSTERS
from ..schemas import (
    CalendarIn,
    CalendarOut,
    CalendarRow,
    ClassIn,
    ClassOut,
    GroupingOut,
    OwnClassOut,
    PlacementIn,
    PublishedRoster,
    ReviewIn,
    ReviewsIn,
    StaffIn,
    UploadFile,
)
from . import change, change_each, documents

blp = Blueprint("classes", __name__, description="Classes, rosters and the working-day calendar (开班与花名册)")
INSTITUTION = "institution_operator"
READERS = ("federation_admin", "auditor", "institution_operator", "institution_system")
CALENDAR_COLUMNS = [
    Column("day", "日期 Day"),
    Column("workday", "是否上班 Working day (是/否)"),
    Column("name", "名称 Name", aliases=("节日", "说明")),
]


def _change(use_case, *args) -> dict:
    return change(use_case, classes.class_view, *args)


@blp.route("/groupings", methods=["GET"])
@blp.arguments(GROUPINGS.query, location="query")
@blp.response(200, GroupingOut(many=True))
@documents(blp, 404)
@requires(*READERS)
def groupings(query):
    """Registered students per institution and programme, and whether they make a dedicated class (>30)."""
    with unit_of_work() as uow:
        return classes.groupings(uow.session, current_identity(), query)


@blp.route("/classes", methods=["POST"])
@blp.arguments(ClassIn)
@blp.response(201, ClassOut)
@documents(blp, 409)
@requires(INSTITUTION)
def form_class(body):
    """Form a class of every paid student of the programme still waiting for one."""
    return _change(classes.form_class, body, today())


@blp.route("/classes", methods=["GET"])
@blp.arguments(CLASSES.query, location="query")
@blp.response(200, ClassOut(many=True))
@requires(*READERS)
def list_classes(args):
    with unit_of_work() as uow:
        query = classes.classes_query(current_identity())
        calendar = workcalendar.work_calendar(uow.session)  # loaded once for the whole page
        return CLASSES.page(
            uow.session, query, args, view=lambda rows: [classes.class_view(uow.session, c, calendar) for c in rows]
        )


@blp.route("/classes/<class_id>", methods=["GET"])
@blp.response(200, ClassOut)
@documents(blp, 404)
@requires(*READERS)
def get_class(class_id):
    with unit_of_work() as uow:
        return classes.class_view(uow.session, classes.find_class(uow.session, current_identity(), class_id))


@blp.route("/enrolments/<enrolment_id>/class", methods=["GET"])
@blp.response(200, OwnClassOut)
@documents(blp, 404)
@requires("employee")
def own_class(enrolment_id):
    """The employee's class for one of their own enrolments: name, opening day, study window, place, head
    teacher and learning assistant (404 while not placed); the other students are not shown."""
    with unit_of_work() as uow:
        return classes.own_class(uow.session, current_identity(), enrolment_id)


@blp.route("/classes/<class_id>/staff", methods=["PUT"])
@blp.arguments(StaffIn)
@blp.response(200, ClassOut)
@documents(blp, 404, 409)
@requires(INSTITUTION)
def set_staff(body, class_id):
    """The head teacher (班主任) and learning assistant (学习助理) a dedicated class needs."""
    return _change(classes.set_staff, class_id, body)


@blp.route("/classes/<class_id>/students", methods=["POST"])
@blp.arguments(PlacementIn)
@blp.response(200, ClassOut)
@documents(blp, 404, 409)
@requires(INSTITUTION)
def place_student(body, class_id):
    """Put one paid student of the programme in this class, or move them here from another of its classes
    (both rosters not yet submitted); the class history keeps where they were."""
    return _change(classes.place_student, class_id, body, today())


@blp.route("/classes/<class_id>/roster", methods=["POST"])
@blp.response(200, ClassOut)
@documents(blp, 404, 409)
@requires(INSTITUTION)
def submit_roster(class_id):
    """Submit the roster to the federation, at least N Chinese working days before the class opens."""
    return _change(classes.submit_roster, class_id, today())


@blp.route("/classes/<class_id>/review", methods=["POST"])
@blp.arguments(ReviewIn)
@blp.response(200, ClassOut)
@documents(blp, 404, 409)
@requires("federation_admin")
def review_roster(body, class_id):
    """The federation approves the roster or returns it with comments."""
    return _change(classes.review_roster, class_id, body)


@blp.route("/classes/review", methods=["POST"])
@blp.arguments(ReviewsIn)
@blp.response(200, BulkOut)
@requires("federation_admin")
def review_rosters(body):
    """Review many submitted rosters at once (at most 500): each approved or returned with comments, or refused
    with the reason its own review would give."""
    return change_each(
        body["items"],
        classes.review_roster,
        lambda i: (i["class_id"], {"decision": i["decision"], "comments": i.get("comments")}),
        lambda i: i["class_id"],
    )


@blp.route("/classes/<class_id>/publish", methods=["POST"])
@blp.response(200, ClassOut)
@documents(blp, 404, 409)
@requires("federation_admin")
def publish_roster(class_id):
    """Publish an approved roster (names with masked ID numbers)."""
    return _change(classes.publish_roster, class_id, today())


@blp.route("/classes/<class_id>/open", methods=["POST"])
@blp.response(200, ClassOut)
@documents(blp, 404, 409)
@requires(INSTITUTION)
def open_class(class_id):
    """Open a class whose roster is published (announces class.opened)."""
    return _change(classes.open_class, class_id, today())


@blp.route("/public/rosters", methods=["GET"])
@blp.arguments(PUBLISHED_ROSTERS.query, location="query")
@blp.response(200, PublishedRoster(many=True))
def published_rosters(query):
    """Public, no identity needed (the federation's website): the students of published rosters, with masked
    ID numbers, never phones."""
    with unit_of_work() as uow:
        return PUBLISHED_ROSTERS.page(
            uow.session,
            classes.published_rosters_query(),
            query,
            view=lambda rows: classes.published_roster_views(uow.session, rows),
        )


@blp.route("/calendar/<int:year>", methods=["GET"])
@blp.response(200, CalendarOut)
@requires(*ROLES)
def get_calendar(year):
    """Where a year's working days come from, and the days the federation loaded."""
    with unit_of_work() as uow:
        return workcalendar.year_view(uow.session, year)


@blp.route("/calendar/<int:year>", methods=["PUT"])
@blp.arguments(CalendarIn)
@blp.response(200, CalendarOut)
@requires("federation_admin")
def load_calendar(body, year):
    """Load (replace) a year's public holidays and make-up working days; other days follow the weekdays."""
    with unit_of_work() as uow:
        before = workcalendar.year_view(uow.session, year)
        view = workcalendar.load_year(uow, year, body["days"], current_identity().subject)
        uow.audit("calendar.loaded", "calendar", year, before=before, after=view)
        uow.commit()
    return view


@blp.route("/calendar/<int:year>/import", methods=["POST"])
@blp.arguments(UploadFile, location="files")
@blp.response(200, CalendarOut)
@documents(blp, 400)
@requires("federation_admin")
def import_calendar(files, year):
    """Load (replace) a year from a .xlsx/.csv list of its public holidays and make-up working days."""
    upload = files["file"]
    days = validate_rows(read_rows(upload.read(), upload.filename or "", CALENDAR_COLUMNS), CalendarRow())
    with unit_of_work() as uow:
        before = workcalendar.year_view(uow.session, year)
        view = workcalendar.load_year(uow, year, days, current_identity().subject)
        uow.audit("calendar.loaded", "calendar", year, before=before, after=view)
        uow.commit()
    return view
