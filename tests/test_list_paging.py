"""Every list of the system, through the gateway: documented with the paging, filter, search and sort parameters
in the merged OpenAPI, and walked two rows a page, each row seen exactly once, while rows are being added."""

from __future__ import annotations

import json
import re

import pytest

from demo.data import person
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers

PAGING = {"limit", "cursor", "sort", "count"}
NEXT = re.compile(r'<(\?[^>]*)>; rel="next"')
IDENTIFYING = {"id", "code", "number", "revision", "username", "saga", "service"}  # service: the merged audit trail
UNIT, UNION, INSTITUTION, PROGRAMME = "GZ-YX", "GZ-YX-G1", "GZ-SYG", "SYG-YY-4"


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("list-paging")
    with shared_system(servers, vhost, tmp) as url:
        flows = Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()
        flows.plan(UNIT, [PROGRAMME])
        flows.nominated = [flows.sent(UNION, number, PROGRAMME) for number in (40, 41, 42)]
        yield flows


def collections(spec: dict) -> list[tuple[str, dict]]:
    """Every GET answering a JSON array."""
    found = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        content = operation.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            found.append((path, operation))
    return found


def identity(row: dict) -> str:
    """What tells rows apart: their ids (a list's id may be composite, e.g. institution and programme)."""
    return json.dumps({k: v for k, v in row.items() if k in IDENTIFYING or k.endswith("_id")}, sort_keys=True)


def test_the_merged_openapi_shows_paging_filters_search_and_sort_on_every_list(flows):
    spec = flows.gateway.get("/api/openapi.json")
    lists = collections(spec)
    assert len(lists) >= 25
    for path, operation in lists:
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        assert names >= PAGING, (path, names)
        assert names - PAGING - {"format"}, f"{path}: no filter nor search"
        sort = next(p for p in operation["parameters"] if p["name"] == "sort")
        assert "id" in sort["schema"]["enum"] and "-id" in sort["schema"]["enum"], path
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (0, 500), path  # 0: count only
        headers = operation["responses"]["200"].get("headers", {})
        assert {"Link", "X-Total-Count"} <= set(headers), f"{path}: the answer's paging headers are not declared"
    audit = {path for path, _operation in lists if path.endswith("/audit")}
    assert audit >= {"/api/audit", "/api/quota/audit", "/api/enrollment/audit", "/api/finance/audit"}


def walk(flows: Flows, path: str, params: dict, *, between_pages=None) -> list[dict]:
    """Every page, two rows each, following the Link header the gateway passed on unchanged."""
    rows, query, pages = [], None, 0
    while True:
        response = flows.fed.call("GET", path + (query or ""), params=None if query else params, raw=True)
        assert response.status_code == 200, (path, response.text)
        page = response.json()
        assert len(page) <= 2, path
        rows += page
        pages += 1
        if between_pages is not None:
            between_pages(pages)
        link = response.headers.get("Link")
        if link is None:
            return rows
        found = NEXT.fullmatch(link)
        assert found, (path, link)  # relative, query only: resolved against the URL called
        query = found.group(1)
        assert len(page) == 2, f"{path}: a next link after a short page"


def filled(flows: Flows, path: str, operation: dict) -> tuple[str, dict]:
    """The operation's path (already /api/<service>/... or the gateway's /auth/...) and its required values."""
    values = {
        "campaign_id": flows.campaign_id,
        "enrolment_id": flows.nominated[0]["enrolment_id"],
        "grassroots_union_id": UNION,
    }
    for name in re.findall(r"{(\w+)}", path):
        path = path.replace("{" + name + "}", values[name])
    params = {"limit": 2}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("required"):
            params[parameter["name"]] = values[parameter["name"]]
    return path, params


def test_paging_two_rows_at_a_time_visits_every_row_of_every_list_once(flows):
    spec = flows.gateway.get("/api/openapi.json")
    walked = 0
    for path, operation in collections(spec):
        url, params = filled(flows, path, operation)
        everything = flows.fed.all(url, **{**params, "limit": 500})
        rows = walk(flows, url, params)
        seen = [identity(row) for row in rows]
        assert len(seen) == len(set(seen)), f"{url}: a row seen twice"
        assert sorted(seen) == sorted(identity(row) for row in everything), f"{url}: rows missed"
        counted = flows.fed.call("GET", url, params={**params, "count": "true"}, raw=True)
        assert counted.headers["X-Total-Count"] == str(len(everything)), url
        walked += len(rows) > 2
    assert walked >= 5  # lists of several pages: units, users, programmes, institutions, allocation changes...


def test_limit_zero_answers_every_lists_count_and_no_item(flows):
    """limit=0 on every list (the merged audit trail too): 200, an empty array, X-Total-Count as count=true gives it,
    no next link."""
    spec = flows.gateway.get("/api/openapi.json")
    counted = 0
    for path, operation in collections(spec):
        url, params = filled(flows, path, operation)
        total = flows.fed.call("GET", url, params={**params, "count": "true"}, raw=True).headers["X-Total-Count"]
        only = flows.fed.call("GET", url, params={**params, "limit": 0}, raw=True)
        assert only.status_code == 200 and only.json() == [], (url, only.text)
        assert only.headers["X-Total-Count"] == total, url
        assert "Link" not in only.headers, url
        counted += int(total) > 2
    assert counted >= 5


