"""A unit of work's own bookkeeping (outbox, saga waits, audit trail) on PostgreSQL: held, then sent as one
statement before the transaction's next statement or its commit; at once inside a savepoint."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import MetaData, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from servicekit.audit import add_audit_table, entry
from servicekit.bus.tables import add_messaging_tables
from servicekit.db import UnitOfWork, UnitSession, make_engine
from servicekit.sagas import add_saga_table

pytestmark = pytest.mark.servers


@pytest.fixture
def bookkeeping(make_database):
    metadata = MetaData()
    outbox, _ = add_messaging_tables(metadata)
    waits, audit = add_saga_table(metadata), add_audit_table(metadata)
    engine = make_engine(make_database("unit_of_work"))
    metadata.create_all(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))

    def unit_of_work(session_class: type[Session] = UnitSession) -> UnitOfWork:
        return UnitOfWork(sessionmaker(engine, class_=session_class), outbox, "enrollment", waits, audit_entries=audit)

    def counts() -> tuple[int, int, int]:
        with engine.connect() as db:
            return tuple(db.execute(select(func.count()).select_from(t)).scalar_one() for t in (outbox, waits, audit))

    yield unit_of_work, counts, statements, audit
    engine.dispose()


CAMPAIGN = "0f6c2a8e-7a55-4c39-9d0e-3c1f2b4a5d61"


def enrolment_id(n: int) -> str:
    return str(uuid.UUID(int=n))


def decision(n: int = 1) -> dict:
    return entry("enrollment.requested", "enrolment", enrolment_id(n), after={"status": "requested"})


def requested(n: int = 1) -> dict:
    return {
        "enrolment_id": enrolment_id(n),
        "revision": 1,
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": "GZ-YX",
        "grassroots_union_id": "GZ-YX-G1",
        "institution_id": "GZ-ZGJS",
        "programme_id": "ZGJS-DG-4",
        "amount": "940.00",
        "requested_on": "2026-12-04",
    }


def ask(uow: UnitOfWork, n: int = 1) -> None:
    """What a registration writes beside its own row: the request, the wait for its answer, the decision."""
    uow.publish("enrollment.requested", requested(n))
    uow.await_answer("registration", enrolment_id(n))
    uow.audit_all([decision(n)])


def test_the_three_inserts_of_a_request_are_one_statement_sent_at_commit(bookkeeping):
    unit_of_work, counts, statements, _ = bookkeeping
    with unit_of_work() as uow:
        ask(uow)
        assert statements == [], "held"
        uow.commit()
    inserts = [s for s in statements if "INSERT" in s]
    assert len(inserts) == 1 and inserts[0].count("INSERT INTO") == 3
    assert counts() == (1, 1, 1)


def test_a_read_in_the_transaction_sees_what_is_held(bookkeeping):
    unit_of_work, counts, _, audit = bookkeeping
    with unit_of_work() as uow:
        ask(uow)
        assert uow.session.execute(select(audit.c.entity_id)).scalars().all() == [enrolment_id(1)]
        uow.commit()
    assert counts() == (1, 1, 1)


def test_leaving_without_commit_writes_nothing_held(bookkeeping):
    unit_of_work, counts, statements, _ = bookkeeping
    with pytest.raises(RuntimeError), unit_of_work() as uow:
        ask(uow)
        raise RuntimeError("the use case failed")
    assert statements == [] and counts() == (0, 0, 0)


def test_a_savepoint_rolled_back_takes_back_what_it_added_and_keeps_what_was_held_before(bookkeeping):
    unit_of_work, counts, _, _ = bookkeeping
    with unit_of_work() as uow:
        ask(uow, 1)
        savepoint = uow.session.begin_nested()
        ask(uow, 2)
        savepoint.rollback()
        uow.commit()
    assert counts() == (1, 1, 1)


def test_a_batch_of_rows_goes_on_its_own_and_single_rows_together(bookkeeping):
    unit_of_work, counts, statements, _ = bookkeeping
    with unit_of_work() as uow:
        uow.audit_all([decision(n) for n in range(1, 4)])  # a batch's decisions
        ask(uow, 4)
        uow.commit()
    inserts = [s for s in statements if "INSERT" in s]
    assert len(inserts) == 2 and inserts[0].startswith("INSERT INTO audit_entries")
    assert inserts[1].startswith("WITH") and inserts[1].count("INSERT INTO") == 3
    assert counts() == (1, 1, 4)


def test_a_session_that_cannot_hold_sends_each_insert_at_once(bookkeeping):
    unit_of_work, counts, statements, _ = bookkeeping
    with unit_of_work(Session) as uow:  # a plain session: a savepoint would not send what is held first
        ask(uow)
        assert [s.split()[2] for s in statements if s.startswith("INSERT")] == ["outbox", "saga_waits", "audit_entries"]
        uow.commit()
    assert counts() == (1, 1, 1)
