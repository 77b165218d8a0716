"""`python -m servicekit.provision`: every service's own PostgreSQL role and database, and its own RabbitMQ user.

Least privilege, made from the URLs the services themselves are given: for each service whose
`<SERVICE>_DATABASE_URL` names a PostgreSQL database, the URL's user becomes a login role with nothing
else (no superuser, no createdb, no createrole, no replication) owning that database, which nobody else
may connect to (CONNECT revoked from PUBLIC); the service's migrations run as that owner. For each service
whose `<SERVICE>_BROKER_URL` names a RabbitMQ vhost, the URL's user (`<BUS_NAMESPACE><service>`, the name
consumers check a message's user_id against) may configure and read only its own queues and the events
exchange, and write to its own queues and the events exchange.

Run it again with new passwords in the URLs to rotate them (then restart the service). The administrator
connections come from `PROVISION_DATABASE_URL` (a superuser, or a role with CREATEROLE and CREATEDB) and
`PROVISION_RABBITMQCTL` (the command, e.g. `rabbitmqctl` or `docker exec rabbitmq rabbitmqctl`) or
`PROVISION_RABBITMQ_API` (the management plugin, e.g. http://admin:secret@rabbitmq:15672). Passwords are
never printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import sql

SERVICES = ("quota", "enrollment", "finance", "evaluation", "gateway")
BROKER_SERVICES = ("quota", "enrollment", "finance", "evaluation")  # the gateway does not use the broker


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str | None
    where: str  # the database, or the vhost

    @classmethod
    def of(cls, url: str, default_where: str = "") -> Credentials:
        parts = urlsplit(url)
        if not parts.username:
            raise ValueError(f"{parts.scheme} URL without a user name")
        where = unquote(parts.path.lstrip("/")) or default_where
        return cls(unquote(parts.username), unquote(parts.password) if parts.password else None, where)


def _admin_dsn(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://) as libpq takes it."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


# ---------------------------------------------------------------- PostgreSQL

ROLE_LIMITS = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")


def provision_database(admin_url: str, database_url: str) -> Credentials:
    """The URL's user as a login role owning the URL's database, the only role that may connect to it."""
    own = Credentials.of(database_url)
    role, database = sql.Identifier(own.user), sql.Identifier(own.where)
    password = sql.Literal(own.password) if own.password else sql.NULL
    with psycopg.connect(_admin_dsn(admin_url), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (own.user,)).fetchone()
        verb = sql.SQL("ALTER ROLE {} WITH") if exists else sql.SQL("CREATE ROLE {} WITH")
        admin.execute(sql.SQL("{} {} PASSWORD {}").format(verb.format(role), ROLE_LIMITS, password))
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (own.where,)).fetchone():
            admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, role))
        else:
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
        admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
        admin.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, role))
    # A database made before (by the administrator) keeps tables the administrator owns: hand them over.
    with psycopg.connect(_admin_dsn(_with_database(admin_url, own.where)), autocommit=True) as admin:
        owned = admin.execute(
            """SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                 AND pg_get_userbyid(c.relowner) <> %s""",
            (own.user,),
        ).fetchall()
        for schema, name, kind in owned:
            if (
                kind == "S"
                and admin.execute(  # a sequence owned by a column moves with its table
                    "SELECT 1 FROM pg_depend d JOIN pg_class c ON c.oid = d.objid WHERE c.relname = %s AND d.deptype IN ('a', 'i')",
                    (name,),
                ).fetchone()
            ):
                continue
            admin.execute(
                sql.SQL("ALTER TABLE {}.{} OWNER TO {}").format(sql.Identifier(schema), sql.Identifier(name), role)
            )
    return own


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path="/" + quote(database)).geturl()


# ---------------------------------------------------------------- RabbitMQ


def broker_permissions(namespace: str, service: str) -> tuple[str, str, str]:
    """(configure, write, read) regular expressions: the service's own queues and the events exchange.

    The events exchange's alternate exchange and its queues (the unroutable record every worker keeps)
    are shared; writing to `amq.default` is how a service sends its own retries and dead letters to its own
    queues. Whatever another service's user writes there is refused by its consumers (user_id, contracts).
    """
    ns, own = re.escape(namespace), re.escape(service)
    shared = r"upskilling\.events|upskilling\.unroutable|upskilling\.unroutable\.incoming"
    reach = rf"^{ns}({own}|{own}\..+|{shared})$"
    return reach, rf"^({ns}({own}|{own}\..+|{shared})|amq\.default)$", reach


class Rabbitmqctl:
    def __init__(self, command: list[str]):
        self.command = command

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=60, check=check)

    def ensure_vhost(self, vhost: str) -> None:
        self._run("add_vhost", vhost, check=False)  # already there: fine

    def set_user(self, user: str, password: str) -> None:
        # "--": a password may start with "-" (token_urlsafe), which rabbitmqctl would take for an option
        if self._run("add_user", "--", user, password, check=False).returncode != 0:
            self._run("change_password", "--", user, password)
        self._run("set_user_tags", user)  # no management, no administrator

    def set_permissions(self, vhost: str, user: str, configure: str, write: str, read: str) -> None:
        self._run("set_permissions", "-p", vhost, user, configure, write, read)

    def delete_user(self, user: str) -> None:
        self._run("delete_user", user, check=False)


class ManagementApi:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.base = (
            parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else ""))
            .geturl()
            .rstrip("/")
        )
        token = base64.b64encode(f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()).decode()
        self.authorization = f"Basic {token}"

    def _put(self, path: str, body: dict) -> None:
        request = urllib.request.Request(
            f"{self.base}/api/{path}",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Authorization": self.authorization, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30):
            pass

    def ensure_vhost(self, vhost: str) -> None:
        self._put(f"vhosts/{quote(vhost, safe='')}", {})

    def set_user(self, user: str, password: str) -> None:
        self._put(f"users/{quote(user, safe='')}", {"password": password, "tags": ""})

    def set_permissions(self, vhost: str, user: str, configure: str, write: str, read: str) -> None:
        path = f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}"
        self._put(path, {"configure": configure, "write": write, "read": read})


def provision_broker_user(
    admin: Rabbitmqctl | ManagementApi, broker_url: str, namespace: str, service: str
) -> Credentials:
    own = Credentials.of(broker_url, default_where="/")
    expected = f"{namespace}{service}"
    if own.user != expected:
        raise ValueError(f"{service}'s broker user must be {expected!r} (consumers check user_id against it)")
    if not own.password:
        raise ValueError(f"{service}'s broker URL has no password")
    admin.ensure_vhost(own.where)
    admin.set_user(own.user, own.password)
    admin.set_permissions(own.where, own.user, *broker_permissions(namespace, service))
    return own


def broker_admin(environ) -> Rabbitmqctl | ManagementApi | None:
    if api := environ.get("PROVISION_RABBITMQ_API", "").strip():
        return ManagementApi(api)
    if ctl := environ.get("PROVISION_RABBITMQCTL", "").strip():
        return Rabbitmqctl(shlex.split(ctl))
    return None


# ---------------------------------------------------------------- command


def provision(environ, services: tuple[str, ...] = SERVICES, say=print) -> int:
    admin_url = environ.get("PROVISION_DATABASE_URL", "").strip()
    namespace = environ.get("BUS_NAMESPACE", "").strip()
    broker = broker_admin(environ)
    done = 0
    for service in services:
        database_url = environ.get(f"{service.upper()}_DATABASE_URL", "").strip()
        if database_url.startswith("postgresql"):
            if not admin_url:
                raise SystemExit("PROVISION_DATABASE_URL (an administrator's connection) is not set")
            own = provision_database(admin_url, database_url)
            say(f"{service}: PostgreSQL role {own.user} owns database {own.where}, the only role allowed to connect")
            done += 1
        broker_url = environ.get(f"{service.upper()}_BROKER_URL", "").strip()
        if service in BROKER_SERVICES and broker_url.startswith("amqp"):
            if broker is None:
                raise SystemExit("PROVISION_RABBITMQCTL or PROVISION_RABBITMQ_API is not set")
            own = provision_broker_user(broker, broker_url, namespace, service)
            say(f"{service}: RabbitMQ user {own.user} on vhost {own.where}, its own queues and the events exchange")
            done += 1
    if not done:
        say("nothing to provision: no <SERVICE>_DATABASE_URL on PostgreSQL nor <SERVICE>_BROKER_URL on RabbitMQ set")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.provision", description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="SERVICE", help=f"of {', '.join(SERVICES)} (default: all)")
    args = parser.parse_args(argv)
    if unknown := set(args.services) - set(SERVICES):
        parser.error(f"unknown services: {', '.join(sorted(unknown))}")
    return provision(os.environ, tuple(args.services) or SERVICES)


if __name__ == "__main__":
    sys.exit(main())
