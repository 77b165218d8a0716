"""Least privilege on the real servers: each service's own PostgreSQL role and RabbitMQ user
(python -m servicekit.provision), the broker vouching for every publisher (user_id), and consumers
taking an event only from the service that owns its type (contracts/)."""

from __future__ import annotations

import importlib
import json
import uuid
from datetime import date
from urllib.parse import urlsplit

import psycopg
import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection, Queue
from sqlalchemy import select

from servicekit.bus.envelope import Envelope
from servicekit.bus.topology import declare, events_exchange
from servicekit.config import load_settings

from .support.processes import wait_for

pytestmark = pytest.mark.servers


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_a_service_role_opens_its_own_database_only_and_has_no_other_power(make_database):
    quota, finance = urlsplit(make_database("quota")), urlsplit(make_database("finance"))
    with psycopg.connect(_libpq(quota.geturl())) as own:
        powers = own.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert powers == (False, False, False, False)
    quota_on_finance = quota._replace(path=finance.path).geturl()
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_libpq(quota_on_finance))


def payment(enrolment_id: str) -> dict:
    return {
        "payment_id": str(uuid.uuid4()),
        "enrolment_id": enrolment_id,
        "amount": "100.00",
        "paid_on": date.today().isoformat(),
        "status": "partial",
    }


def publish_as(url: str, bus, event: Envelope, user_id: str) -> None:
    with Connection(url, transport_options={"confirm_publish": True}) as connection:
        exchange = events_exchange(bus)
        connection.Producer(exchange=exchange).publish(
            event.to_json(),
            routing_key=event.type,
            content_type="application/json",
            content_encoding="utf-8",
            message_id=event.id,
            type=event.type,
            user_id=user_id,
            declare=[],
        )


def test_each_service_reaches_only_its_own_queues_and_events_come_only_from_their_owner(
    stack_of, broker_users, bus_namespace
):
    # enrollment as deployed: its own user declares its queues and runs its worker, checking publishers
    stack = stack_of("enrollment", BROKER_URL=broker_users["enrollment"], BUS_VERIFY_PUBLISHER="1")
    stack.worker()
    bus = stack.bus

    # finance's own user declares finance's queues; quota's user may not consume them
    finance = importlib.import_module("services.finance.service").SERVICE
    with Connection(broker_users["finance"]) as connection:
        declare(connection, bus, "finance", finance.handlers)
    with Connection(broker_users["quota"]) as connection, pytest.raises(AccessRefused):
        Queue(bus.queue("finance"))(connection.default_channel).get()
    with Connection(broker_users["quota"]) as connection, pytest.raises(AccessRefused):
        Queue(bus.dead_letter_queue("enrollment"))(connection.default_channel).get()

    # quota cannot pass for finance: RabbitMQ checks user_id against the connected user
    forged = Envelope.new("payment.recorded", payment(str(uuid.uuid4())), producer="finance")
    with pytest.raises(PreconditionFailed, match="user_id"):
        publish_as(broker_users["quota"], bus, forged, user_id=f"{bus_namespace}finance")

    # under its own name, quota's payment.recorded is parked with the reason; finance's is taken
    from_quota = Envelope.new("payment.recorded", payment(str(uuid.uuid4())), producer="finance")
    publish_as(broker_users["quota"], bus, from_quota, user_id=f"{bus_namespace}quota")
    from_finance = Envelope.new("payment.recorded", payment(str(uuid.uuid4())), producer="finance")
    publish_as(broker_users["finance"], bus, from_finance, user_id=f"{bus_namespace}finance")

    inbox = stack.runtime.inbox

    def handled() -> set[str]:
        with stack.runtime.engine.connect() as db:
            return set(db.scalars(select(inbox.c.event_id)))

    wait_for(lambda: from_finance.id in handled(), 60, 0.2, "finance's payment handled")

    def parked() -> list[dict]:
        listed = stack.cli("deadletters", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        return json.loads(listed.stdout)

    letters = wait_for(parked, 60, 0.5, "quota's payment parked")
    assert [letter["id"] for letter in letters] == [from_quota.id]
    assert "publisher refused" in letters[0]["reason"] and "finance" in letters[0]["reason"]
    assert from_quota.id not in handled()


def test_production_refuses_default_and_missing_passwords(monkeypatch):
    monkeypatch.setenv("QUOTA_DATABASE_URL", "postgresql+psycopg://quota:upskilling@db:5432/quota")
    monkeypatch.setenv("BROKER_URL", "amqp://quota:9mY7-rotated-secret@rabbitmq:5672/upskilling")
    monkeypatch.delenv("QUOTA_BROKER_URL", raising=False)
    monkeypatch.setenv("DEPLOYMENT", "development")
    assert load_settings("quota").database_url.endswith("/quota")  # a laptop may
    assert not load_settings("quota").bus.verify_publisher
    monkeypatch.setenv("DEPLOYMENT", "production")
    with pytest.raises(ValueError, match="QUOTA_DATABASE_URL"):
        load_settings("quota")
    monkeypatch.setenv("QUOTA_DATABASE_URL", "postgresql+psycopg://quota@db:5432/quota")
    with pytest.raises(ValueError, match="QUOTA_DATABASE_URL"):
        load_settings("quota")
    monkeypatch.setenv("QUOTA_DATABASE_URL", "postgresql+psycopg://quota:Zx81-own-secret@db:5432/quota")
    monkeypatch.setenv("QUOTA_BROKER_URL", "amqp://quota:guest@rabbitmq:5672/upskilling")
    with pytest.raises(ValueError, match="BROKER_URL"):
        load_settings("quota")
    monkeypatch.delenv("QUOTA_BROKER_URL")
    settings = load_settings("quota")
    assert settings.bus.verify_publisher and settings.bus.user == "quota"
