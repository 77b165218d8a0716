"""Bulk actions: one request acts on many items and reports each one (issue 17).

`POST /<collection>/<action>` with `{"items": [...]}` (1 to 500 items) answers 200 with
`{"done": n, "refused": m, "results": [{"index", "id", "outcome": "done"|"refused", "code", "detail"}]}`,
one result per item, in the order sent. Each item is its own transaction: an item refused
(a problem its single-item endpoint would answer with) changes nothing and the others go on.
Input that is not valid at all (not a list, too many items, a malformed item) is refused as a
whole with a 422, per row, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import Schema, fields, validate

from .errors import Problem, domain_problem, prefers_chinese
from .i18n import translate

MAX_ITEMS = 500


class BulkResult(Schema):
    index = fields.Integer(metadata={"description": "The item's position in the request, from 0"})
    id = fields.String(metadata={"description": "The item acted on"})
    outcome = fields.String(metadata={"description": "done, or refused (nothing changed for this item)"})
    code = fields.String(allow_none=True, metadata={"description": "Why refused: the problem's stable code"})
    detail = fields.String(allow_none=True, metadata={"description": "Why refused, in the caller's language"})


class BulkOut(Schema):
    done = fields.Integer()
    refused = fields.Integer()
    results = fields.List(fields.Nested(BulkResult))


def bulk_of(item: type[Schema], name: str) -> type[Schema]:
    """The request body: `items`, 1 to 500 of `item`."""
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(
                fields.Nested(item),
                required=True,
                validate=validate.Length(min=1, max=MAX_ITEMS),
                metadata={"description": f"1 to {MAX_ITEMS} items, each done or refused on its own"},
            )
        },
    )


def each(items: list[dict], act: Callable[[dict], object], id_of: Callable[[dict], str]) -> dict:
    """Run `act` on every item (it opens and commits its own unit of work); a Problem, or a domain error of the
    service (Service.domain_errors), refuses that item only."""
    zh = prefers_chinese()
    results = []
    for index, item in enumerate(items):
        try:
            act(item)
        except Exception as exc:
            refusal = exc if isinstance(exc, Problem) else domain_problem(exc)
            if refusal is None:
                raise
            detail = translate(refusal.detail, zh) if refusal.detail else None
            title = refusal.problem.title_zh if zh else refusal.problem.title_en
            results.append(
                {
                    "index": index,
                    "id": id_of(item),
                    "outcome": "refused",
                    "code": refusal.problem.code,
                    "detail": detail or title,
                }
            )
        else:
            results.append({"index": index, "id": id_of(item), "outcome": "done", "code": None, "detail": None})
    done = sum(1 for r in results if r["outcome"] == "done")
    return {"done": done, "refused": len(results) - done, "results": results}
