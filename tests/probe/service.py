from pathlib import Path

from servicekit import Service

from . import contracts  # noqa: F401  (registers the probe's events)
from .handlers import HANDLERS
from .models import Base


def _blueprints():
    from .api import blp

    return [blp]


SERVICE = Service(
    name="probe",
    title="Probe service (kit tests)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=_blueprints,
    handlers=HANDLERS,
)
