"""INSERT ... ON CONFLICT on both databases the service runs on (PostgreSQL, embedded SQLite)."""
from sqlalchemy.dialects import postgresql, sqlite


def insert(session, model):
    return (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(model)
