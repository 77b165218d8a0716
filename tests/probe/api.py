import time
import uuid

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from servicekit import Problem, unit_of_work
from servicekit.errors import CONFLICT
from servicekit.idempotency import idempotent
from servicekit.paging import Listing

from .handlers import tally
from .models import Cure, Note

blp = Blueprint("probe", __name__, description="Probe endpoints for the kit's tests")


class NotesIn(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    sleep_s = fields.Float(load_default=0, validate=validate.Range(min=0, max=60))
    fail_until_attempt = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))
    poison = fields.Boolean(load_default=False)
    marker_dir = fields.String(load_default=None)
    abort_after_write = fields.Boolean(load_default=False)


class NoteOut(Schema):
    id = fields.String()
    key = fields.String()


class KeyIn(Schema):
    key = fields.String(required=True)


@blp.route("/notes", methods=["POST"])
@blp.arguments(NotesIn)
@blp.response(201)
def add_notes(body):
    abort = body.pop("abort_after_write")
    count = body.pop("count")
    with unit_of_work() as uow:
        ids = []
        for _ in range(count):
            note_id = str(uuid.uuid4())
            uow.session.add(Note(id=note_id, key=body["key"]))
            ids.append(uow.publish("probe.noted", {"note_id": note_id, **body}).id)
        if abort:
            raise Problem(CONFLICT, "aborted after writing, as asked")
        uow.commit()
    return {"event_ids": ids}


class PaidNoteIn(Schema):
    key = fields.String(required=True)
    refuse = fields.Boolean(load_default=False)  # a domain refusal inside the unit of work
    fail_after_commit = fields.Boolean(load_default=False)  # the request fails once its unit of work committed
    sleep_s = fields.Float(
        load_default=0, validate=validate.Range(min=0, max=60)
    )  # stays in flight this long after committing


@blp.route("/paid-notes", methods=["POST"])
@idempotent
@blp.arguments(PaidNoteIn)
@blp.response(201)
def add_paid_note(body):
    """A note as a money-moving request would write it: once per caller and Idempotency-Key."""
    note_id = str(uuid.uuid4())
    with unit_of_work() as uow:
        uow.session.add(Note(id=note_id, key=body["key"]))
        uow.publish("probe.noted", {"note_id": note_id, "key": body["key"]})
        if body["refuse"]:
            raise Problem(CONFLICT, "refused, as asked")
        uow.commit()
    time.sleep(body["sleep_s"])
    if body["fail_after_commit"]:
        raise RuntimeError("failed after the unit of work committed, as asked")
    return {"note_id": note_id}, 201, {"Location": f"/notes/{note_id}"}


@blp.route("/unheard", methods=["POST"])
@blp.arguments(KeyIn)
@blp.response(201)
def add_unheard(body):
    with unit_of_work() as uow:
        event = uow.publish("probe.unheard", {"key": body["key"]})
        uow.commit()
    return {"event_id": event.id}


@blp.route("/cures/<key>", methods=["POST"])
@blp.response(201)
def cure(key):
    with unit_of_work() as uow:
        uow.session.merge(Cure(key=key))
        uow.commit()
    return {"key": key}


@blp.route("/tallies/<key>", methods=["GET"])
@blp.response(200)
def get_tally(key):
    with unit_of_work() as uow:
        return tally(uow.session, key)


NOTES = Listing(
    "Notes",
    id=Note.id,
    sorts={"key": Note.key},
    filters={"key": Note.key},
    search=lambda q: Note.key.startswith(q),
    search_help="the key's beginning",
)


@blp.route("/notes", methods=["GET"])
@blp.arguments(NOTES.query, location="query")
@blp.response(200, NoteOut(many=True))
def list_notes(args):
    """The notes, paged (servicekit.paging's own tests)."""
    with unit_of_work() as uow:
        return NOTES.page(
            uow.session, select(Note), args, view=lambda notes: [{"id": n.id, "key": n.key} for n in notes]
        )
