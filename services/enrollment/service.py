from pathlib import Path

from servicekit import Service
from servicekit.closing import ClosedCampaigns
from servicekit.sagas import Saga

from . import changes, registration
from .api import blueprints
from .domain.enrolment import UnitRetired
from .domain.lifecycle import TransitionRefused
from .handlers import HANDLERS
from .models import Base, Campaign, Enrolment, TrainingClass
from .personal_data import my_data
from .problems import UNIT_RETIRED_FOR_NOMINATION, WRONG_STATUS
from .retention import COMMANDS

SERVICE = Service(
    name="enrollment",
    title="Enrollment service (报名与学籍)",
    keys=("EMPLOYEE_ID_KEY", "RESIDENT_ID_ENCRYPTION_KEY"),
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=blueprints,
    handlers=HANDLERS,
    closed_campaigns=lambda: ClosedCampaigns.by_closed_at(
        Campaign.campaign_id,
        Campaign.closed_at,
        {
            "enrolment_id": (Enrolment.enrolment_id, Enrolment.campaign_id),
            "class_id": (TrainingClass.class_id, TrainingClass.campaign_id),
        },
    ),
    personal_data=my_data,
    commands=COMMANDS,
    domain_errors={TransitionRefused: WRONG_STATUS, UnitRetired: UNIT_RETIRED_FOR_NOMINATION},
    sagas=(
        Saga(registration.SAGA, "quota's answer to a registration (seat or subsidy)", registration.ask_again),
        Saga(changes.SAGA, "quota's answer to an approved transfer's new subsidy", changes.ask_again),
    ),
)
