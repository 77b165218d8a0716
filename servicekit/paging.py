"""Every list the system serves, paged, filtered, searched and sorted one way (issue 17).

A service declares a list once, beside its endpoint:

    ENROLMENTS = Listing(
        "Enrolments",
        id=Enrolment.enrolment_id,
        sorts={"nominated_at": Enrolment.nominated_at, "status": Enrolment.status},
        filters={"campaign_id": Enrolment.campaign_id, "status": Enrolment.status},
        ranges={"nominated_at": Enrolment.nominated_at},
        search=lambda q: ...,  # a SQL condition for `q`: name, and ID number's last digits where the caller may see it
    )

    @blp.route("/enrolments")
    @blp.arguments(ENROLMENTS.query, location="query")
    @blp.response(200, EnrolmentOut(many=True))
    def list_enrolments(args):
        return ENROLMENTS.page(session, scoped(select(Enrolment), identity), args, view=...)

The answer's body stays a JSON array of items. The query takes `limit` (default 50,
at most 500; 0 counts only: an empty array with `X-Total-Count`, no row read), `cursor`
(opaque, from the `next` link), `sort` (a declared key, `-key` descending), `q`,
`count=true`, and the declared filters (`<name>` equals, `<range>_from`/`<range>_to`
inclusive). The answer carries `Link: <?...>; rel="next"` while rows remain (relative,
query only: clients resolve it against the URL they called, so it passes any proxy
unchanged) and `X-Total-Count` when asked.

Pages are keyset pages on (sort key, id): the next page starts after the last row's
values, so rows added meanwhile never shift a page (each row is seen once) and a
deep page costs what the first does, given an index on (sort key, id) (each
service's migrations add them). A sort key is a non-null column; the id is unique.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import namedtuple
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from .i18n import _
from .refusals import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
PAGING_PARAMETERS = frozenset({"limit", "cursor", "sort", "q", "count"})
# What every list's 200 answer may carry, declared once for all of them (document_list_headers).
LIST_HEADERS = {
    "Link": {
        "description": '`<?...&cursor=...>; rel="next"` while rows remain: the next page, relative (query only: '
        "resolve it against the URL called)",
        "schema": {"type": "string"},
    },
    "X-Total-Count": {
        "description": "With count=true or limit=0: how many rows match the filters (on every page)",
        "schema": {"type": "integer", "minimum": 0},
    },
}

Column = InstrumentedAttribute | ColumnElement


def _python_type(column: Column) -> type:
    try:
        return column.type.python_type
    except NotImplementedError:  # pragma: no cover - every declared column has one
        return str


def _filter_field(column: Column) -> fields.Field:
    """The query field for a filter on `column`, typed and bounded as the column is."""
    kind = _python_type(column)
    if kind is bool:
        return fields.Boolean()
    if kind is int:
        low, high = INT64 if "big" in type(column.type).__name__.lower() else INT32
        return fields.Integer(validate=validate.Range(min=low, max=high))
    if kind is dt.datetime:
        return fields.DateTime()
    if kind is dt.date:
        return fields.Date()
    if kind is Decimal:
        return fields.Decimal(as_string=True, validate=validate.Range(min=-(10**12), max=10**12))
    length = getattr(column.type, "length", None)
    return fields.String(validate=validate.Length(min=1, max=length or 200))


class Listing:
    """One list's declaration: its id, sort keys, filters, date ranges and search."""

    def __init__(
        self,
        name: str,
        *,
        id: Column | tuple[Column, ...],
        sorts: dict[str, Column] | None = None,
        default_sort: str | None = None,
        filters: dict[str, Column] | None = None,
        ranges: dict[str, Column] | None = None,
        search: Callable[[str], ColumnElement[bool] | None] | None = None,
        search_help: str = "name",
        base: type[Schema] | None = None,
    ):
        self.name = name
        self.ids: list[Column] = list(id) if isinstance(id, tuple) else [id]
        self.sorts: dict[str, Column] = {"id": self.ids[0], **(sorts or {})}
        self.default_sort = default_sort or next(iter(sorts or ["id"]))
        self.filters = filters or {}
        self.ranges = ranges or {}
        self.search = search
        for key, column in self.sorts.items():
            if getattr(column, "nullable", False) and key != "id":
                raise ValueError(f"{name}: sort key {key} is a nullable column (keyset paging needs non-null keys)")
        declared = paging_fields(self.sorts, self.default_sort)
        if search is not None:
            declared["q"] = fields.String(
                validate=validate.Length(min=1, max=50), metadata={"description": f"Search: {search_help}"}
            )
        for key, column in self.filters.items():
            field = _filter_field(column)
            field.metadata = {"description": f"Only rows whose {key} is this"}
            declared[key] = field
        for key, column in self.ranges.items():
            for end, word in (("from", "on or after"), ("to", "on or before")):
                field = _filter_field(column)
                field.metadata = {"description": f"Only rows whose {key} is {word} this"}
                declared[f"{key}_{end}"] = field
        if base is not None:
            declared = {k: v for k, v in declared.items() if k not in base._declared_fields}
        self.query: type[Schema] = type(f"{name}ListQuery", (base or Schema,), declared)

    # ---- the page -----------------------------------------------------------------------------------

    def page(
        self,
        session,
        query: Select,
        args: dict,
        *,
        view: Callable[[list], Sequence] | None = None,
    ) -> tuple[list, dict[str, str]]:
        """One page of `query` (already scoped to the caller) as (items, headers), for a flask-smorest view."""
        items, following, total = self.window(session, query, args, view=view)
        headers: dict[str, str] = {}
        if total is not None:
            headers["X-Total-Count"] = str(total)
        if following is not None:
            headers["Link"] = next_link(following)
        return items, headers

    def window(
        self,
        session,
        query: Select,
        args: dict,
        *,
        view: Callable[[list], Sequence] | None = None,
    ) -> tuple[list, str | None, int | None]:
        """One page of `query` as (items, the next page's cursor or None, the count when `args` asks for it):
        `page` without the request (a merge of several sources, a worker)."""
        query = self.narrowed(query, args)
        descending = args["sort"].startswith("-")
        keys = self.keys(args["sort"])
        total = None
        if args.get("count") or args["limit"] == 0:
            total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        if args["limit"] == 0:  # count only: the total, and no item read
            return [], None, total
        if args.get("cursor"):
            after = self._decode(args["cursor"], args["sort"], keys)
            position = tuple_(*keys)
            query = query.where(position < tuple_(*after) if descending else position > tuple_(*after))
        limit = args["limit"]
        ordered = query.order_by(None).order_by(*(k.desc() if descending else k.asc() for k in keys))
        result = session.execute(ordered.add_columns(*keys).limit(limit + 1))
        width = len(result.keys()) - len(keys)
        shape = namedtuple("Row", list(result.keys())[:width], rename=True)  # type: ignore[misc]
        rows = result.all()
        items = [row[0] if width == 1 else shape(*row[:width]) for row in rows[:limit]]
        following = self._encode(args["sort"], list(rows[limit - 1][width:])) if len(rows) > limit else None
        return list(view(items) if view is not None else items), following, total

    def narrowed(self, query: Select, args: dict) -> Select:
        """`query` with the filters, ranges and search of `args` applied (what is paged and counted)."""
        for key, column in self.filters.items():
            if args.get(key) is not None:
                query = query.where(column == args[key])
        for key, column in self.ranges.items():
            if args.get(f"{key}_from") is not None:
                query = query.where(column >= args[f"{key}_from"])
            if args.get(f"{key}_to") is not None:
                query = query.where(column <= _end_of(args[f"{key}_to"], column))
        if self.search is not None and args.get("q"):
            condition = self.search(args["q"].strip())
            if condition is not None:
                query = query.where(condition)
        return query

    def keys(self, sort: str) -> list[Column]:
        """The keyset of `sort` (`key` or `-key`): the sort key's column, then the id's."""
        key = sort.lstrip("-")
        return self.ids if key == "id" else [self.sorts[key], *self.ids]

    # ---- cursors -------------------------------------------------------------------------------------

    def cursor_after(self, sort: str, values: list) -> str:
        """The cursor of the page after a row whose keyset (`keys(sort)`) holds `values`: what a list merging
        several sources of this declaration (the gateway's audit trail) hands each source."""
        return self._encode(sort, values)

    def checked_cursor(self, cursor: str, sort: str) -> str:
        """`cursor` when this list gave it for `sort` (a 422 problem otherwise)."""
        self._decode(cursor, sort, self.keys(sort))
        return cursor

    def _encode(self, sort: str, values: list) -> str:
        text = json.dumps([sort, *(_jsonable(v) for v in values)], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def _decode(self, cursor: str, sort: str, keys: list[Column]) -> list:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(raw, list) or len(raw) != len(keys) + 1:
                raise ValueError("shape")
            if raw[0] != sort:
                raise Invalid(
                    errors={"cursor": [_("The cursor belongs to another sort order; start again without it.")]},
                )
            return [_parsed(value, column) for value, column in zip(raw[1:], keys)]
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, ArithmeticError):
            raise Invalid(
                errors={"cursor": [_("Not a cursor this list gave: take it from the Link header's next link.")]},
            ) from None


