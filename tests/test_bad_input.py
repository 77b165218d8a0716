"""Bad input gets a 4xx problem+json through the gateway, one regression per cause found by fuzzing (issue 14),
with field messages in Chinese (English on request), on the real stack (PostgreSQL, RabbitMQ, four services)."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from urllib.parse import urlsplit

import pytest
import requests

from demo.client import Gateway
from servicekit.testing import xlsx

from .support.campaign import ADMIN, shared_system
from .support.openapi_validity import openapi_errors, operation_ids

pytestmark = pytest.mark.servers
EN = {"Accept-Language": "en"}
VERIFY = "/api/evaluation/public/certificates/verification"


@pytest.fixture(scope="module")
def gateway(servers, vhost, tmp_path_factory):
    with shared_system(servers, vhost, tmp_path_factory.mktemp("bad-input")) as url:
        yield url


@pytest.fixture(scope="module")
def admin(gateway) -> dict:
    return {"Authorization": f"Bearer {Gateway(gateway).login(*ADMIN).token}"}


def problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def send(gateway: str, method: str, path: str, *, raw: bytes | None = None, headers=None, **kwargs):
    if raw is not None:
        kwargs["data"], headers = raw, {"Content-Type": "application/json", **(headers or {})}
    return requests.request(method, gateway + path, headers=headers, timeout=30, **kwargs)


def escaped(document) -> bytes:
    return json.dumps(document).encode()  # \u0000 and \ud800 as JSON escapes, as any client sends them


# NUL and lone surrogates: refused before anything reaches PostgreSQL, naming the field.


def test_nul_in_an_anonymous_query_parameter_is_a_problem_naming_it(gateway):
    body = problem(send(gateway, "GET", VERIFY + "?institution_id=INST%00&number=1"), 422, "validation_failed")
    assert body["errors"] == {"institution_id": ["培训机构：不能包含空字符（\\u0000）。"]}


def test_nul_in_a_path_segment_is_a_problem(gateway, admin):
    body = problem(send(gateway, "GET", "/api/quota/units/GZ%00HZ", headers=admin), 422, "validation_failed")
    assert list(body["errors"]) == ["path"]


def test_nul_and_lone_surrogates_in_json_on_the_anonymous_login_are_problems(gateway):
    for bad in ("admin\u0000", "\ud800"):
        body = problem(
            send(gateway, "POST", "/auth/token", raw=escaped({"username": bad, "password": "x" * 12})),
            422,
            "validation_failed",
        )
        assert list(body["errors"]) == ["username"] and body["errors"]["username"][0].startswith("用户名：不能包含")


def test_nul_and_lone_surrogates_in_a_services_json_are_problems(gateway, admin):
    for bad in ("海珠\u0000区", "\udfff"):
        unit = {"id": "GZ-BAD", "name": bad, "level": "first_level", "category": "district", "headcount": 1}
        body = problem(
            send(gateway, "POST", "/api/quota/units", raw=escaped(unit), headers={**admin, **EN}),
            422,
            "validation_failed",
        )
        assert list(body["errors"]) == ["name"] and body["errors"]["name"][0].startswith("Must not contain")


def test_nul_in_a_header_value_never_reaches_a_service(gateway):
    host, port = urlsplit(gateway).hostname, urlsplit(gateway).port
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(
            f"GET {VERIFY}?institution_id=I&number=1 HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n".encode()
        )
        answer = connection.recv(65536).decode("latin-1")
    assert answer.split(" ", 2)[1] in ("400", "422")  # refused by the HTTP parser itself, or by the gateway


# Integers bounded by their columns; paging parameters by sane maxima.


def test_integers_beyond_their_columns_are_field_errors(gateway, admin):
    body = problem(
        send(gateway, "GET", "/api/finance/payments?limit=" + str(2**63), headers=admin), 422, "validation_failed"
    )
    assert list(body["errors"]) == ["limit"]
    body = problem(
        send(
            gateway,
            "PATCH",
            "/api/quota/campaigns/x/allocation/lines/GZ-HZ",
            json={"academic_seats": 2**31, "reason": "r"},
            headers=admin,
        ),
        422,
        "validation_failed",
    )
    assert list(body["errors"]) == ["academic_seats"]
    assert send(gateway, "GET", "/api/enrollment/calendar/" + "9" * 30, headers=admin).status_code == 404


# One strict money type.


@pytest.mark.parametrize(
    ("amount", "rule"),
    [
        (" 12.00", "金额不能含空格。"),
        ("１２.００", "金额只能由数字 0-9"),
        ("+12", "金额不能带加号。"),
        ("1_000.00", "金额只能由数字 0-9"),
        ("1e5", "金额只能由数字 0-9"),
        ("1e100", "金额只能由数字 0-9"),
        ("1" + "0" * 26, "不能超过 999999999999.99。"),
        ("1000000000000.00", "不能超过 999999999999.99。"),
        ("12.345", "金额最多两位小数"),
        ("-5.00", "不能为负数。"),
        (12.5, "不能使用浮点数"),
    ],
)
def test_every_malformed_amount_is_a_field_error_naming_its_rule(gateway, admin, amount, rule):
    campaign = {"name": "2013-14", "year": 2013, "fund_pools": {"academic": amount, "skills": "1.00"}}
    body = problem(
        send(gateway, "POST", "/api/quota/campaigns", json=campaign, headers=admin), 422, "validation_failed"
    )
    [message] = body["errors"]["fund_pools"]["academic"]
    assert message.startswith("学历教育：") and rule in message


# JSON limited in depth and number size before parsing.


def test_deeply_nested_json_is_a_400_on_the_anonymous_login_and_through_the_proxy(gateway, admin):
    deep = b"[" * 5000 + b"]" * 5000
    problem(send(gateway, "POST", "/auth/token", raw=deep), 400, "invalid_json")
    problem(send(gateway, "POST", "/api/quota/units", raw=deep, headers=admin), 400, "invalid_json")


def test_a_five_thousand_digit_number_where_a_string_is_expected_is_a_field_error(gateway):
    raw = b'{"username": "admin", "password": ' + b"7" * 5000 + b"}"
    body = problem(send(gateway, "POST", "/auth/token", raw=raw), 422, "validation_failed")
    assert list(body["errors"]) == ["password"]


# Spreadsheets: checked as zips, read within caps.


def test_a_zip_bomb_upload_is_refused_through_the_gateway(gateway, admin):
    content, bomb = xlsx([["单位编号", "单位名称"], ["GZ-X", "x"]]), io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        target.writestr("xl/media/padding.bin", b"\0" * (20 * 1024 * 1024))
    response = send(
        gateway, "POST", "/api/quota/units/import", files={"file": ("units.xlsx", bomb.getvalue())}, headers=admin
    )
    assert problem(response, 413, "file_too_large")["detail"].endswith("视为压缩炸弹，拒绝处理。")


# Field messages in Chinese by default, English on request; the gateway's own routes too.


def test_field_messages_are_chinese_with_the_fields_name_and_english_on_request(gateway, admin):
    user = {"username": "x", "password": "short", "role": "unit_officer"}
    zh = problem(send(gateway, "POST", "/auth/users", json=user, headers=admin), 422, "validation_failed")
    assert zh["errors"]["unit_id"] == "单位：角色 unit_officer 必须填写"
    assert zh["errors"]["password"] == "密码：至少 10 个字符"
    en = problem(send(gateway, "POST", "/auth/users", json=user, headers={**admin, **EN}), 422, "validation_failed")
    assert en["errors"]["unit_id"] == "required for the role unit_officer"
    person = {"resident_id": "44010619850307001X", "name": "", "campaign_id": "c", "programme_id": "p"}
    body = problem(
        send(gateway, "POST", "/api/enrollment/enrolments", json=person, headers=admin), 422, "validation_failed"
    )
    assert body["errors"]["resident_id"][0].startswith("身份证号：")


# The merged OpenAPI document: valid 3.1, unique stable operation ids, numeric bounds.


def test_the_merged_openapi_is_valid_3_1_with_unique_operation_ids(gateway):
    document = requests.get(gateway + "/api/openapi.json", timeout=30).json()
    assert document["x-unavailable-services"] == []
    assert openapi_errors(document) == []
    ids = operation_ids(document)
    assert len(ids) > 100
    assert {operation_id.split("_", 1)[0] for operation_id in ids} == {
        "gateway",
        "quota",
        "enrollment",
        "finance",
        "evaluation",
    }
