"""GET /api/audit: the audit trails of every service and of the gateway, merged into one time-ordered view.

Each source (the gateway's own accounts, then quota, enrollment, finance, evaluation) keeps its
trail in its own database and answers `GET /audit` as every list answers (servicekit.paging, the
declaration servicekit.audit_api.AUDIT_TRAIL). This route takes the same query (limit, cursor,
sort at/id, `-at` by default, count, filters, at_from/at_to) plus `service` and `format`: it asks
each source for a page after its position, merges them in the sort's order (ties: source name, then
id) and answers the first `limit`; the cursor of the next link carries the sort and each source's
position (its own cursor after the last entry of it that was answered, or "done"); count=true sums
the sources' counts (limit=0: only that sum, each source asked for its count alone). `format=xlsx`
downloads every matching entry. Read only, for the federation admin and the auditor: no API changes
or deletes an entry.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from flask_smorest import Blueprint
from marshmallow import fields, validate

from servicekit import audit
from servicekit.audit_api import AUDIT_TRAIL, AuditEntryOut, in_utc, trail_window
from servicekit.errors import VALIDATION_FAILED, Problem
from servicekit.i18n import _
from servicekit.identity import AUDITOR, FEDERATION_ADMIN
from servicekit.paging import next_link
from servicekit.tabular import Column, export

from .fanout import Reader
from .guard import require
from .upstreams import current_upstreams

log = logging.getLogger(__name__)
blp = Blueprint("audit", __name__, url_prefix="/api", description="The audit trail of every service (审计日志)")

GATEWAY = "gateway"
EXPORT_PAGE = 500
EXPORT_MAX_ROWS = 200_000
FILTERS = ("entity_type", "entity_id", "actor_id", "actor_kind", "action", "at_from", "at_to")
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


class MergedQuery(AUDIT_TRAIL.query):  # type: ignore[name-defined,misc]
    cursor = fields.String(
        validate=validate.Length(min=1, max=4000),
        metadata={"description": 'From the Link rel="next" of the previous answer: each source\'s position'},
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
@blp.response(200, MergedEntryOut(many=True), description="JSON, or an .xlsx download with format=xlsx")
@blp.alt_response(403, description="Only the federation admin and the auditor read the audit trail")
@blp.alt_response(503, description="A service's trail cannot be read now (retry)")
def merged_audit(query):
    """Every decision of every service, newest first unless `sort` says otherwise: who (user or machine client, role, unit),
    when, what (entity), old and new values, why. Filter by entity, actor, action, time; `limit` at most 500."""
    reader = Reader.of_request(require(FEDERATION_ADMIN, AUDITOR))
    sources = _sources(query.get("service"))
    query = in_utc(query)
    if query["format"] == "xlsx":
        return export(_every_entry(reader, sources, query), COLUMNS, "xlsx", "audit-trail")
    positions = _decode(query.get("cursor"), sources, query["sort"])
    counted = query["count"] or query["limit"] == 0  # limit=0: the count only
    entries, positions, total = merged_page(reader, sources, positions, query, query["limit"], count=counted)
    headers = {}
    if total is not None:
        headers["X-Total-Count"] = str(total)
    if any(position is not False for position in positions.values()):
        headers["Link"] = next_link(_encode(query["sort"], positions))
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


# A source's position: None (from its first entry), its own cursor (AUDIT_TRAIL's: after that entry), False (done).
Position = str | None | bool


def merged_page(
    reader: Reader, sources: list[str], positions: dict[str, Position], query: dict, limit: int, *, count: bool = False
) -> tuple[list[dict], dict[str, Position], int | None]:
    """The next `limit` entries of every source in the sort's order, each source's position after them, and (with
    `count`) how many entries match in all the sources."""
    sort = query["sort"]
    pages = _fetch_pages(reader, sources, positions, query, limit, count)
    descending, key = sort.startswith("-"), sort.lstrip("-")

    def order(entry: dict) -> tuple:
        return (entry[key], _reverse(entry["service"]) if descending else entry["service"], entry["id"])

    # Each source's page is in that order already: a merge takes a prefix of each.
    streams = [page.entries for page in pages.values()]
    taken = list(islice(heapq.merge(*streams, key=order, reverse=descending), limit))
    moved = dict(positions)
    for source, page in pages.items():
        if positions[source] is False:
            continue
        mine = [e for e in taken if e["service"] == source]
        if len(mine) == len(page.entries) and not page.more:
            moved[source] = False
        elif mine:
            values = [mine[-1]["id"]] if key == "id" else [mine[-1][key], mine[-1]["id"]]
            moved[source] = AUDIT_TRAIL.cursor_after(sort, values)
    total = sum(page.total or 0 for page in pages.values()) if count else None
    return taken, moved, total


def _reverse(name: str) -> tuple:
    """Sorting in descending order reverses every key; ties between sources stay in name order."""
    return tuple(-ord(ch) for ch in name)


@dataclass(frozen=True)
class SourcePage:
    entries: list[dict]
    more: bool  # the source has entries after these
    total: int | None = None  # with count: how many match in the source


def _fetch_pages(
    reader: Reader, sources: list[str], positions: dict[str, Position], query: dict, limit: int, count: bool
) -> dict[str, SourcePage]:
    """Each source's page after its position (a source done is only asked its count, limit=0, when counting)."""
    wanted = {name: query[name] for name in FILTERS if query.get(name) is not None}
    asked = [source for source in sources if count or positions[source] is not False]

    def fetch(source: str) -> SourcePage:
        position = positions[source]
        page_query = {**wanted, "sort": query["sort"], "limit": limit if position is not False else 0}
        if isinstance(position, str):
            page_query["cursor"] = position
        if count:
            page_query["count"] = True
        if source == GATEWAY:
            with reader.runtime.sessions() as session:
                entries, following, total = trail_window(session, page_query)
            page = SourcePage([_as_json(e, source) for e in entries], following is not None, total)
        else:
            page = _fetch(reader, source, page_query)
        return page if position is not False else SourcePage([], False, page.total)

    return dict(zip(asked, reader.each(fetch, asked)))