@pytest.mark.parametrize("path", ["/api/quota/units", "/api/enrollment/enrolments", "/auth/users", "/api/audit"])
def test_a_negative_limit_is_a_problem_in_chinese_and_english(flows, path):
    answers = {
        language: flows.fed.call(
            "GET", path, params={"limit": -1}, headers={"Accept-Language": language}, ok=(422,), raw=True
        )
        for language in ("zh-CN", "en")
    }
    for answer in answers.values():
        assert answer.headers["Content-Type"].startswith("application/problem+json"), path
        assert answer.json()["code"] == "validation_failed"
    zh, en = answers["zh-CN"].json(), answers["en"].json()
    (chinese,) = zh["errors"]["limit"]
    (english,) = en["errors"]["limit"]
    assert re.search(r"[\u4e00-\u9fff]", chinese) and not re.search(r"[\u4e00-\u9fff]", english), (chinese, english)
    assert re.search(r"[\u4e00-\u9fff]", zh["title"]) and not re.search(r"[\u4e00-\u9fff]", en["title"])


def test_the_merged_audit_trail_pages_like_every_list_while_decisions_are_recorded(flows):
    """GET /api/audit two entries a page, oldest first: entries recorded during the walk come after its position
    and are seen once; nothing is seen twice; count is the sum over the services."""
    made: list[str] = []

    def decide(page: int) -> None:
        if page <= 3:
            user = {"username": f"audit.paging.{page}", "password": flows.password, "role": "auditor"}
            made.append(flows.fed.post("/auth/users", user)["id"])

    rows = walk(flows, "/api/audit", {"limit": 2, "sort": "at"}, between_pages=decide)
    seen = [identity(row) for row in rows]
    assert len(seen) == len(set(seen))
    moments = [row["at"] for row in rows]
    assert moments == sorted(moments)
    created = [row["entity_id"] for row in rows if row["action"] == "user.created" and row["service"] == "gateway"]
    assert made and created[-len(made) :] == made  # recorded while walking, ahead of the position: each seen once
    services = {row["service"] for row in rows}
    assert {"gateway", "quota", "enrollment"} <= services
    counted = flows.fed.call("GET", "/api/audit", params={"limit": 1, "count": "true"}, raw=True)
    by_service = [
        int(
            flows.fed.call("GET", f"/api/{s}/audit", params={"limit": 1, "count": "true"}, raw=True).headers[
                "X-Total-Count"
            ]
        )
        for s in ("quota", "enrollment", "finance", "evaluation")
    ]
    gateway = flows.fed.call("GET", "/api/audit", params={"service": "gateway", "limit": 1, "count": "true"}, raw=True)
    assert int(counted.headers["X-Total-Count"]) == sum(by_service) + int(gateway.headers["X-Total-Count"])


def test_rows_added_while_paging_are_seen_once_when_ahead_and_never_twice(flows):
    """Users by username, two a page; between pages a user sorting before the walk's position and one after."""
    added_after: list[str] = []

    def add(page: int) -> None:
        if page <= 3:
            flows.make_user(f"aaa.paging.{page}", "auditor")
            flows.make_user(f"zzz.paging.{page}", "auditor")
            added_after.append(f"zzz.paging.{page}")

    before = {u["username"] for u in flows.fed.all("/auth/users")}
    rows = walk(flows, "/auth/users", {"limit": 2, "sort": "username"}, between_pages=add)
    names = [row["username"] for row in rows]
    assert len(names) == len(set(names)) and names == sorted(names)
    assert before <= set(names)  # every row there when the walk began
    assert [n for n in names if n.startswith("zzz.paging.")] == added_after  # ahead of the position: seen
    assert not [n for n in names if n.startswith("aaa.paging.")]  # behind it: the next walk sees them


def test_lists_filter_search_and_refuse_a_foreign_cursor_in_chinese(flows):
    officer = flows.union_officer(UNION)
    mine = officer.get("/api/enrollment/enrolments", campaign_id=flows.campaign_id, status="sent")
    assert {row["status"] for row in mine} == {"sent"} and len(mine) >= 3
    resident_id = mine[0]["resident_id"]
    by_digits = officer.get("/api/enrollment/enrolments", q=resident_id[-6:])
    assert [row["enrolment_id"] for row in by_digits] == [mine[0]["enrolment_id"]]
    # the unit sees the numbers masked: its search by digits finds nobody (names only)
    assert flows.unit_officer(UNIT).get("/api/enrollment/enrolments", q=resident_id[-6:]) == []
    by_name = flows.unit_officer(UNIT).get("/api/enrollment/enrolments", q=mine[0]["name"])
    assert mine[0]["enrolment_id"] in {row["enrolment_id"] for row in by_name}

    first = flows.fed.call("GET", "/api/quota/units", params={"limit": 2, "sort": "name"}, raw=True)
    cursor = NEXT.fullmatch(first.headers["Link"]).group(1).split("cursor=")[1]
    refused = flows.fed.call(
        "GET",
        "/api/quota/units",
        params={"limit": 2, "sort": "-name", "cursor": cursor},
        headers={"Accept-Language": "zh-CN"},
        ok=(422,),
        raw=True,
    ).json()
    assert refused["code"] == "validation_failed" and "游标" in refused["errors"]["cursor"][0]


