from pathlib import Path

from servicekit import Service

from .api import blueprints
from .handlers import HANDLERS
from .models import Base

SERVICE = Service(
    name="enrollment",
    title="Enrollment service (报名与学籍)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    blueprints=blueprints,
    handlers=HANDLERS,
)
