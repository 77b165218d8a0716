from pathlib import Path

from servicekit import Service

from .handlers import HANDLERS
from .models import Base


def _blueprints():
    from .api import campaigns_blp, units_blp
    from .api_allocations import blp as allocations_blp

    return [campaigns_blp, units_blp, allocations_blp]


SERVICE = Service(
    name="quota",
    title="Quota service (名额与补助)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=_blueprints,
    handlers=HANDLERS,
)