# Bulk actions: one request, many items, an outcome per item (each item its own transaction).


def test_a_union_confirms_many_nominations_in_one_request_each_reported(flows):
    officer = flows.union_officer(UNION)
    waiting = []
    for number in (43, 44):
        row = officer.post(
            "/api/enrollment/enrolments",
            {
                **person(number, "高中"),
                "campaign_id": flows.campaign_id,
                "programme_id": PROGRAMME,
                "notice_start": flows.day(-7),
                "attestation": "职工代表大会民主推荐",
                "recommendation": {"meeting_on": flows.day(-8), "method": "consultation"},
            },
        )
        officer.post(f"/api/enrollment/enrolments/{row['enrolment_id']}/consent", {"written_consent_on": flows.day(-2)})
        waiting.append(row["enrolment_id"])
    already = flows.nominated[1]["enrolment_id"]  # confirmed before: its own confirmation is refused
    items = [{"enrolment_id": i} for i in (*waiting, already, "no-such-enrolment")]
    answer = officer.post("/api/enrollment/enrolments/confirm", {"items": items}, ok=(200,))
    assert (answer["done"], answer["refused"]) == (2, 2)
    outcomes = [(r["index"], r["id"], r["outcome"]) for r in answer["results"]]
    assert outcomes == [
        (0, waiting[0], "done"),
        (1, waiting[1], "done"),
        (2, already, "refused"),
        (3, "no-such-enrolment", "refused"),
    ]
    assert answer["results"][3]["code"] == "not_found" and answer["results"][2]["detail"]
    for enrolment_id in waiting:  # on the union's list: its unit sends it
        assert officer.get(f"/api/enrollment/enrolments/{enrolment_id}")["status"] == "confirmed"
    too_many = officer.call(
        "POST", "/api/enrollment/enrolments/confirm", {"items": [{"enrolment_id": "x"}] * 501}, ok=(422,), raw=True
    )
    assert "items" in too_many.json()["errors"]


def test_the_federation_transfers_funds_to_several_units_in_one_request(flows):
    def transfer(unit: str, amount: str) -> dict:
        return {
            "campaign_id": flows.campaign_id,
            "unit_id": unit,
            "kind": "skills",
            "amount": amount,
            "transferred_on": flows.day(0),
            "reference": "穗工财〔2013〕89号",
        }

    items = [transfer("GZ-YX", "100.00"), transfer("GZ-HZ", "200.00"), transfer("GZ-YX", "999999999.00")]
    key = {"Idempotency-Key": "bulk-transfers-1"}
    answer = flows.fed.post("/api/finance/transfers/record", {"items": items}, headers=key, ok=(200,))
    assert [r["outcome"] for r in answer["results"]] == ["done", "done", "refused"]  # more than allocated
    again = flows.fed.call(
        "POST", "/api/finance/transfers/record", {"items": items}, headers=key, ok=(200,), raw=True
    )  # the same key: the same answer, nothing moved twice
    assert again.json() == answer and again.headers.get("Idempotent-Replayed") == "true"
    recorded = flows.fed.all("/api/finance/transfers", campaign_id=flows.campaign_id, q="89号")
    assert sorted((t["unit_id"], t["amount"]) for t in recorded) == [("GZ-HZ", "200.00"), ("GZ-YX", "100.00")]


def test_a_union_decides_many_objections_in_one_request(flows):
    officer = flows.union_officer(UNION)
    row = officer.post(
        "/api/enrollment/enrolments",
        {
            **person(45, "高中"),
            "campaign_id": flows.campaign_id,
            "programme_id": PROGRAMME,
            "notice_start": flows.day(-1),  # the public notice is still running
            "attestation": "职工代表大会民主推荐",
        },
    )
    path = f"/api/enrollment/enrolments/{row['enrolment_id']}"
    objected = officer.post(f"{path}/objections", {"raised_on": flows.day(0), "summary": "群众反映推荐程序不公开"})
    [objection] = objected["objections"]
    items = [
        {"enrolment_id": row["enrolment_id"], "objection_id": objection["objection_id"], "outcome": "dismissed"},
        {"enrolment_id": row["enrolment_id"], "objection_id": "no-such-objection", "outcome": "upheld"},
    ]
    items = [item | {"note": "经核查，推荐程序符合规定"} for item in items]
    answer = officer.post("/api/enrollment/objections/decide", {"items": items}, ok=(200,))
    assert [(r["id"], r["outcome"]) for r in answer["results"]] == [
        (objection["objection_id"], "done"),
        ("no-such-objection", "refused"),
    ]
    [decided] = officer.get(path)["objections"]
    assert decided["outcome"] == "dismissed"
