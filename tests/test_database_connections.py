"""Pooled PostgreSQL connections checked after a rest, not before every transaction; keys read by one statement."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Column, MetaData, String, Table, event, select, text

from servicekit.db import PING_AFTER_REST_SECONDS, among, make_engine

pytestmark = pytest.mark.servers


@pytest.fixture
def engine_and_pings(make_database, monkeypatch):
    engine = make_engine(make_database("pool"))
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(1) or ping(connection))
    yield engine, pings
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_used_a_moment_ago_goes_back_to_work_without_a_ping(engine_and_pings):
    engine, pings = engine_and_pings
    first = backend_pid(engine)
    assert [backend_pid(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_a_connection_that_rested_is_pinged_and_replaced_if_the_server_dropped_it(engine_and_pings):
    engine, pings = engine_and_pings
    dropped = backend_pid(engine)
    time.sleep(PING_AFTER_REST_SECONDS + 0.2)
    assert backend_pid(engine) == dropped and pings == [1]  # alive: kept

    admin = make_engine(engine.url.render_as_string(hide_password=False))
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped}).scalar_one()
    admin.dispose()
    time.sleep(PING_AFTER_REST_SECONDS + 0.2)
    replacement = backend_pid(engine)  # no error reaches the caller: the pool connected anew
    assert replacement != dropped and pings == [1, 1]


def test_among_reads_any_number_of_keys_with_one_statement_text(engine_and_pings, tmp_path):
    statements = []
    engines = (engine_and_pings[0], make_engine(f"sqlite:///{tmp_path / 'among.db'}"))
    for engine in engines:
        table = Table("keyed", MetaData(), Column("key", String(36), primary_key=True))
        table.create(engine)
        keys = [f"k{n:03}" for n in range(300)]
        with engine.begin() as db:
            db.execute(table.insert(), [{"key": key} for key in keys])
        texts: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: texts.append(sql))
        with engine.connect() as db:
            for wanted in (keys[:3], keys[:300], ["k001", "absent"], []):
                found = db.scalars(select(table.c.key).where(among(db, table.c.key, wanted))).all()
                assert sorted(found) == sorted(set(wanted) & set(keys))
        statements.append(len(set(texts)))
        table.drop(engine)
    engines[1].dispose()
    assert statements[0] == 1  # PostgreSQL: one array parameter, whatever the count
    assert statements[1] > 1  # SQLite: an IN list, as long as the keys
