from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.bus.tables import SEQUENCE, add_messaging_tables
from servicekit.idempotency import add_idempotency_table


class Base(DeclarativeBase):
    pass


outbox, inbox = add_messaging_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100))


class Tally(Base):
    __tablename__ = "tallies"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Handling(Base):
    """One row per committed handling: two rows for one event would be a double handling."""

    __tablename__ = "handlings"
    id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)


class Cure(Base):
    __tablename__ = "cures"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
