from pathlib import Path

from servicekit import Service
from servicekit.closing import ClosedCampaigns

from .commands import COMMANDS
from .handlers import HANDLERS
from .models import Base, Campaign, Enrolment, Survey
from .personal_data import my_data


def _blueprints():
    from .api import blueprints

    return blueprints()


SERVICE = Service(
    name="evaluation",
    title="Evaluation service (考核评估)",
    keys=("SURVEY_KEY_ENCRYPTION_KEY",),
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=_blueprints,
    handlers=HANDLERS,
    personal_data=my_data,
    commands=COMMANDS,
    closed_campaigns=lambda: ClosedCampaigns.by_closed_at(
        Campaign.campaign_id,
        Campaign.closed_at,
        {
            "enrolment_id": (Enrolment.enrolment_id, Enrolment.campaign_id),
            "survey_id": (Survey.survey_id, Survey.campaign_id),
        },
    ),
)
