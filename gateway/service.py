"""The gateway's database, declared like a service's so servicekit migrates it (it has no events)."""

from pathlib import Path

from servicekit import Service

from .models import Base

SERVICE = Service(
    name="gateway",
    title="API gateway (统一入口)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
)
