"""/auth/clients: the federation admin makes, lists, disables, enables and rotates institution systems' API keys.

A client's secret is derived from its key id and secret generation (gateway.keys): no secret is
stored, and none is ever listed; it is shown once, when the client is made or rotated. Every
change is recorded in the gateway's audit trail (`audit_entries`, in the change's transaction),
with the reason the admin gave (required to disable or enable). Every signed request reads the
client's row, so a disabled client is refused (401) by every gateway process from the commit on.
The auditor reads the list, an institution's operator its own institution's; only the federation admin
changes it.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from servicekit.audit import actor_of, require_reason
from servicekit.errors import NOT_FOUND, Problem
from servicekit.i18n import _
from servicekit.identity import AUDITOR, FEDERATION_ADMIN, INSTITUTION_OPERATOR
from servicekit.paging import Listing

from . import accounts
from .auth_api import account_problems
from .guard import current_guard, require
from .models import MachineClient, MachineRequest
from .schemas import (
    ClientIn,
    ClientListOut,
    ClientOut,
    ClientQuery,
    MachineRequestOut,
    ReasonIn,
    RotatedOut,
    RotateIn,
)

CLIENTS = Listing(
    "MachineClients",
    id=MachineClient.key_id,
    sorts={"created_at": MachineClient.created_at, "name": MachineClient.name},
    default_sort="-created_at",
    filters={"institution_id": MachineClient.institution_id, "active": MachineClient.active},
    ranges={"created_at": MachineClient.created_at},
    search=lambda q: MachineClient.name.icontains(q, autoescape=True),
    search_help="the client's name",
    base=ClientQuery,
)

REQUESTS = Listing(
    "MachineRequests",
    id=MachineRequest.id,
    sorts={"at": MachineRequest.at},
    default_sort="-at",
    filters={"key_id": MachineRequest.key_id},
    ranges={"at": MachineRequest.at},
)

blp = Blueprint(
    "clients", __name__, url_prefix="/auth/clients", description="Institution systems' API keys (接口客户端)"
)
ADMIN_ONLY = {"description": "Only a federation admin changes machine clients"}


@blp.route("", methods=["POST"])
@blp.arguments(ClientIn)
@blp.response(201, ClientOut)
@blp.alt_response(403, description="Only a federation admin makes machine clients")
def create_client(body):
    """Make an institution system's API key (federation admin only); the secret is shown once."""
    guard = current_guard()
    admin = require(FEDERATION_ADMIN)
    with account_problems("The machine client cannot be made as given."), guard.transaction() as session:
        made = accounts.create_client(session, created_by=admin.subject, secret_of=guard.keys.client_secret, **body)
        accounts.record_client(session, made.client, actor_of(admin))
    return {
        "key_id": made.client.key_id,
        "secret": made.secret,
        "name": made.client.name,
        "institution_id": made.client.institution_id,
    }


@blp.route("", methods=["GET"])
@blp.arguments(CLIENTS.query, location="query")
@blp.response(200, ClientListOut(many=True))
@blp.alt_response(403, description="Only the federation, the auditor and an institution's operator see machine clients")
def list_clients(query):
    """Machine clients, newest first, filtered by institution and active, searched by name; never a secret. An
    institution's operator sees its own institution's only (its IT staff signs their requests)."""
    guard = current_guard()
    who = require(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR)
    clients_of = select(MachineClient)
    if who.role == INSTITUTION_OPERATOR:
        clients_of = clients_of.where(MachineClient.institution_id == who.institution_id)
    with guard.transaction() as session:
        clients, headers = CLIENTS.page(session, clients_of, query)
        session.expunge_all()  # shown after the transaction
        return clients, headers


@blp.route("/requests", methods=["GET"])
@blp.arguments(REQUESTS.query, location="query")
@blp.response(200, MachineRequestOut(many=True))
@blp.alt_response(403, description="Only the federation, the auditor and an institution's operator see them")
def list_requests(query):
    """The machine clients' signed requests, newest first, with the status answered (kept 30 days): an
    institution's operator sees its own clients' only; the path without its query, never a body."""
    guard = current_guard()
    who = require(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR)
    received = select(MachineRequest)
    if who.role == INSTITUTION_OPERATOR:
        received = received.where(
            MachineRequest.key_id.in_(
                select(MachineClient.key_id).where(MachineClient.institution_id == who.institution_id)
            )
        )
    with guard.transaction() as session:
        rows, headers = REQUESTS.page(session, received, query)
        session.expunge_all()
        return rows, headers


def state_change(action: str):
    """POST /auth/clients/<key_id>/<action> with a reason: the client as it now is."""

    def route(view):
        for decorate in (
            blp.alt_response(422, description="No reason given"),
            blp.alt_response(404, description="No such client"),
            blp.alt_response(403, **ADMIN_ONLY),
            blp.response(200, ClientListOut),
            blp.arguments(ReasonIn),
            blp.route(f"/<key_id>/{action}", methods=["POST"]),
        ):
            view = decorate(view)
        return view

    return route


@state_change("disable")
def disable_client(body, key_id):
    """Disable the client: its signed requests are refused (401) from now on, by every gateway process."""
    return _set_active(key_id, False, body["reason"])


@state_change("enable")
def enable_client(body, key_id):
    """Enable a disabled client again (its current secret works again)."""
    return _set_active(key_id, True, body["reason"])


@blp.route("/<key_id>/secret", methods=["POST"])
@blp.arguments(RotateIn)
@blp.response(200, RotatedOut)
@blp.alt_response(403, **ADMIN_ONLY)
@blp.alt_response(404, description="No such client")
def rotate_secret(body, key_id):
    """A new secret for the client, shown once; the one it replaces keeps working `overlap_hours` (24 by default,
    0 to 168), then is refused; a secret older than that is refused at once."""
    guard = current_guard()
    admin = require(FEDERATION_ADMIN)
    with guard.transaction() as session:
        client = _client(session, key_id)
        secret = accounts.rotate_client_secret(
            session, client, body["overlap_hours"], body.get("reason"), actor_of(admin), guard.keys.client_secret
        )
        answer = {"key_id": client.key_id, "secret": secret, "previous_secret_until": client.previous_secret_until}
    return answer


def _set_active(key_id: str, active: bool, reason: str) -> MachineClient:
    guard = current_guard()
    admin = require(FEDERATION_ADMIN)
    reason = require_reason(reason)
    with guard.transaction() as session:
        client = _client(session, key_id)
        accounts.set_client_active(session, client, active, reason, actor_of(admin))
        session.flush()
        session.expunge(client)
    return client


def _client(session, key_id: str) -> MachineClient:
    client = accounts.client_for_update(session, key_id)
    if client is None:
        raise Problem(NOT_FOUND, _("No such machine client."))
    return client
