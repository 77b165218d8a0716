"""The real PostgreSQL and RabbitMQ the tests run against.

Where a Docker engine answers, pytest-docker starts deploy/'s postgres and
rabbitmq; otherwise the servers already running on this machine are used
(.ci/run starts them when they are down). Every test session gets a fresh
RabbitMQ vhost and every test its own databases and bus namespace, all
removed afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from servicekit.provision import BROKER_SERVICES, Rabbitmqctl, provision_broker_user, provision_database

REPO = Path(__file__).resolve().parents[2]


def docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_compose_file():
    return [str(REPO / "deploy/docker-compose.yml"), str(REPO / "deploy/docker-compose.test.yml")]


@pytest.fixture(scope="session")
def docker_setup():
    return ["up -d postgres rabbitmq"] if docker_engine_answers() else False


@pytest.fixture(scope="session")
def docker_cleanup():
    return ["down -v"] if docker_engine_answers() else False


@dataclass(frozen=True)
class Servers:
    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str
    amqp_host: str
    amqp_port: int
    amqp_user: str
    amqp_password: str
    rabbitmqctl: list[str]

    @property
    def pg_admin_dsn(self) -> str:
        return (
            f"host={self.pg_host} port={self.pg_port} user={self.pg_user} password={self.pg_password} dbname=postgres"
        )

    @property
    def pg_admin_url(self) -> str:
        return f"postgresql://{self.pg_user}:{self.pg_password}@{self.pg_host}:{self.pg_port}/postgres"

    def database_url(self, name: str) -> str:
        """The URL a service gets: the database's own login role (as servicekit.provision makes it)."""
        return f"postgresql+psycopg://{name}:pw-{name}@{self.pg_host}:{self.pg_port}/{name}"

    def create_database(self, name: str) -> str:
        """A fresh database owned by a login role of its own, the only one allowed to connect: its URL."""
        url = self.database_url(name)
        provision_database(self.pg_admin_url, url)
        return url

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.pg_admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')

    def amqp_url(self, vhost: str, port: int | None = None) -> str:
        return f"amqp://{self.amqp_user}:{self.amqp_password}@{self.amqp_host}:{port or self.amqp_port}/{vhost}"


def _reachable(servers: Servers) -> bool:
    try:
        psycopg.connect(servers.pg_admin_dsn, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    import socket

    try:
        socket.create_connection((servers.amqp_host, servers.amqp_port), timeout=3).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def servers(request) -> Servers:
    if docker_engine_answers():
        services = request.getfixturevalue("docker_services")
        found = Servers(
            "127.0.0.1",
            services.port_for("postgres", 5432),
            "upskilling",
            "upskilling",
            "127.0.0.1",
            services.port_for("rabbitmq", 5672),
            "upskilling",
            "upskilling",
            [
                "docker",
                "compose",
                *sum((["-f", f] for f in request.getfixturevalue("docker_compose_file")), []),
                "exec",
                "-T",
                "rabbitmq",
                "rabbitmqctl",
            ],
        )
        services.wait_until_responsive(lambda: _reachable(found), timeout=90, pause=1)
        return found
    found = Servers("127.0.0.1", 5432, "postgres", "postgres", "127.0.0.1", 5672, "guest", "guest", ["rabbitmqctl"])
    if not _reachable(found):
        pytest.fail(
            "PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672) must be running, or a Docker "
            "engine must answer: .ci/run starts the local servers when they are down"
        )
    return found


@pytest.fixture(scope="session")
def vhost(servers):
    name = f"test-{uuid.uuid4().hex[:10]}"
    ctl = servers.rabbitmqctl
    subprocess.run([*ctl, "add_vhost", name], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [*ctl, "set_permissions", "-p", name, servers.amqp_user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    yield name
    subprocess.run([*ctl, "delete_vhost", name], capture_output=True, timeout=60)


@pytest.fixture
def make_database(servers):
    """Create fresh PostgreSQL databases for one test; all dropped afterwards."""
    created = []

    def make(hint: str = "db") -> str:
        name = f"t_{hint}_{uuid.uuid4().hex[:10]}"
        created.append(name)
        return servers.create_database(name)

    yield make
    for name in created:
        servers.drop_database(name)


@pytest.fixture
def broker_users(servers, vhost, bus_namespace):
    """Each service's own RabbitMQ user in the test's vhost, as `python -m servicekit.provision` makes it:
    {service: its BROKER_URL}; deleted afterwards."""
    admin = Rabbitmqctl(servers.rabbitmqctl)
    urls = {}
    for service in BROKER_SERVICES:
        user, password = f"{bus_namespace}{service}", secrets.token_urlsafe(16)
        url = f"amqp://{user}:{password}@{servers.amqp_host}:{servers.amqp_port}/{vhost}"
        provision_broker_user(admin, url, bus_namespace, service)
        urls[service] = url
    yield urls
    for service in urls:
        admin.delete_user(f"{bus_namespace}{service}")


@pytest.fixture
def bus_namespace() -> str:
    """Exchange and queue names unique to one test, inside the session's vhost."""
    return f"t{uuid.uuid4().hex[:8]}."
