"""Least privilege on the real servers: each service's own PostgreSQL role and RabbitMQ user
(python -m servicekit.provision), the broker vouching for every publisher (user_id), and consumers
taking an event only from the service that owns its type (contracts/)."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import psycopg
import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection, Queue
from sqlalchemy import select

from servicekit.bus.envelope import Envelope
from servicekit.bus.topology import declare, events_exchange
from servicekit.config import load_settings
from servicekit.keys import KeyConfigurationError
from servicekit.provision import ManagementApi, Rabbitmqctl, broker_permissions, provision_broker_user

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


def test_migrating_as_the_owner_closes_a_database_made_with_default_privileges(servers, make_database, tmp_path):
    """As on Kubernetes, where CloudNativePG's Database makes the service's database owned by its role with
    PostgreSQL's default privileges (PUBLIC may connect): the service's migration, run as the owner, revokes them."""
    from servicekit.config import Settings, load_bus_settings
    from servicekit.migrations import upgrade
    from servicekit.service import Runtime
    from services.quota.service import SERVICE

    other = urlsplit(make_database("finance"))
    name = f"t_cnpg_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(servers.pg_admin_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE \"{name}\" LOGIN PASSWORD 'pw-{name}'")
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    try:
        other_on_it = _libpq(other._replace(path=f"/{name}").geturl())
        psycopg.connect(other_on_it).close()  # PostgreSQL's default: anyone may connect
        settings = Settings(
            service="quota",
            var_dir=tmp_path,
            database_url=servers.database_url(name),
            migrate_on_start=False,
            log_level="INFO",
            bus=load_bus_settings(tmp_path),
        )
        runtime = Runtime(SERVICE, settings)
        try:
            upgrade(runtime)
        finally:
            runtime.engine.dispose()
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(other_on_it)
        psycopg.connect(_libpq(servers.database_url(name))).close()  # the owner still does
    finally:
        servers.drop_database(name)


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

    wait_for(lambda: from_finance.id in handled(), 120, 0.2, "finance's payment handled (the worker starting included)")

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
    monkeypatch.setenv("DEPLOYMENT", "local")
    assert load_settings("quota").database_url.endswith("/quota")  # a laptop may
    assert not load_settings("quota").bus.verify_publisher
    monkeypatch.setenv("DEPLOYMENT", "production")
    with pytest.raises(KeyConfigurationError, match="QUOTA_DATABASE_URL"):
        load_settings("quota")
    monkeypatch.setenv("QUOTA_DATABASE_URL", "postgresql+psycopg://quota@db:5432/quota")
    with pytest.raises(KeyConfigurationError, match="QUOTA_DATABASE_URL"):
        load_settings("quota")
    monkeypatch.setenv("QUOTA_DATABASE_URL", "postgresql+psycopg://quota:Zx81-own-secret@db:5432/quota")
    monkeypatch.setenv("QUOTA_BROKER_URL", "amqp://quota:guest@rabbitmq:5672/upskilling")
    with pytest.raises(KeyConfigurationError, match="BROKER_URL"):
        load_settings("quota")
    monkeypatch.delenv("QUOTA_BROKER_URL")
    settings = load_settings("quota")
    assert settings.bus.verify_publisher and settings.bus.user == "quota"


def test_the_provision_command_makes_and_rotates_credentials_never_printing_them(servers, vhost, bus_namespace):
    database = f"t_provision_{uuid.uuid4().hex[:10]}"
    user = f"{bus_namespace}quota"

    def provision(password: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "PROVISION_DATABASE_URL": servers.pg_admin_url,
            "PROVISION_RABBITMQCTL": shlex.join(servers.rabbitmqctl),
            "BUS_NAMESPACE": bus_namespace,
            "QUOTA_DATABASE_URL": f"postgresql+psycopg://{database}:{password}@{servers.pg_host}:{servers.pg_port}/{database}",
            "QUOTA_BROKER_URL": f"amqp://{user}:{password}@{servers.amqp_host}:{servers.amqp_port}/{vhost}",
        }
        done = subprocess.run(
            [sys.executable, "-m", "servicekit.provision", "quota"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
        return done

    def broker_accepts(password: str) -> bool:
        check = [*servers.rabbitmqctl, "authenticate_user", "--", user, password]
        return subprocess.run(check, capture_output=True, timeout=60).returncode == 0

    def stored_password() -> str:
        with psycopg.connect(servers.pg_admin_dsn) as admin:
            return admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (database,)).fetchone()[0]

    try:
        made = provision("-first-Secret-1")  # a leading "-" as token_urlsafe may make
        assert f"role {database} owns database {database}" in made.stdout and f"RabbitMQ user {user}" in made.stdout
        first = stored_password()
        assert broker_accepts("-first-Secret-1")
        provision("second-Secret-2")  # rotation: run again with the new passwords
        assert stored_password() != first
        assert broker_accepts("second-Secret-2") and not broker_accepts("-first-Secret-1")
    finally:
        servers.drop_database(database)
        Rabbitmqctl(servers.rabbitmqctl).delete_user(user)


def test_the_management_api_gets_the_users_and_permissions_rabbitmqctl_would_set():
    seen = []

    class Recorder(BaseHTTPRequestHandler):
        def do_PUT(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers["Authorization"], body))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = ManagementApi(f"http://admin:adm%40n@127.0.0.1:{server.server_port}")
        provision_broker_user(api, "amqp://t1.finance:s3cret@rabbitmq:5672/upskilling", "t1.", "finance")
    finally:
        server.shutdown()
    configure, write, read = broker_permissions("t1.", "finance")
    assert [(path, body) for path, _, body in seen] == [
        ("/api/vhosts/upskilling", {}),
        ("/api/users/t1.finance", {"password": "s3cret", "tags": ""}),
        ("/api/permissions/upskilling/t1.finance", {"configure": configure, "write": write, "read": read}),
    ]
    assert {authorization for _, authorization, _ in seen} == {"Basic YWRtaW46YWRtQG4="}  # admin:adm@n
    assert re.match(configure, "t1.finance.retry.1000ms") and not re.match(configure, "t1.quota")
    assert re.match(write, "amq.default") and not re.match(read, "amq.default")
