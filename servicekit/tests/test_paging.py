"""servicekit.paging through the probe service's GET /notes: keyset pages, filters, search, count, bad input."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest


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
