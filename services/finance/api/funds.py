"""Earmarked funds: transfers to units, returns, and the accounts."""

from __future__ import annotations

from servicekit import unit_of_work
from servicekit.idempotency import idempotent
from servicekit.identity import current_identity, requires

from .. import funds, queries, schemas
from . import FEDERATION, blp, cause, problems, reading


@blp.route("/transfers", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransferIn)
@blp.response(201, schemas.TransferOut)
@problems(404, 409)
def transfer_funds(body):
    """Transfer allocated money from the federation's pool into a unit's earmarked account"""
    return _move_funds(body, "to_unit")


@blp.route("/returns", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransferIn)
@blp.response(201, schemas.TransferOut)
@problems(404, 409)
def return_funds(body):
    """Record unused earmarked money a unit returned to the federation"""
    return _move_funds(body, "returned")


def _move_funds(body: dict, direction: str):
    with unit_of_work() as uow:
        row = funds.move(uow, current_identity(), {**body, "campaign_id": str(body["campaign_id"])}, cause(), direction)
        uow.commit()
    return row


@blp.route("/transfers", methods=["GET"])
@blp.arguments(schemas.TransferArgs, location="query")
@blp.response(200, schemas.TransferOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_transfers(args):
    """Transfers and returns (a unit officer: their own unit's)"""
    with reading() as session:
        return queries.transfers(session, current_identity(), args)


@blp.route("/accounts", methods=["GET"])
@blp.arguments(schemas.ExportArgs, location="query")
@blp.response(200, schemas.AccountOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_accounts(args):
    """Ledger accounts and balances (a unit officer: their own unit's)"""
    with reading() as session:
        return queries.accounts(session, current_identity(), args.get("campaign_id"))
