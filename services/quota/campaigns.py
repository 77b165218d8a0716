"""Campaign use cases: create, edit, publish (and publish again after every later edit)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from servicekit import unit_of_work
from servicekit.closing import CampaignClosed
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.paging import Listing
from servicekit.refusals import Invalid

from .models import Allocation, AllocationLine, Campaign
from .problems import CAMPAIGN_NOT_CLOSABLE, CAMPAIGN_NOT_FOUND, CAMPAIGN_PUBLISHED, OVER_POOL
from .rules import excess_over_pool, seats_from_pool

# The plan's values (DOMAIN.md); a campaign may set every one of them.
DEFAULTS = {
    "academic_pool": Decimal("5000000.00"),
    "skills_pool": Decimal("5000000.00"),
    "academic_subsidy_per_student": Decimal("1500.00"),
    "skills_federation_rate": Decimal("0.40"),
    "skills_rate_overrides": {},
    "key_industry_weight": Decimal("1.20"),  # [decided]: the plan weights key industries without a figure
    "dedicated_class_threshold": 30,
    "public_notice_days": 5,
    "roster_lead_working_days": 5,
    "transfer_warning_days": 30,  # [decided]
}
WINDOW_FIELDS = ("registration_start", "registration_end", "study_start", "study_end", "exams_from")


def default_windows(year: int) -> dict:
    """The 2013-14 calendar of the plan, carried to the campaign's year."""
    return {
        "registration_start": date(year, 11, 1),
        "registration_end": date(year + 1, 1, 15),
        "study_start": date(year, 12, 1),
        "study_end": date(year + 1, 6, 30),
        "exams_from": date(year + 1, 3, 1),
        "transfer_deadline": date(year, 12, 31),  # the plan: funds transferred to units before the year ends
    }


def _settings(body: dict) -> dict:
    """API body → column values (only what the body gives)."""
    values = {k: v for k, v in body.items() if k not in ("fund_pools", "windows")}
    if "fund_pools" in body:
        values["academic_pool"] = body["fund_pools"]["academic"]
        values["skills_pool"] = body["fund_pools"]["skills"]
    values.update(body.get("windows", {}))
    if "skills_rate_overrides" in values:
        values["skills_rate_overrides"] = {
            trade: decimal_text(rate) for trade, rate in values["skills_rate_overrides"].items()
        }
    return values


def create(body: dict) -> dict:
    now = utcnow()
    values = {**DEFAULTS, **default_windows(body["year"]), **_settings(body)}
    campaign = Campaign(id=str(uuid.uuid4()), status="draft", revision=0, created_at=now, updated_at=now, **values)
    with unit_of_work() as uow:
        uow.session.add(campaign)
        uow.audit("campaign.created", "campaign", campaign.id, after=view(campaign))
        uow.commit()
    return view(campaign)


LISTING = Listing(
    "Campaigns",
    id=Campaign.id,
    sorts={"year": Campaign.year, "created_at": Campaign.created_at, "name": Campaign.name},
    default_sort="-year",
    filters={"status": Campaign.status, "year": Campaign.year},
    ranges={"registration_start": Campaign.registration_start},
    search=lambda q: Campaign.name.contains(q, autoescape=True),
)


def listing(args: dict) -> tuple[list[dict], dict]:
    with unit_of_work() as uow:
        return LISTING.page(uow.session, select(Campaign), args, view=lambda rows: [view(c) for c in rows])


def get(campaign_id: str) -> dict:
    with unit_of_work() as uow:
        return view(find(uow.session, campaign_id))


def edit(campaign_id: str, body: dict) -> dict:
    """Change settings; a published campaign announces its new settings as the next revision."""
    with unit_of_work() as uow:
        campaign = find(uow.session, campaign_id, lock=True)
        refuse_if_closed(campaign)
        values = {k: v for k, v in _settings(body).items() if getattr(campaign, k) != v}
        if not values:
            return view(campaign)  # nothing changes, nothing to announce
        before = view(campaign)
        for name, value in values.items():
            setattr(campaign, name, value)
        _check_windows(campaign)
        _check_pools_cover_allocation(uow.session, campaign)
        campaign.updated_at = utcnow()
        if campaign.status == "published":
            campaign.revision += 1
            uow.publish("campaign.published", payload(campaign))
        uow.audit("campaign.updated", "campaign", campaign.id, before=before, after=view(campaign), only_changes=True)
        uow.commit()
        return view(campaign)


def publish(campaign_id: str) -> dict:
    with unit_of_work() as uow:
        campaign = find(uow.session, campaign_id, lock=True)
        refuse_if_closed(campaign)
        if campaign.status == "published":
            raise CAMPAIGN_PUBLISHED("Edit the campaign to publish a new revision of it.")
        before = {"status": campaign.status, "revision": campaign.revision}
        campaign.status, campaign.revision, campaign.updated_at = "published", 1, utcnow()
        uow.publish("campaign.published", payload(campaign))
        uow.audit(
            "campaign.published", "campaign", campaign.id, before=before, after={"status": "published", "revision": 1}
        )
        uow.commit()
        return view(campaign)


