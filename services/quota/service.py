from pathlib import Path

from servicekit import Service

from .models import Base

SERVICE = Service(
    name="quota",
    title="Quota service (名额与补助)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
)
