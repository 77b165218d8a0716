"""Campaigns (计划年度): funds, rates, windows and thresholds."""

from __future__ import annotations

from flask_smorest import Blueprint

from servicekit.identity import (
    FEDERATION_ADMIN,
    ROLES,
    current_identity,
    requires,
)

from .. import campaigns
from ..schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CloseIn,
)

blp = Blueprint(
    "campaigns",
    __name__,
    url_prefix="/campaigns",
    description="Campaigns (计划年度): funds, rates, windows and thresholds",
)


@blp.route("", methods=["POST"])
@blp.arguments(CampaignIn)
@blp.response(201, CampaignOut)
@blp.alt_response(403, description="Only the federation sets up campaigns")
@requires(FEDERATION_ADMIN)
def create_campaign(body):
    """Create a draft campaign; every setting left out takes the plan's value."""
    return campaigns.create(body)


@blp.route("", methods=["GET"])
@blp.arguments(campaigns.LISTING.query, location="query")
@blp.response(200, CampaignOut(many=True))
@requires(*ROLES)
def list_campaigns(args):
    """All campaigns, the latest year first."""
    return campaigns.listing(args)


@blp.route("/<campaign_id>", methods=["GET"])
@blp.response(200, CampaignOut)
@blp.alt_response(404, description="No such campaign")
@requires(*ROLES)
def get_campaign(campaign_id):
    """One campaign with every setting and the seats its academic pool pays for."""
    return campaigns.get(campaign_id)


@blp.route("/<campaign_id>", methods=["PATCH"])
@blp.arguments(CampaignPatch)
@blp.response(200, CampaignOut)
@blp.alt_response(404, description="No such campaign")
@blp.alt_response(422, description="Invalid settings, or pools below what is already allocated")
@requires(FEDERATION_ADMIN)
def edit_campaign(body, campaign_id):
    """Change settings; once published, every edit publishes the next revision of campaign.published."""
    return campaigns.edit(campaign_id, body)


@blp.route("/<campaign_id>/publish", methods=["POST"])
@blp.response(200, CampaignOut)
@blp.alt_response(404, description="No such campaign")
@blp.alt_response(409, description="Already published")
@requires(FEDERATION_ADMIN)
def publish_campaign(campaign_id):
    """Publish the campaign (campaign.published, revision 1)."""
    return campaigns.publish(campaign_id)


@blp.route("/<campaign_id>/close", methods=["POST"])
@blp.arguments(CloseIn)
@blp.response(200, CampaignOut)
@blp.alt_response(404, description="No such campaign")
@blp.alt_response(409, description="Closed already, or not published")
@requires(FEDERATION_ADMIN)
def close_campaign(body, campaign_id):
    """Close the campaign (结项): read-only in every service from then on (campaign.closed); the reason is audited,
    and `unspent_funds` says what finance does with the money units hold unspent. The checklist first:
    GET /api/campaigns/{campaign_id}/closeout at the gateway."""
    return campaigns.close(current_identity(), campaign_id, body)