def close(identity: Identity, campaign_id: str, body: dict) -> dict:
    """The federation closes the campaign (audited, with its reason): read-only in every service from then on;
    campaign.closed tells them, and finance what to do with the money units hold unspent."""
    with unit_of_work() as uow:
        campaign = find(uow.session, campaign_id, lock=True)
        refuse_if_closed(campaign)
        if campaign.status != "published":
            raise CAMPAIGN_NOT_CLOSABLE(_("The campaign is {status}.").format(status=campaign.status))
        before = {"status": campaign.status}
        now = utcnow()
        campaign.status, campaign.closed_at, campaign.closed_by = "closed", now, identity.subject
        campaign.close_reason, campaign.unspent_funds, campaign.updated_at = body["reason"], body["unspent_funds"], now
        uow.publish(
            "campaign.closed",
            {
                "campaign_id": campaign.id,
                "closed_at": now.isoformat(),
                "reason": campaign.close_reason,
                "unspent_funds": campaign.unspent_funds,
            },
        )
        uow.audit(
            "campaign.closed",
            "campaign",
            campaign.id,
            before=before,
            after={"status": "closed", "unspent_funds": campaign.unspent_funds},
            reason=body["reason"],
        )
        uow.commit()
        return view(campaign)


def refuse_if_closed(campaign: Campaign) -> None:
    if campaign.status == "closed":
        raise CampaignClosed(_("Campaign {campaign_id} is closed.").format(campaign_id=campaign.id))


def find(session, campaign_id: str, *, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    campaign = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if campaign is None:
        raise CAMPAIGN_NOT_FOUND(_("No campaign {campaign_id}.").format(campaign_id=campaign_id))
    return campaign


def _check_windows(campaign: Campaign) -> None:
    for start, end in (("registration_start", "registration_end"), ("study_start", "study_end")):
        if getattr(campaign, start) > getattr(campaign, end):
            raise Invalid(
                _("{end} is before {start}.").format(end=end, start=start),
                errors={"windows": {end: [_("Must not be before {start}.").format(start=start)]}},
            )


def _check_pools_cover_allocation(session, campaign: Campaign) -> None:
    """Shrinking a pool below what is already allocated would break the allocation."""
    totals = session.execute(
        select(
            func.coalesce(func.sum(AllocationLine.academic_seats), 0),
            func.coalesce(func.sum(AllocationLine.skills_money), 0),
        )
        .join(Allocation, Allocation.id == AllocationLine.allocation_id)
        .where(Allocation.campaign_id == campaign.id)
    ).one()
    seats_over = excess_over_pool(totals[0], academic_seats(campaign))
    money_over = excess_over_pool(Decimal(totals[1]), campaign.skills_pool)
    if seats_over or money_over:
        raise OVER_POOL(
            _(
                "The allocation already holds {seats} seats and {money} of skills money: the new pools fall short by {seats_over} seats and {money_over}."
            ).format(
                seats=totals[0], money=show(Decimal(totals[1])), seats_over=seats_over, money_over=show(money_over)
            ),
            excess={"academic_seats": seats_over, "skills_money": show(money_over)},
        )


def academic_seats(campaign: Campaign) -> int:
    return seats_from_pool(campaign.academic_pool, campaign.academic_subsidy_per_student)


def view(campaign: Campaign) -> dict:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "year": campaign.year,
        "status": campaign.status,
        "revision": campaign.revision,
        "fund_pools": {"academic": campaign.academic_pool, "skills": campaign.skills_pool},
        "academic_subsidy_per_student": campaign.academic_subsidy_per_student,
        "academic_seats": academic_seats(campaign),
        "skills_federation_rate": decimal_text(campaign.skills_federation_rate),
        "skills_rate_overrides": campaign.skills_rate_overrides,
        "key_industry_weight": decimal_text(campaign.key_industry_weight),
        "windows": {name: getattr(campaign, name) for name in WINDOW_FIELDS},
        "dedicated_class_threshold": campaign.dedicated_class_threshold,
        "public_notice_days": campaign.public_notice_days,
        "roster_lead_working_days": campaign.roster_lead_working_days,
        "transfer_deadline": campaign.transfer_deadline,
        "transfer_warning_days": campaign.transfer_warning_days,
        "closed_at": campaign.closed_at,
        "closed_by": campaign.closed_by,
        "close_reason": campaign.close_reason,
        "unspent_funds": campaign.unspent_funds,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
    }


def decimal_text(value) -> str:
    """ "0.40", "0.125": at least two decimals, no trailing zeros beyond them."""
    rate = Decimal(value).normalize()
    return f"{rate.quantize(Decimal('0.01')) if rate.as_tuple().exponent > -2 else rate:f}"


def payload(campaign: Campaign) -> dict:
    """The campaign.published event: plain JSON (money as "1500.00", dates ISO)."""
    return {
        "campaign_id": campaign.id,
        "revision": campaign.revision,
        "name": campaign.name,
        "year": campaign.year,
        "fund_pools": {"academic": show(campaign.academic_pool), "skills": show(campaign.skills_pool)},
        "academic_subsidy_per_student": show(campaign.academic_subsidy_per_student),
        "skills_federation_rate": decimal_text(campaign.skills_federation_rate),
        "skills_rate_overrides": {trade: decimal_text(rate) for trade, rate in campaign.skills_rate_overrides.items()},
        "windows": {name: getattr(campaign, name).isoformat() for name in WINDOW_FIELDS},
        "dedicated_class_threshold": campaign.dedicated_class_threshold,
        "public_notice_days": campaign.public_notice_days,
        "roster_lead_working_days": campaign.roster_lead_working_days,
        "transfer_deadline": campaign.transfer_deadline.isoformat(),
        "transfer_warning_days": campaign.transfer_warning_days,
    }
