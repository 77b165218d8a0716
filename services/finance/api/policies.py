"""The campaign's and each unit's cost-sharing policy."""

from __future__ import annotations

from servicekit import Problem, unit_of_work
from servicekit.audit import audited
from servicekit.db import utcnow
from servicekit.errors import FORBIDDEN, NOT_FOUND
from servicekit.i18n import _
from servicekit.identity import current_identity, requires

from .. import fees, rules, schemas
from ..models import Campaign, UnitPolicyRow
from . import EVERYONE, FEDERATION, blp, problems, reading


@blp.route("/campaigns/<campaign_id>/policy", methods=["GET"])
@blp.response(200, schemas.CampaignPolicyOut)
@problems(404)
@requires(*EVERYONE)
def get_campaign_policy(campaign_id):
    """The campaign's cost-sharing policy (from quota's campaign.published)"""
    with reading() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise Problem(NOT_FOUND, _("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
        return campaign


@blp.route("/campaigns/<campaign_id>/fee-shares", methods=["GET"])
@blp.arguments(schemas.FeeSharesQuery, location="query")
@blp.response(200, schemas.FeeSharesOut)
@problems(404)
@requires(*EVERYONE)
def fee_shares(query, campaign_id):
    """Who pays what of a fee standard in this campaign, computed as a student's breakdown is (the campaign's
    policy with its raises), with the default unit policy: an institution sees its programme's shares while it
    edits the fees"""
    with reading() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise Problem(NOT_FOUND, _("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
        shares = rules.breakdown(
            query["kind"],
            {name: query[name] for name in rules.FEE_LINES},
            query["trade"],
            fees.campaign_policy(session, campaign),
            rules.UnitPolicy(),
        )
    return {
        "campaign_id": campaign_id,
        "lines": [{"line": line.name, "shared": line.shared, **vars(line)} for line in shares.lines],
        **{name: getattr(shares, name) for name in ("total", "federation", "unit", "employee")},
        "unit_policy": "default",
    }


def _own_unit(unit_id: str) -> None:
    identity = current_identity()
    if not identity.is_federation and identity.unit_id != unit_id:
        raise Problem(FORBIDDEN, "A unit officer sees and sets only the policy of their own unit.")


def _policy_view(unit_id: str, policy: rules.UnitPolicy, is_default: bool) -> dict:
    return {
        "unit_id": unit_id,
        "is_default": is_default,
        **{
            name: getattr(policy, name)
            for name in ("academic_mode", "academic_value", "skills_unit_rate", "unit_share_timing")
        },
    }


@blp.route("/units/<unit_id>/policy", methods=["GET"])
@blp.response(200, schemas.UnitPolicyOut)
@problems()
@requires(*FEDERATION, "unit_officer")
def get_unit_policy(unit_id):
    """A unit's cost-sharing policy (the defaults until the unit sets its own)"""
    _own_unit(unit_id)
    with reading() as session:
        return _policy_view(unit_id, fees.unit_policy(session, unit_id), session.get(UnitPolicyRow, unit_id) is None)


@blp.route("/units/<unit_id>/policy", methods=["PUT"])
@blp.arguments(schemas.UnitPolicyIn)
@blp.response(200, schemas.UnitPolicyOut)
@problems()
@requires("unit_officer")
def put_unit_policy(body, unit_id):
    """Set the unit's own policy; it applies to breakdowns computed from now on"""
    _own_unit(unit_id)
    if body["skills_unit_rate"] is None:
        body["skills_unit_rate"] = rules.DEFAULT_SKILLS_UNIT_RATE
    policy = rules.UnitPolicy(**body)
    with unit_of_work() as uow:
        with audited(uow, "set", "unit_policy", unit_id):
            uow.session.merge(
                UnitPolicyRow(unit_id=unit_id, updated_by=current_identity().subject, updated_at=utcnow(), **body)
            )
        uow.commit()
    return _policy_view(unit_id, policy, False)
