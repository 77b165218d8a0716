"""Idempotency keys for requests that move money (IETF httpapi draft "The Idempotency-Key HTTP Header Field").

The client sends `Idempotency-Key: "<a new unique value>"` with each such request, and the same
value again when it retries that request. The key belongs to the caller (the verified identity's
subject: two callers never collide) and is kept in the service's own database with a fingerprint
of the request (SHA-256 of its method, path and body):

- the first request with a key runs; its successful answer (status, body, Content-Type and
  Location) is stored in the same transaction as everything the request changed, so a stored
  answer means the change happened and a change never happens without its answer;
- the same key with the same request answers the stored answer again (`Idempotent-Replayed: true`)
  and changes nothing;
- the same key with a different request: 422 `idempotency_key_reused`;
- the same key while the first request still runs: 409 `idempotency_request_in_flight`;
- a refused or failed request changed nothing and keeps nothing: the key may be sent again;
- a key expires `IDEMPOTENCY_KEY_TTL_SECONDS` (24 h) after its first use; the worker's
  housekeeping deletes expired keys.

Concurrency is settled by the database: the key's row (primary key: caller and key) is claimed
with an INSERT in a short transaction of its own, and the request's work runs in a second
transaction that first locks that row and last records the answer in it. A claim whose request
died (its transaction rolled back) is taken over after `IDEMPOTENCY_LEASE_SECONDS`; the lock makes
a takeover wait for a request that is still alive, so two executions never both commit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import Response, g, request
from flask_smorest import Blueprint
from sqlalchemy import (
    JSON,
    Column,
    CursorResult,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from .db import upsert, utcnow
from .errors import Problem, define_problem

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# What a stored answer carries besides its status and body.
KEPT_HEADERS = ("Content-Type", "Location")
MAX_KEY_LENGTH = 255
KEY_PATTERN = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}\Z")

KEY_REQUIRED = define_problem(
    "idempotency_key_required",
    400,
    "This request moves money: send an Idempotency-Key header",
    "此请求涉及资金，须带 Idempotency-Key 请求头",
)
KEY_INVALID = define_problem(
    "idempotency_key_invalid",
    400,
    "The Idempotency-Key must be 1-255 printable ASCII characters",
    "Idempotency-Key 须为 1-255 个可打印 ASCII 字符",
)
KEY_REUSED = define_problem(
    "idempotency_key_reused",
    422,
    "This Idempotency-Key was already used for a different request",
    "该幂等键已用于另一不同的请求",
)
IN_FLIGHT = define_problem(
    "idempotency_request_in_flight",
    409,
    "A request with this Idempotency-Key is still being processed",
    "使用该幂等键的请求仍在处理中",
)


def add_idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(200), primary_key=True),  # the caller's subject
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("state", String(10), nullable=False),  # running | done
        Column("lease", String(36)),  # the running execution's own id; none once done
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
        Column("status", Integer),
        Column("headers", JSON),
        Column("body", Text),
    )


@dataclass(frozen=True)
class Stored:
    """A successful answer, as first given."""

    status: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Claim:
    """The right to run the request once: held while `lease` is the row's."""

    scope: str
    key: str
    lease: str


class KeyReused(Exception):
    pass


class InFlight(Exception):
    pass


def fingerprint(method: str, target: str, body: bytes) -> str:
    """SHA-256 of the request; a JSON body counts by its content, not its spacing or key order."""
    try:
        content = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        content = body
    return hashlib.sha256(method.upper().encode() + b"\n" + target.encode() + b"\n" + content).hexdigest()