def _end_of(value, column: Column):
    """An inclusive `<range>_to` date on a timestamp column means up to the end of that day."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and _python_type(column) is dt.datetime:
        return dt.datetime.combine(value, dt.time.max)
    return value


def _jsonable(value) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, int | str | float | bool):
        return value
    return str(getattr(value, "value", value))  # enums


def _parsed(value, column: Column):
    kind = _python_type(column)
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind is Decimal:
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError("not a finite number")
        return number
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not INT64[0] <= value <= INT64[1]:
            raise ValueError("not an integer a column holds")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError("not a boolean")
        return value
    if not isinstance(value, str) or "\x00" in value or len(value) > 1000:
        raise ValueError("not a string a column holds")
    value.encode()  # a lone surrogate: UnicodeEncodeError, a ValueError
    return value


def next_link(cursor: str) -> str:
    """`<?...&cursor=...>; rel="next"`: the query the client sent, with the next page's cursor."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    return f'<?{urlencode([*query, ("cursor", cursor)])}>; rel="next"'


def page_in_memory(
    items: Sequence[dict], args: dict, *, id_key: str, sort_keys: dict[str, str] | None = None
) -> tuple[list, dict[str, str]]:
    """The same paging over a list computed in Python (small derived lists: reports, scores)."""
    descending, key = args["sort"].startswith("-"), args["sort"].lstrip("-")
    field = (sort_keys or {}).get(key, key)
    keys = (lambda item: (item[id_key],)) if key == "id" else (lambda item: (item[field], item[id_key]))
    ordered = sorted(items, key=lambda item: tuple(_jsonable(v) for v in keys(item)), reverse=descending)
    headers: dict[str, str] = {}
    if args.get("count") or args["limit"] == 0:
        headers["X-Total-Count"] = str(len(ordered))
    if args["limit"] == 0:  # count only
        return [], headers
    if args.get("cursor"):
        try:
            raw = json.loads(base64.urlsafe_b64decode(args["cursor"] + "=" * (-len(args["cursor"]) % 4)))
            if not isinstance(raw, list) or raw[0] != args["sort"]:
                raise ValueError("sort")
            after = tuple(raw[1:])
        except (ValueError, TypeError, IndexError, binascii.Error, UnicodeDecodeError):
            raise Invalid(
                errors={"cursor": [_("Not a cursor this list gave: take it from the Link header's next link.")]},
            ) from None
        ordered = [item for item in ordered if _beyond(tuple(_jsonable(v) for v in keys(item)), after, descending)]
    limit = args["limit"]
    page = list(ordered[:limit])
    if len(ordered) > limit:
        values = [_jsonable(v) for v in keys(page[-1])]
        text = json.dumps([args["sort"], *values], separators=(",", ":"), ensure_ascii=False)
        headers["Link"] = next_link(base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))
    return page, headers


