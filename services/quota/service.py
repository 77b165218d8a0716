from pathlib import Path

from servicekit import Service

from .handlers import HANDLERS
from .models import Base


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
)
