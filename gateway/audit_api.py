"""GET /api/audit: the audit trails of every service and of the gateway, merged into one time-ordered view.

Each source (the gateway's own accounts, then quota, enrollment, finance, evaluation) keeps its
trail in its own database and answers `GET /audit` newest first, keyset-paged on (at, id). This
route asks each source for a page after its position, merges them newest first (ties: source, then
id) and answers the first `limit`; the cursor of the next link carries each source's position (the
last entry of it that was answered, or "done"). `format=xlsx` downloads every matching entry.
Read only, for the federation admin and the auditor: no API changes or deletes an entry.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import g, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from servicekit import audit
from servicekit.audit_api import AuditEntryOut, AuditQuery
from servicekit.errors import NOT_FOUND, SERVICE_UNAVAILABLE, VALIDATION_FAILED, Problem
from servicekit.i18n import _
from servicekit.identity import AUDITOR, FEDERATION_ADMIN, HEADER, Identity, sign
from servicekit.service import Runtime
from servicekit.tabular import Column, export

from .guard import current_guard, require
from .models import audit_entries
from .upstreams import UpstreamError, Upstreams, current_upstreams

log = logging.getLogger(__name__)
blp = Blueprint("audit", __name__, url_prefix="/api", description="The audit trail of every service (审计日志)")

GATEWAY = "gateway"
FETCH_TIMEOUT = 10.0
EXPORT_PAGE = 500
EXPORT_MAX_ROWS = 200_000
FILTERS = ("entity_type", "entity_id", "actor_id", "action", "at_from", "at_to")
COLUMNS = [
    Column("at", "时间 At (UTC)"),
    Column("service", "服务 Service"),
    Column("actor_id", "操作人 Actor"),
    Column("actor_kind", "类型 Kind"),
    Column("actor_role", "角色 Role"),
    Column("actor_unit_id", "单位 Unit"),
    Column("action", "操作 Action"),
    Column("entity_type", "对象类型 Entity type"),
    Column("entity_id", "对象 Entity id"),
    Column("before", "原值 Before"),
    Column("after", "新值 After"),
    Column("reason", "理由 Reason"),
    Column("request_id", "请求编号 Request id"),
]


class MergedQuery(AuditQuery):
    cursor = fields.String(
        validate=validate.Length(max=2000), metadata={"description": "From the next link: each source's position"}
    )
    service = fields.String(
        validate=validate.Length(max=40), metadata={"description": "Only this source: gateway or a service's name"}
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "xlsx")),
        metadata={"description": "xlsx: every matching entry as a spreadsheet (paging ignored)"},
    )


class MergedEntryOut(AuditEntryOut):
    service = fields.String(metadata={"description": "Whose trail: gateway, quota, enrollment, finance, evaluation"})


@blp.route("/audit", methods=["GET"])
@blp.arguments(MergedQuery, location="query")
@blp.response(
    200,
    MergedEntryOut(many=True),
    description="JSON, or an .xlsx download with format=xlsx",
    headers={"Link": {"description": 'rel="next": the next page', "schema": {"type": "string"}}},
)
@blp.alt_response(403, description="Only the federation admin and the auditor read the audit trail")
@blp.alt_response(503, description="A service's trail cannot be read now (retry)")
def merged_audit(query):
    """Every decision of every service, newest first: who (user or machine client, role, unit), when, what
    (entity), old and new values, why. Filter by entity, actor, action, time; `limit` at most 500."""
    reader = Reader.of_request(require(FEDERATION_ADMIN, AUDITOR))
    sources = _sources(query.get("service"))
    for name in ("at_from", "at_to"):
        if query.get(name):
            try:
                query[name] = audit.as_utc(query[name])
            except OverflowError:
                raise Problem(VALIDATION_FAILED, errors={name: [_("Not a valid datetime.")]}) from None
    if query["format"] == "xlsx":
        return export(_every_entry(reader, sources, query), COLUMNS, "xlsx", "audit-trail")
    positions = _decode(query.get("cursor"), sources)
    entries, positions = merged_page(reader, sources, positions, query, query["limit"])
    headers = {}
    if any(position is not False for position in positions.values()):
        kept = {k: v for k, v in request.args.items() if k != "cursor"}
        headers["Link"] = f'<?{urlencode({**kept, "cursor": _encode(positions)})}>; rel="next"'
    return entries, 200, headers


def _sources(only: str | None) -> list[str]:
    everyone = [GATEWAY, *current_upstreams().services]
    if only is None:
        return everyone
    if only not in everyone:
        raise Problem(
            VALIDATION_FAILED, errors={"service": [_("Not one of: {names}.").format(names=", ".join(everyone))]}
        )
    return [only]


# A source's position: None (from the newest), a cursor of servicekit.audit (after that entry), False (done).
Position = str | None | bool


@dataclass(frozen=True)
class Reader:
    """What reading the trails needs, taken from the request (an export streams after it)."""

    identity: Identity
    upstreams: Upstreams
    request_id: str
    key: Ed25519PrivateKey
    runtime: Runtime
    context: contextvars.Context

    @classmethod
    def of_request(cls, identity: Identity) -> Reader:
        guard = current_guard()
        return cls(
            identity, current_upstreams(), g.request_id, guard.keys.identity, guard.runtime, contextvars.copy_context()
        )


def merged_page(
    reader: Reader, sources: list[str], positions: dict[str, Position], query: dict, limit: int
) -> tuple[list[dict], dict[str, Position]]:
    """The next `limit` entries of every source, newest first, and each source's position after them."""
    pages = _fetch_pages(reader, [s for s in sources if positions[s] is not False], positions, query, limit)
    candidates = [entry for entries, _more in pages.values() for entry in entries]
    candidates.sort(key=lambda e: (e["at"], _reverse(e["service"]), e["id"]), reverse=True)  # at: a datetime
    taken = candidates[:limit]
    moved = dict(positions)
    for source, (entries, more) in pages.items():
        mine = [e for e in taken if e["service"] == source]
        if len(mine) == len(entries) and not more:
            moved[source] = False
        elif mine:
            moved[source] = audit.encode_cursor(mine[-1]["at"], mine[-1]["id"])
    return taken, moved


