"""The finance service's tables (its own database; no other service reads it)."""
from sqlalchemy.orm import DeclarativeBase

from servicekit.bus.tables import add_messaging_tables


class Base(DeclarativeBase):
    pass


outbox, inbox = add_messaging_tables(Base.metadata)
