"""What a service declares about itself, and the runtime built from it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import Session, sessionmaker

from .bus.envelope import Envelope
from .closing import ClosedCampaigns, refuse_writes
from .columns import guard_columns
from .config import Settings, load_settings
from .db import JoinedUnitOfWork, UnitOfWork, UnitSession, make_engine
from .idempotency import IdempotencyKeys
from .keys import check_environment, secret
from .refusals import DomainError
from .sagas import Saga
from .tracing import Tracer, tracer_for

Handler = Callable[[UnitOfWork, Envelope], None]


@dataclass(frozen=True)
class Batched:
    """A handler taking, in one call, the new events of its type that arrive one after another in a batch
    (servicekit.bus.consumer), in delivery order: one statement can then write what each event would have.

    Called with one event it is a handler like any other (the consumer's event-by-event fallback, tests).
    Events handled together have no correlation or causation of their own set while handling: a batched
    handler publishes nothing, or names each answer's cause (UnitOfWork.publish_caused).
    """

    handle: Callable[[UnitOfWork, list[Envelope]], None]

    def __call__(self, uow: UnitOfWork, envelope: Envelope) -> None:
        self.handle(uow, [envelope])


def each_once(events: list[Envelope], field: str = "enrolment_id") -> list[list[Envelope]]:
    """A Batched handler's events in delivery order, cut into runs where each `field` value appears once (none
    for no events): what one statement per table writes for a run, a later event of the same row sees."""
    runs: list[list[Envelope]] = []
    seen: set = set()
    for event in events:
        if not runs or event.data[field] in seen:
            runs.append([])
            seen.clear()
        runs[-1].append(event)
        seen.add(event.data[field])
    return runs


@dataclass(frozen=True)
class Command:
    """A service's own operator command, beside servicekit's migrate/worker/deadletters/revision."""

    help: str
    run: Callable[[Runtime, argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


@dataclass
class Service:
    """A service's parts: its tables, migrations, HTTP blueprints and event handlers."""

    name: str
    title: str
    metadata: MetaData
    migrations: Path
    blueprints: Callable[[], list] = lambda: []
    handlers: dict[str, Handler] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    sagas: tuple[Saga, ...] = ()  # the requests it awaits answers to (its metadata then has saga_waits)
    # Plain exceptions of its pure rules and the refusal (servicekit.refusals) the HTTP layer answers each as;
    # the exception's text is the detail, its `errors` attribute (if any) the field errors. Refusals themselves
    # (DomainError) need no entry: servicekit.errors answers every one of them.
    domain_errors: dict[type[Exception], type[DomainError]] = field(default_factory=dict)
    keys: tuple[
        str, ...
    ] = ()  # the secrets it holds (servicekit.keys.SECRETS): loaded at start, so one missing stops it
    # How it tells a closed campaign: HTTP writes to one are then refused (servicekit.closing); a function,
    # as the models' columns are known once its modules are imported.
    closed_campaigns: Callable[[], ClosedCampaigns] | None = None
    # What it holds about one employee, part by part (servicekit.subject_access: GET /me/data); None: nothing.
    personal_data: Callable[[Session, str], dict[str, list[dict]]] | None = None


class Runtime:
    """Settings, database and unit-of-work factory for one process of a service."""

    def __init__(self, service: Service, settings: Settings | None = None):
        self.service = service
        check_environment()  # production mode: retired, short, reused keys and default passwords stop the start
        self.settings = settings or load_settings(service.name)
        self.settings.prepare_local_folders()
        for variable in service.keys:
            secret(self.settings.var_dir, variable)
        self.engine = make_engine(self.settings.database_url)
        self.sessions = sessionmaker[Session](self.engine, class_=UnitSession, expire_on_commit=False)
        guard_columns(self.sessions)
        if service.closed_campaigns is not None:
            refuse_writes(self.sessions, service.closed_campaigns())

    @cached_property
    def tracer(self) -> Tracer | None:
        """The service's tracer when the OTEL_* settings turn tracing on (servicekit.tracing), else None."""
        return tracer_for(self.service.name)

    @cached_property
    def outbox(self) -> Table:
        return self.service.metadata.tables["outbox"]

    @cached_property
    def inbox(self) -> Table:
        return self.service.metadata.tables["inbox"]

    @cached_property
    def saga_waits(self) -> Table | None:
        return self.service.metadata.tables.get("saga_waits")

    @cached_property
    def audit_entries(self) -> Table | None:
        """The audit trail of a service whose metadata has it (servicekit.audit.add_audit_table)."""
        return self.service.metadata.tables.get("audit_entries")

    @cached_property
    def idempotency_keys(self) -> IdempotencyKeys | None:
        """For services whose metadata has the table (servicekit.idempotency.add_idempotency_table)."""
        table = self.service.metadata.tables.get("idempotency_keys")
        if table is None:
            return None
        ttl, lease = self.settings.idempotency_key_ttl_seconds, self.settings.idempotency_lease_seconds
        return IdempotencyKeys(self.engine, self.sessions, table, timedelta(seconds=ttl), timedelta(seconds=lease))

    def unit_of_work(self, joined: Session | None = None) -> UnitOfWork:
        """A unit of work of its own, or part of the `joined` transaction (servicekit.idempotency's)."""
        waits = (self.saga_waits, timedelta(seconds=self.settings.sagas.reask_seconds), self.audit_entries)
        if joined is not None:
            return JoinedUnitOfWork(joined, self.outbox, self.service.name, *waits)
        return UnitOfWork(self.sessions, self.outbox, self.service.name, *waits)
