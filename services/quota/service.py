from pathlib import Path

from servicekit import Service
from servicekit.closing import ClosedCampaigns

from .handlers import HANDLERS
from .models import Allocation, Base, Campaign


def _blueprints():
    from .api import blueprints

    return blueprints()


SERVICE = Service(
    name="quota",
    title="Quota service (名额与补助)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=_blueprints,
    handlers=HANDLERS,
    closed_campaigns=lambda: ClosedCampaigns(
        Campaign.id,
        Campaign.status == "closed",
        lambda campaign: campaign.status == "closed",
        {"allocation_id": (Allocation.id, Allocation.campaign_id)},
    ),
)
