"""servicekit.paging through the probe service's GET /notes: keyset pages, filters, search, count, bad input."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from servicekit.paging import page_in_memory


def add(client, key: str, count: int = 1) -> None:
    assert client.post("/notes", json={"key": key, "count": count}).status_code == 201


def next_query(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    found = re.fullmatch(r'<(\?[^>]*)>; rel="next"', link)
    assert found, link
    return found.group(1)


def walk(client, query: str, *, while_adding=None) -> list[dict]:
    seen, pages = [], 0
    url = "/notes" + query
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        seen += response.get_json()
        pages += 1
        if while_adding is not None:
            while_adding(pages)
        following = next_query(response)
        url = "/notes" + following if following else None
    return seen


def test_pages_visit_every_row_once_while_rows_are_added(client):
    for key in ("b", "d", "f", "h", "j"):
        add(client, key)
    added: list[str] = []

    def add_some(page: int) -> None:
        if page <= 3:  # one before the walk's position (not visited), one after it (visited)
            add(client, "a")
            add(client, f"z{page}")  # keys after the walk's position (ids are random: keys order them)
            added.append(f"z{page}")

    seen = walk(client, "?limit=2&sort=key", while_adding=add_some)
    keys = [note["key"] for note in seen]
    assert keys == sorted(keys)
    assert len({note["id"] for note in seen}) == len(seen)  # no row twice
    assert [k for k in keys if not k.startswith("z")] == ["b", "d", "f", "h", "j"]  # "a"s are behind the walk
    assert [k for k in keys if k.startswith("z")] == added  # added ahead of the position: visited once


def test_descending_ties_broken_by_id_and_count(client):
    add(client, "same", 5)
    add(client, "other", 2)
    first = client.get("/notes?limit=3&sort=-key&count=true")
    assert first.headers["X-Total-Count"] == "7"
    query = next_query(first)
    assert parse_qs(urlsplit(query).query)["sort"] == ["-key"]  # the client's own query, with the cursor
    seen = walk(client, "?limit=3&sort=-key")
    assert [n["key"] for n in seen] == ["same"] * 5 + ["other"] * 2
    same = [n["id"] for n in seen if n["key"] == "same"]
    assert same == sorted(same, reverse=True)


def test_filters_and_search(client):
    add(client, "alpha", 3)
    add(client, "beta", 2)
    assert {n["key"] for n in client.get("/notes?key=beta").get_json()} == {"beta"}
    found = client.get("/notes?q=alp&count=true")
    assert len(found.get_json()) == 3 and found.headers["X-Total-Count"] == "3"
    assert "Link" not in found.headers  # the last page has no next link


def test_default_limit_and_maximum(client):
    add(client, "many", 60)
    first = client.get("/notes")
    assert len(first.get_json()) == 50 and next_query(first)
    too_many = client.get("/notes?limit=501", headers={"Accept-Language": "zh-CN"})
    assert too_many.status_code == 422
    assert too_many.mimetype == "application/problem+json"
    assert "limit" in too_many.get_json()["errors"]


def test_limit_zero_counts_without_reading_a_row(client, probe_runtime):
    """limit=0: the same answer (a JSON array, the headers) with the total and no item; only a count is asked of the
    database, never the rows."""
    add(client, "alpha", 3)
    add(client, "beta", 2)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "notes" in statement:
            statements.append(statement)

    event.listen(probe_runtime.engine, "before_cursor_execute", record)
    try:
        counted = client.get("/notes?limit=0&key=alpha")
        everything = client.get("/notes?limit=0&sort=-key")
    finally:
        event.remove(probe_runtime.engine, "before_cursor_execute", record)
    assert counted.status_code == 200 and counted.get_json() == []
    assert counted.headers["X-Total-Count"] == "3"  # without count=true: limit=0 asks for the count
    assert "Link" not in counted.headers
    assert everything.get_json() == [] and everything.headers["X-Total-Count"] == "5"
    assert len(statements) == 2 and all(re.match(r"SELECT count\(\*\)", s) for s in statements), statements


def test_a_list_paged_in_memory_counts_only_with_limit_zero():
    items = [{"id": str(n), "dead_at": f"2026-01-0{n}"} for n in range(1, 4)]
    assert page_in_memory(items, {"sort": "-dead_at", "limit": 0}, id_key="id") == ([], {"X-Total-Count": "3"})


@pytest.mark.parametrize("limit", ["-1", "501", "x"])
def test_a_limit_outside_0_to_500_is_a_422_in_chinese_and_english(client, limit):
    chinese = client.get(f"/notes?limit={limit}", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 422 and chinese.mimetype == "application/problem+json"
    (message,) = chinese.get_json()["errors"]["limit"]
    assert re.search(r"[\u4e00-\u9fff]", message), message
    english = client.get(f"/notes?limit={limit}", headers={"Accept-Language": "en"}).get_json()
    assert not re.search(r"[\u4e00-\u9fff]", english["errors"]["limit"][0]), english


def test_openapi_documents_limit_zero_as_the_minimum(client):
    spec = client.get("/openapi.json").get_json()
    limit = next(p for p in spec["paths"]["/notes"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (0, 500)
    assert "count only" in limit["description"]


@pytest.mark.parametrize(
    "query",
    ["?cursor=not-a-cursor", "?cursor=WyJrZXkiXQ", "?sort=-key&cursor=WyJrZXkiLCJhIiwiYiJd", "?sort=colour"],
)
def test_bad_cursor_or_sort_is_a_422_in_chinese(client, query):
    add(client, "x", 3)
    answer = client.get("/notes" + query, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 422, answer.get_json()
    body = answer.get_json()
    assert body["code"] == "validation_failed"
    field = "sort" if "colour" in query else "cursor"
    (message,) = body["errors"][field]
    assert re.search(r"[\u4e00-\u9fff]", message), message  # Chinese
    english = client.get("/notes" + query, headers={"Accept-Language": "en"}).get_json()
    assert english["errors"][field][0] != message


def test_openapi_documents_the_list_parameters(client):
    spec = client.get("/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/notes"]["get"]["parameters"]}
    assert {"limit", "cursor", "sort", "count", "q", "key"} <= names


@pytest.mark.parametrize(
    "values", [["key", 2**70, "x"], ["key", "a\u0000", "x"], ["key", "\ud800", "x"], ["key", 1, 2]]
)
def test_a_forged_cursor_with_values_no_column_holds_is_a_422(client, values):
    add(client, "x", 3)
    forged = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    answer = client.get(f"/notes?sort=key&cursor={forged}")
    assert answer.status_code == 422, answer.get_json()
    assert list(answer.get_json()["errors"]) == ["cursor"]
