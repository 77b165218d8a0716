"""Idempotency-Key (IETF httpapi draft) on the kit's probe service, embedded (SQLite, no servers).

The money-moving endpoints of finance and evaluation use the same decorator; their tests prove it on
PostgreSQL with concurrent callers (services/finance/tests/test_idempotency.py).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from servicekit import Runtime, create_app
from servicekit.idempotency import fingerprint
from servicekit.migrations import upgrade
from servicekit.testing import as_caller
from tests.probe.models import Note, idempotency_keys, outbox
from tests.probe.service import SERVICE


@pytest.fixture
def probe(tmp_path, monkeypatch):
    def start(**env) -> tuple:
        for name in ("PROBE_DATABASE_URL", "BROKER_URL", "BUS_NAMESPACE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runtime = Runtime(SERVICE)
        upgrade(runtime)
        runtimes.append(runtime)
        app = create_app(SERVICE, runtime)
        return runtime, app.test_client(), lambda subject: as_caller(app, "institution_operator", subject, **SCOPE)

    runtimes: list[Runtime] = []
    yield start
    for runtime in runtimes:
        runtime.engine.dispose()


SCOPE = {"institution_id": "GZ-ZGJS"}


def count(runtime: Runtime, what) -> int:
    with runtime.engine.connect() as db:
        return db.execute(select(func.count()).select_from(what)).scalar_one()


def post(client, caller: dict, idempotency_key: str | None, **body):
    headers = {**caller, **({"Idempotency-Key": idempotency_key} if idempotency_key is not None else {})}
    return client.post("/paid-notes", json={"key": "n", **body}, headers=headers)


def test_a_retry_answers_the_first_answer_and_writes_nothing(probe):
    runtime, client, caller = probe()
    first = post(client, caller("alice"), "k-1")
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    again = post(client, caller("alice"), '"k-1"')  # the draft's Structured Field string: the same key
    assert (again.status_code, again.get_json(), again.headers["Location"]) == (
        201,
        first.get_json(),
        first.headers["Location"],
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (count(runtime, Note), count(runtime, outbox)) == (1, 1)


def test_the_key_is_the_callers_own_and_binds_the_request(probe):
    runtime, client, caller = probe()
    mine = post(client, caller("alice"), "k-1")
    theirs = post(client, caller("bob"), "k-1")  # another caller, the same key: a request of their own
    assert theirs.status_code == 201 and theirs.get_json() != mine.get_json()
    other = post(client, caller("alice"), "k-1", key="another note")
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")
    assert count(runtime, Note) == 2


def test_a_money_request_without_a_well_formed_key_is_refused(probe):
    runtime, client, caller = probe()
    missing = post(client, caller("alice"), None)
    assert (missing.status_code, missing.mimetype, missing.get_json()["code"]) == (
        400,
        "application/problem+json",
        "idempotency_key_required",
    )
    for bad in ("键", "x" * 256, '""'):
        assert post(client, caller("alice"), bad).get_json()["code"] == "idempotency_key_invalid", bad
    assert client.post("/paid-notes", json={"key": "n"}, headers={"Idempotency-Key": "k"}).status_code == 401
    assert count(runtime, Note) == 0


def test_a_refused_or_failed_request_keeps_nothing_and_its_key_may_be_sent_again(probe):
    runtime, client, caller = probe()
    refused = post(client, caller("alice"), "k-1", refuse=True)
    assert refused.status_code == 409 and refused.get_json()["code"] == "conflict"
    # failing after its unit of work committed: the changes and the answer commit together, or neither
    failed = post(client, caller("alice"), "k-1", fail_after_commit=True)
    assert failed.status_code == 500
    assert (count(runtime, Note), count(runtime, outbox), count(runtime, idempotency_keys)) == (0, 0, 0)
    assert post(client, caller("alice"), "k-1").status_code == 201
    assert count(runtime, Note) == 1


def test_a_request_still_running_is_not_run_twice_and_a_dead_ones_claim_is_taken_over(probe):
    runtime, client, caller = probe(IDEMPOTENCY_LEASE_SECONDS="1")
    # a request that claimed the key and then died with its process (its transaction never committed)
    request = fingerprint("POST", "/paid-notes", b'{"key": "n"}')
    runtime.idempotency_keys.claim("alice", "k-1", request)
    running = post(client, caller("alice"), "k-1")
    assert (running.status_code, running.get_json()["code"]) == (409, "idempotency_request_in_flight")
    assert running.headers["Retry-After"] == "1"
    time.sleep(1.1)  # the lease of a claim: longer than any request runs
    assert post(client, caller("alice"), "k-1").status_code == 201
    assert post(client, caller("alice"), "k-1").headers["Idempotent-Replayed"] == "true"
    assert count(runtime, Note) == 1


def test_keys_expire_and_are_purged(probe):
    runtime, client, caller = probe(IDEMPOTENCY_KEY_TTL_SECONDS="1")
    post(client, caller("alice"), "k-1")
    time.sleep(1.1)
    assert post(client, caller("alice"), "k-1", key="a new note").status_code == 201  # an expired key is new
    post(client, caller("bob"), "k-2")
    time.sleep(1.1)
    assert runtime.idempotency_keys.purge() == 2
    assert count(runtime, idempotency_keys) == 0
