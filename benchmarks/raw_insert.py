"""The raw reference of the saga benchmark: Flask under gunicorn, one PostgreSQL insert per request, nothing else.

RAW_DATABASE_URL=postgresql+psycopg://... gunicorn -c python:servicekit.gunicorn_conf benchmarks.raw_insert:app
"""

from __future__ import annotations

import os
import uuid

from flask import Flask
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, func

metadata = MetaData()
writes = Table("raw_writes", metadata, Column("id", String(36), primary_key=True), Column("at", DateTime(True)))
engine = create_engine(
    os.environ["RAW_DATABASE_URL"], pool_size=8, pool_pre_ping=False
)  # the table: made by the script
app = Flask(__name__)


@app.post("/writes/<name>")
def write(name: str):
    with engine.begin() as connection:
        connection.execute(writes.insert().values(id=str(uuid.uuid4()), at=func.now()))
    return {"name": name}, 201
