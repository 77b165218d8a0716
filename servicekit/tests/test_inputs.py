"""Input no code of ours should ever see is refused at the door, naming the field (embedded, no servers)."""

from __future__ import annotations

import json

import pytest

from servicekit.inputs import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH

EN = {"Accept-Language": "en"}


def problem(response, status: int, code: str) -> dict:
    assert (response.status_code, response.mimetype) == (status, "application/problem+json"), response.get_data()
    body = response.get_json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize("text", ["a\u0000b", "\ud800", "x\udfffy"])
def test_text_a_database_cannot_store_is_refused_in_a_json_value_naming_it(client, text):
    sent = json.dumps({"key": text})  # as a client sends it: \u escapes
    body = problem(
        client.post("/notes", data=sent, content_type="application/json", headers=EN), 422, "validation_failed"
    )
    assert list(body["errors"]) == ["key"]
    assert body["errors"]["key"][0].startswith("Must not contain")


def test_json_escapes_of_nul_and_lone_surrogates_are_refused_in_keys_and_nested_values(client):
    raw = '{"key": "k", "nested": [{"deep": "\\ud800"}], "bad\\u0000key": 1}'
    body = problem(client.post("/notes", data=raw, content_type="application/json"), 422, "validation_failed")
    assert body["errors"]["nested"] == {"0": {"deep": [body["errors"]["nested"]["0"]["deep"][0]]}}
    assert "bad\\u0000key" in body["errors"]
    assert body["errors"]["nested"]["0"]["deep"][0].startswith("deep：不能包含未配对的代理字符")


def test_nul_in_query_path_and_header_is_refused_naming_each(client):
    body = problem(client.get("/tallies/a%00b?q=x%00", headers={"X-Note": "a\x00b", **EN}), 422, "validation_failed")
    assert {"key", "q", "X-Note"} <= set(body["errors"])


def test_json_nested_deeper_than_the_limit_is_a_400_before_parsing(client):
    for depth in (MAX_JSON_DEPTH + 1, 5000, 100_000):
        body = problem(
            client.post("/notes", data="[" * depth + "]" * depth, content_type="application/json"), 400, "invalid_json"
        )
        assert str(MAX_JSON_DEPTH) in body["detail"]
    brackets_in_strings = {"key": "[" * 10_000}
    assert client.post("/notes", json=brackets_in_strings).status_code == 422  # a long key, not a deep document


def test_numbers_longer_than_the_limit_are_refused_where_they_are(client):
    body = problem(
        client.post("/notes", data='{"key": ' + "9" * 5000 + "}", content_type="application/json"),
        422,
        "validation_failed",
    )
    assert list(body["errors"]) == ["key"]
    assert str(MAX_NUMBER_LENGTH) in body["errors"]["key"][0]
    fraction = '{"key": "k", "count": 1.' + "5" * 100 + "}"
    assert (
        "count"
        in problem(client.post("/notes", data=fraction, content_type="application/json"), 422, "validation_failed")[
            "errors"
        ]
    )
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = client.post("/notes", data='{"key": "k", "count": ' + constant + "}", content_type="application/json")
        assert "count" in problem(body, 422, "validation_failed")["errors"]


def test_malformed_and_non_utf8_json_are_400_problems(client):
    problem(client.post("/notes", data="{oops", content_type="application/json"), 400, "invalid_json")
    problem(client.post("/notes", data=b'{"key": "\xff"}', content_type="application/json"), 400, "invalid_json")


def test_integers_beyond_a_columns_range_never_reach_the_database(client):
    body = problem(client.post("/notes", json={"key": "k", "count": 2**63}), 422, "validation_failed")
    assert "count" in body["errors"]
    assert client.get("/tallies/k").status_code == 200  # the route still answers
