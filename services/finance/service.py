from pathlib import Path

from servicekit import Service

from .models import Base

SERVICE = Service(
    name="finance",
    title="Finance service (经费)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
)
