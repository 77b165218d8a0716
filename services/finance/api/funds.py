"""Earmarked funds: transfers to units, returns, reclaims, and the accounts."""

from __future__ import annotations

from servicekit import bulk, unit_of_work
from servicekit.audit import audited
from servicekit.bulk import BulkOut
from servicekit.idempotency import idempotent
from servicekit.identity import current_identity, requires

from .. import funds, queries, schemas
from . import FEDERATION, blp, cause, id_of, problems, reading


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


@blp.route("/reclaims", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransferIn)
@blp.response(201, schemas.TransferOut)
@problems(404, 409)
def reclaim_funds(body):
    """The federation confirms taking back into its pool what a unit received beyond its allocation
    (`to_reclaim` in the fund report); the unit's earmarked balance must cover it"""
    return _move_funds(body, "reclaimed")


@blp.route("/transfers/record", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransfersIn)
@blp.response(200, BulkOut)
@problems()
def transfer_funds_to_units(body):
    """Transfer allocated money to several units at once (at most 500): each transfer done or refused on its own"""
    identity = current_identity()
    return bulk.each(body["items"], lambda item: _move_funds(item, "to_unit", identity), lambda item: item["unit_id"])


def _move_funds(body: dict, direction: str, identity=None):
    """One fund movement in its own transaction, audited (the bulk route passes the identity it read once)."""
    with unit_of_work() as uow:
        with audited(uow, direction, "fund_transfer", reason=body.get("reference")) as decision:
            row = funds.move(
                uow,
                identity or current_identity(),
                {**body, "campaign_id": str(body["campaign_id"])},
                cause(),
                direction,
            )
            decision.entity_id = id_of(row, "transfer_id", body["unit_id"])
        uow.commit()
    return row


@blp.route("/transfers", methods=["GET"])
@blp.arguments(queries.TRANSFERS.query, location="query")
@blp.response(200, schemas.TransferOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_transfers(args):
    """Transfers and returns (a unit officer: their own unit's)"""
    with reading() as session:
        return queries.transfers(session, current_identity(), args)


@blp.route("/accounts", methods=["GET"])
@blp.arguments(queries.ACCOUNTS.query, location="query")
@blp.response(200, schemas.AccountOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_accounts(args):
    """Ledger accounts and balances (a unit officer: their own unit's)"""
    with reading() as session:
        return queries.accounts(session, current_identity(), args)
