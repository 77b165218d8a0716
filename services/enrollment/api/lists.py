"""The public notice (公示) of a grassroots union's nominees, employees' objections to it, and the lists
first-level units send to the institutions."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from servicekit import unit_of_work
from servicekit.clock import china_today as today
from servicekit.identity import current_identity, requires

from .. import lists, nominations
from ..listings import NOMINATION_LISTS, PUBLIC_NOTICE
from ..models import NominationList
from ..schemas import ListSendIn, NominationListOut, NoticeEntry, ObjectionIn
from . import change, documents

blp = Blueprint("lists", __name__, description="The public notice (公示), objections, lists sent to institutions")

READERS = ("federation_admin", "auditor", "unit_officer", "grassroots_officer", "institution_operator")


class ObjectionReceived(Schema):
    enrolment_id = fields.String()
    raised_on = fields.Date()


@blp.route("/public/notices", methods=["GET"])
@blp.arguments(PUBLIC_NOTICE.query, location="query")
@blp.response(200, NoticeEntry(many=True))
def public_notice(query):
    """Public, no login: one grassroots union's nominees on its running public notice in one campaign (both
    required), names with masked ID numbers and how the union recommended them; never phones."""
    with unit_of_work() as uow:
        return PUBLIC_NOTICE.page(
            uow.session,
            lists.notice_query(query["campaign_id"], query["grassroots_union_id"], today()),
            query,
            view=lists.notice_views,
        )


@blp.route("/notices/<enrolment_id>/objections", methods=["POST"])
@blp.arguments(ObjectionIn)
@blp.response(201, ObjectionReceived)
@documents(blp, 403, 404, 409)
@requires("employee")
def object_to_nominee(body, enrolment_id):
    """An employee objects to a nominee on a running public notice, identified (their account and name): the
    union decides it; who objected is seen only by the union and the federation."""
    on = today()
    return change(
        nominations.record_objection,
        lambda session, enrolment: {"enrolment_id": enrolment.enrolment_id, "raised_on": on},
        enrolment_id,
        body,
        on,
    )


@blp.route("/lists", methods=["POST"])
@blp.arguments(ListSendIn)
@blp.response(201, NominationListOut)
@documents(blp, 403, 409)
@requires("unit_officer")
def send_list(body):
    """The first-level unit sends one of its grassroots unions' list (every nominee the union confirmed and not
    sent yet) to the institutions, dated today: they see its nominees from now on."""
    return change(lists.send_list, lambda session, sent: lists.list_views(session, [sent])[0], body, today())


@blp.route("/lists", methods=["GET"])
@blp.arguments(NOMINATION_LISTS.query, location="query")
@blp.response(200, NominationListOut(many=True))
@requires(*READERS)
def sent_lists(query):
    """The lists sent to the institutions that the caller may see (an institution: those with its nominees)."""
    with unit_of_work() as uow:
        return NOMINATION_LISTS.page(
            uow.session,
            lists.scoped_lists(select(NominationList), current_identity()),
            query,
            view=lambda rows: lists.list_views(uow.session, rows),
        )
