from pathlib import Path

from servicekit import Service
from servicekit.closing import ClosedCampaigns
from servicekit.sagas import Saga

from . import reimbursements
from .cli import COMMANDS
from .handlers import HANDLERS
from .models import Base, Campaign, Enrolment
from .personal_data import my_data


def _blueprints():
    from .api import blueprints

    return blueprints()


SERVICE = Service(
    name="finance",
    title="Finance service (经费)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=_blueprints,
    handlers=HANDLERS,
    personal_data=my_data,
    commands=COMMANDS,
    closed_campaigns=lambda: ClosedCampaigns.by_closed_at(
        Campaign.campaign_id,
        Campaign.closed_at,
        {"enrolment_id": (Enrolment.enrolment_id, Enrolment.campaign_id)},
    ),
    sagas=(
        Saga(
            reimbursements.SAGA,
            "enrollment's facts of a certified student's enrolment (its registration)",
            reimbursements.ask_again,
        ),
    ),
)
