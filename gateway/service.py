"""The gateway's database, declared like a service's so servicekit migrates it (it has no events)."""

from pathlib import Path

from servicekit import Service

from .models import Base

SERVICE = Service(
    name="gateway",
    title="API gateway (统一入口)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    keys=("GATEWAY_ACCESS_TOKEN_KEY", "GATEWAY_CLIENT_SECRET_KEY", "EMPLOYEE_ID_KEY"),
)