def _beyond(position: tuple, after: tuple, descending: bool) -> bool:
    return position < after if descending else position > after


def document_list_headers(operation: dict) -> None:
    """A list operation (its query takes limit and cursor) declares LIST_HEADERS on its 200 answer (servicekit.openapi
    calls this for every operation of every service and of the gateway)."""
    names = {p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict) and p.get("in") == "query"}
    responses = operation.get("responses") or {}
    ok = responses.get("200", responses.get(200))
    if not {"limit", "cursor"} <= names or not isinstance(ok, dict):
        return
    ok["headers"] = {**LIST_HEADERS, **ok.get("headers", {})}


def paging_fields(sorts, default_sort: str) -> dict[str, fields.Field]:
    """limit, cursor, sort (one of `sorts`, or `-key`) and count: the query fields every list takes (limit=0: count
    only, the answer an empty list with X-Total-Count)."""
    keys = sorted({"id", *sorts})
    return {
        "limit": fields.Integer(
            load_default=DEFAULT_LIMIT,
            validate=validate.Range(min=0, max=MAX_LIMIT),
            metadata={
                "description": f"Rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); 0: count only (no "
                "items, X-Total-Count given)"
            },
        ),
        "cursor": fields.String(
            validate=validate.Length(min=1, max=1000),
            metadata={"description": 'Where the page starts: taken from the previous answer\'s Link rel="next"'},
        ),
        "sort": fields.String(
            load_default=default_sort,
            validate=validate.OneOf([*keys, *(f"-{key}" for key in keys)]),
            metadata={"description": "Sort key; a leading '-' sorts descending (ties broken by id)"},
        ),
        "count": fields.Boolean(load_default=False, metadata={"description": "true: the answer carries X-Total-Count"}),
    }


def memory_query(name: str, *, sorts: Sequence[str], default_sort: str, base: type[Schema] | None = None):
    """The query schema of a list paged in memory (`page_in_memory`): limit, cursor, sort, count."""
    declared = paging_fields(sorts, default_sort)
    if base is not None:
        declared = {k: v for k, v in declared.items() if k not in base._declared_fields}
    return type(f"{name}ListQuery", (base or Schema,), declared)


def resident_id_tail(text: str) -> str | None:
    """`q` as the last digits of a resident ID number (4 to 18 digits, a final X allowed), else None."""
    tail = text.strip().upper()
    if 4 <= len(tail) <= 18 and tail[:-1].isdigit() and (tail[-1].isdigit() or tail[-1] == "X"):
        return tail
    return None


def keyset_index_name(table: str, columns: Sequence[str]) -> str:
    return f"ix_page_{table}_{columns[0]}"


def keyset_indexes(metadata, spec: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Declare in a service's models the (sort key, id...) indexes its lists page on; its migration makes the same
    (servicekit.migrations.create_keyset_indexes, with the spec written out)."""
    from sqlalchemy import Index

    for table, columns in spec:
        Index(keyset_index_name(table, columns), *(metadata.tables[table].c[name] for name in columns))