def _total(header: str | None) -> int | None:
    return int(header) if header is not None and header.isdigit() else None


def _fetch(reader: Reader, service: str, page_query: dict) -> SourcePage:
    params = {
        k: v.isoformat() if isinstance(v, datetime) else "true" if v is True else v for k, v in page_query.items()
    }
    unavailable = _("The audit trail of {service} cannot be read now.").format(service=service)
    entries, answered = reader.fetch(service, "/audit", params, unavailable)
    return SourcePage(
        [_as_json(e, service) for e in entries], "link" in answered, _total(answered.get("x-total-count"))
    )


def _as_json(entry: dict, source: str) -> dict:
    at = entry["at"]
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return {**entry, "at": audit.as_utc(moment), "service": source}


def _every_entry(reader: Reader, sources: list[str], query: dict) -> Iterator[dict]:
    """Every matching entry in the query's order, page after page (read while the file is written)."""
    positions: dict[str, Position] = {source: None for source in sources}
    written = 0
    while any(position is not False for position in positions.values()) and written < EXPORT_MAX_ROWS:
        entries, positions, _total = merged_page(reader, sources, positions, query, EXPORT_PAGE)
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


def _encode(sort: str, positions: dict[str, Position]) -> str:
    text = json.dumps({"sort": sort, "positions": positions}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str | None, sources: list[str], sort: str) -> dict[str, Position]:
    if not cursor:
        return {source: None for source in sources}
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, dict) or set(raw) != {"sort", "positions"}:
            raise ValueError("shape")
        positions = raw["positions"]
        if not isinstance(positions, dict) or set(positions) != set(sources):
            raise ValueError("sources")
        for position in positions.values():
            if not isinstance(position, str) and position not in (None, False):
                raise ValueError("position")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Problem(VALIDATION_FAILED, errors={"cursor": [_("Not a cursor this list gave.")]}) from None
    if raw["sort"] != sort:
        raise Problem(
            VALIDATION_FAILED,
            errors={"cursor": [_("The cursor belongs to another sort order; start again without it.")]},
        )
    for position in positions.values():
        if isinstance(position, str):
            AUDIT_TRAIL.checked_cursor(position, sort)
    return positions