class IdempotencyKeys:
    """The idempotency keys of one service's database."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session], table: Table, ttl: timedelta, lease: timedelta):
        self.engine, self.sessions, self.table, self.ttl, self.lease = engine, sessions, table, ttl, lease

    def run_once(
        self, scope: str, key: str, fingerprint: str, work: Callable[[Session], Stored]
    ) -> tuple[Stored, bool]:
        """(the answer, whether it is a replay). `work(session)` runs at most once per scope and key, in a
        transaction that commits its changes with the answer it returns; if it raises, nothing is kept.
        Raises KeyReused or InFlight."""
        outcome = self.claim(scope, key, fingerprint)
        if isinstance(outcome, Stored):
            return outcome, True
        session = self.sessions()
        try:
            # The transaction's first statement (on SQLite it also begins it, so that the units of work's
            # savepoints nest inside it rather than commit on their own).
            self.hold(session, outcome)
            answer = work(session)
            self.complete(session, outcome, answer)
            session.commit()
        except BaseException:
            session.rollback()
            self.release(outcome)
            raise
        finally:
            session.close()
        return answer, False

    def claim(self, scope: str, key: str, fingerprint: str) -> Claim | Stored:
        """A claim to run the request, or the answer it already had. Raises KeyReused or InFlight."""
        t = self.table
        for _attempt in range(3):  # a row changing under us (expired, taken over) is looked at again
            now, lease = utcnow(), str(uuid.uuid4())
            with self.engine.begin() as db:
                fresh = {
                    "fingerprint": fingerprint,
                    "state": "running",
                    "lease": lease,
                    "started_at": now,
                    "expires_at": now + self.ttl,
                    "status": None,
                    "headers": None,
                    "body": None,
                }
                inserted = db.execute(
                    upsert(db, t)
                    .values(scope=scope, key=key, **fresh)
                    .on_conflict_do_nothing(index_elements=["scope", "key"])
                    .returning(t.c.key)
                ).first()
                if inserted:
                    return Claim(scope, key, lease)
                row = db.execute(select(t).where(t.c.scope == scope, t.c.key == key)).first()
                if row is None:
                    continue  # expired and deleted meanwhile
                same = (t.c.scope == scope) & (t.c.key == key)
                if _aware(row.expires_at) <= now:  # an expired key is a new key
                    if db.execute(update(t).where(same, t.c.expires_at == row.expires_at).values(fresh)).rowcount:
                        return Claim(scope, key, lease)
                    continue
                if row.fingerprint != fingerprint:
                    raise KeyReused()
                if row.state == "done":
                    return Stored(row.status, row.headers, row.body)
                if _aware(row.started_at) > now - self.lease:
                    raise InFlight()
                # The claim outlived any request: its process died. Waits for a still-living one's lock.
                taken = update(t).where(same, t.c.state == "running", t.c.lease == row.lease)
                if db.execute(taken.values(lease=lease, started_at=now)).rowcount:
                    return Claim(scope, key, lease)
        raise InFlight()

    def hold(self, session: Session, claim: Claim) -> None:
        """The first statement of the request's transaction: the claim is still ours, and locked till the end."""
        if not cast(CursorResult, session.execute(self._mine(claim).values(lease=claim.lease))).rowcount:
            raise InFlight()

    def complete(self, session: Session, claim: Claim, answer: Stored) -> None:
        """In the request's transaction: the answer, committed with the changes it reports."""
        done = self._mine(claim).values(
            state="done", lease=None, status=answer.status, headers=answer.headers, body=answer.body
        )
        if not cast(CursorResult, session.execute(done)).rowcount:
            raise InFlight()

    def release(self, claim: Claim) -> None:
        """The request changed nothing: forget the key, so that it may be sent again."""
        with self.engine.begin() as db:
            db.execute(delete(self.table).where(*self._is_mine(claim)))

    def purge(self, now: datetime | None = None) -> int:
        """Delete the expired keys; how many."""
        with self.engine.begin() as db:
            return db.execute(delete(self.table).where(self.table.c.expires_at <= (now or utcnow()))).rowcount

    def _is_mine(self, claim: Claim):
        t = self.table
        return t.c.scope == claim.scope, t.c.key == claim.key, t.c.lease == claim.lease

    def _mine(self, claim: Claim):
        return update(self.table).where(*self._is_mine(claim))


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


# --- HTTP -------------------------------------------------------------------------------------------


def parse_key(header: str | None) -> str:
    """The key from the header: a Structured Field string (RFC 8941, `"..."`), or the bare value."""
    value = (header or "").strip()
    if not value:
        raise Problem(KEY_REQUIRED, f"Send a new unique {HEADER} with each request, the same one with its retries.")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\([\"\\])", r"\1", value[1:-1])
    if not KEY_PATTERN.match(value):
        raise Problem(KEY_INVALID)
    return value


KEY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH + 2},
    "description": "A new unique value (e.g. a UUID) for each request; the same value when retrying it. "
    "Kept 24 hours per caller. The same key with the same request answers the first answer again "
    f"(header `{REPLAYED_HEADER}: true`) and changes nothing.",
}


def _problem_doc(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


KEY_RESPONSES = {
    "400": _problem_doc("`idempotency_key_required`: no Idempotency-Key header; `idempotency_key_invalid`"),
    "409": _problem_doc("`idempotency_request_in_flight`: a request with this key is still running (or a conflict)"),
    "422": _problem_doc("`idempotency_key_reused`: the key was used for a different request (or invalid input)"),
}


def idempotent(view):
    """Endpoint decorator: the request runs once per caller and Idempotency-Key.

    Place it under `@blp.route` and `@requires(...)` (a caller without the role is refused first), above
    `@blp.arguments` and `@blp.response`: what it stores and replays is the serialised answer.
    """
    from .app import runtime
    from .identity import current_identity

    @functools.wraps(view)
    def once(*args, **kwargs):
        scope = current_identity().subject
        key = parse_key(request.headers.get(HEADER))
        target = request.full_path if request.query_string else request.path
        first: list[Response] = []

        def answer(session: Session) -> Stored:
            g.request_transaction = session  # servicekit.unit_of_work() joins it
            try:
                response = view(*args, **kwargs)
            finally:
                g.pop("request_transaction", None)
            if not 200 <= response.status_code < 300:
                raise _Refused(response)
            first.append(response)
            kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
            return Stored(response.status_code, kept, response.get_data(as_text=True))

        keys = runtime().idempotency_keys
        if keys is None:
            raise RuntimeError("the service's metadata has no idempotency_keys table (add_idempotency_table)")
        try:
            stored, replayed = keys.run_once(
                scope, key, fingerprint(request.method, target, request.get_data()), answer
            )
        except KeyReused:
            raise Problem(KEY_REUSED, f"Send a new {HEADER} for a new request.") from None
        except InFlight:
            raise Problem(IN_FLIGHT, headers={"Retry-After": "1"}) from None
        except _Refused as refused:
            return refused.response
        if replayed:
            return Response(stored.body, stored.status, {**stored.headers, REPLAYED_HEADER: "true"})
        first[0].headers[REPLAYED_HEADER] = "false"
        return first[0]

    # flask-smorest reads a view's documentation from this attribute of the function it registers.
    once._apidoc = Blueprint.doc(parameters=[KEY_PARAMETER], responses=KEY_RESPONSES)(view)._apidoc  # type: ignore[attr-defined]
    return once


class _Refused(Exception):
    def __init__(self, response: Response):
        self.response = response
