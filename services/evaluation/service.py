from pathlib import Path

from servicekit import Service

from .models import Base

SERVICE = Service(
    name="evaluation",
    title="Evaluation service (考核评估)",
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
)