def _reverse(name: str) -> tuple:
    """Sorting newest first reverses every key; ties between sources stay in name order."""
    return tuple(-ord(ch) for ch in name)


def _fetch_pages(
    reader: Reader, sources: list[str], positions: dict[str, Position], query: dict, limit: int
) -> dict[str, tuple[list[dict], bool]]:
    wanted = {name: query[name] for name in FILTERS if query.get(name) is not None}

    def fetch(source: str) -> tuple[list[dict], bool]:
        position = positions[source]
        page_query = {**wanted, "limit": limit, **({"cursor": position} if isinstance(position, str) else {})}
        if source == GATEWAY:
            with reader.runtime.sessions() as session:
                entries, following = audit.page(session, audit_entries, page_query)
            return [_as_json(e, source) for e in entries], following is not None
        return reader.context.copy().run(
            _fetch, reader.upstreams, source, page_query, reader.identity, reader.key, reader.request_id
        )

    with ThreadPoolExecutor(max_workers=max(len(sources), 1)) as pool:
        return dict(zip(sources, pool.map(fetch, sources)))


def _fetch(
    upstreams: Upstreams,
    service: str,
    page_query: dict,
    identity: Identity,
    key: Ed25519PrivateKey,
    request_id: str,
) -> tuple[list[dict], bool]:
    params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in page_query.items()}
    unavailable = _("The audit trail of {service} cannot be read now.").format(service=service)
    entries = signed_get(upstreams, service, "/audit", params, identity, key, request_id, unavailable)
    # The service answered `limit` entries at most; one more page exists when it gave a full one.
    return [_as_json(e, service) for e in entries], len(entries) >= page_query["limit"]


def signed_get(
    upstreams: Upstreams,
    service: str,
    path: str,
    params: dict,
    identity: Identity,
    key: Ed25519PrivateKey,
    request_id: str,
    unavailable: str,
    not_found: str | None = None,
):
    """A service's JSON answer to a GET the gateway makes itself for the caller: signed for this one request to
    this one service, as the proxy signs what it forwards. 503 (`unavailable`) when the service cannot answer;
    404 (`not_found`) when given and the service has no such thing."""
    header = sign(identity, key, audience=service, method="GET", path=path, request_id=request_id)
    headers = {"Accept": "application/json", "X-Request-ID": request_id, HEADER: header}
    target = f"{path}?{urlencode(params)}" if params else path
    try:
        status, body = upstreams.fetch(service, target, headers, FETCH_TIMEOUT)
    except UpstreamError as exc:
        log.warning("upstream unavailable", extra={"upstream_service": service, "error": exc.detail})
        raise Problem(SERVICE_UNAVAILABLE, unavailable) from None
    if status == 404 and not_found is not None:
        raise Problem(NOT_FOUND, not_found)
    if status != 200:
        log.warning("upstream unavailable", extra={"upstream_service": service, "upstream_status": status})
        raise Problem(SERVICE_UNAVAILABLE, unavailable)
    return json.loads(body)


def _as_json(entry: dict, source: str) -> dict:
    at = entry["at"]
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return {**entry, "at": audit.as_utc(moment), "service": source}


def _every_entry(reader: Reader, sources: list[str], query: dict) -> Iterator[dict]:
    """Every matching entry, newest first, page after page (read while the file is written)."""
    positions: dict[str, Position] = {source: None for source in sources}
    written = 0
    while any(position is not False for position in positions.values()) and written < EXPORT_MAX_ROWS:
        entries, positions = merged_page(reader, sources, positions, query, EXPORT_PAGE)
        for entry in entries:
            written += 1
            yield {
                **entry,
                "before": _text(entry.get("before")),
                "after": _text(entry.get("after")),
            }
        if not entries:
            break


def _text(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _encode(positions: dict[str, Position]) -> str:
    text = json.dumps(positions, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str | None, sources: list[str]) -> dict[str, Position]:
    if not cursor:
        return {source: None for source in sources}
    try:
        positions = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(positions, dict) or set(positions) != set(sources):
            raise ValueError("sources")
        for position in positions.values():
            if isinstance(position, str):
                audit.decode_cursor(position)
            elif position not in (None, False):
                raise ValueError("position")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, Problem):
        raise Problem(VALIDATION_FAILED, errors={"cursor": [_("Not a cursor this list gave.")]}) from None
    return positions
