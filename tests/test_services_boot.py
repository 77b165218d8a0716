"""Every service migrates its own database, declares its queues and serves its operations endpoints."""

from __future__ import annotations

import importlib
import os
import subprocess

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from kombu import Connection
from sqlalchemy import text

from servicekit import Runtime, create_app

from .support.processes import REPO, python_module

pytestmark = pytest.mark.servers
SERVICES = ["quota", "enrollment", "finance", "evaluation"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_migrates_its_own_database_and_is_ready(
    name, servers, vhost, make_database, bus_namespace, monkeypatch
):
    url = make_database(name)
    env = {f"{name.upper()}_DATABASE_URL": url, "BROKER_URL": servers.amqp_url(vhost), "BUS_NAMESPACE": bus_namespace}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    migrated = subprocess.run(
        python_module(f"services.{name}", "migrate"),
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    again = subprocess.run(
        python_module(f"services.{name}", "migrate"),
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, "migrating twice is harmless"

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as db:
        tables = {row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"outbox", "inbox", f"alembic_version_{name}"} <= tables

    service = importlib.import_module(f"services.{name}.service").SERVICE
    runtime = Runtime(service)
    with Connection(runtime.settings.bus.url) as connection:
        _, messages, _ = connection.default_channel.queue_declare(
            queue=runtime.settings.bus.dead_letter_queue(name), passive=True
        )
    assert messages == 0, "the dead-letter queue was declared by migrate"

    client = create_app(service, runtime).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_data(as_text=True)
    assert ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}
    assert client.get("/openapi.json").get_json()["info"]["title"] == service.title
    assert "outbox_pending_events" in client.get("/metrics").get_data(as_text=True)
    runtime.engine.dispose()


def test_readyz_reports_an_unreachable_broker(servers, make_database, monkeypatch):
    monkeypatch.setenv("QUOTA_DATABASE_URL", make_database("quota"))
    monkeypatch.setenv("BROKER_URL", "amqp://guest:guest@127.0.0.1:1/")
    service = importlib.import_module("services.quota.service").SERVICE
    runtime = Runtime(service)
    response = create_app(service, runtime).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["broker"].startswith("unreachable")
    runtime.engine.dispose()


@pytest.mark.parametrize("name", ["quota", "enrollment", "finance"])  # evaluation: its own test_migrations
def test_migrations_build_exactly_the_tables_the_models_describe(name, stack_of):
    stack = stack_of(name)
    with stack.runtime.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            d for d in compare_metadata(context, stack.service.metadata) if f"alembic_version_{name}" not in str(d)
        ]
    assert differences == []


# An index whose columns lead another's answers nothing the longer one cannot, and costs every write that
# touches them (a status change updates each index on status).
REDUNDANT_INDEXES = """
SELECT shorter.indexrelid::regclass::text, longer.indexrelid::regclass::text
FROM pg_index shorter
JOIN pg_index longer ON longer.indrelid = shorter.indrelid AND longer.indexrelid <> shorter.indexrelid
JOIN pg_class shorter_index ON shorter_index.oid = shorter.indexrelid
JOIN pg_class longer_index ON longer_index.oid = longer.indexrelid
WHERE NOT shorter.indisunique
  AND shorter.indpred IS NULL AND longer.indpred IS NULL
  AND shorter.indexprs IS NULL AND longer.indexprs IS NULL
  AND shorter_index.relam = longer_index.relam
  AND shorter_index.relnamespace = 'public'::regnamespace
  AND (longer.indkey::text = shorter.indkey::text OR longer.indkey::text LIKE shorter.indkey::text || ' %')
  AND (longer.indclass::text = shorter.indclass::text OR longer.indclass::text LIKE shorter.indclass::text || ' %')
ORDER BY 1
"""


@pytest.mark.parametrize("name", SERVICES)
def test_no_index_only_repeats_the_leading_columns_of_another(name, stack_of):
    stack = stack_of(name)
    with stack.runtime.engine.connect() as connection:
        redundant = [tuple(row) for row in connection.execute(text(REDUNDANT_INDEXES))]
    assert redundant == [], redundant
