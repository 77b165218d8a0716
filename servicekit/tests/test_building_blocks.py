"""Identity signing, money and spreadsheet import/export: the pieces every service uses."""

from __future__ import annotations

import io
import time
from datetime import date, datetime
from decimal import Decimal

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from marshmallow import Schema, ValidationError, fields, validate
from openpyxl import load_workbook

from servicekit.errors import Problem, install_error_handlers
from servicekit.identity import HEADER, Identity, InvalidIdentity, current_identity, requires, sign, verify
from servicekit.keys import key_id
from servicekit.money import Money, from_fen, money, to_fen
from servicekit.pseudonym import employee_id, employee_id_key
from servicekit.tabular import Column, chunks, export, read_rows, validate_rows
from servicekit.testing import xlsx

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
REQUEST = {"audience": "quota", "method": "GET", "path": "/allocations", "request_id": "r-1"}


def test_identity_round_trips_and_refuses_forgery_and_age():
    officer = Identity(subject="u1", role="unit_officer", unit_id="haizhu")
    header = sign(officer, KEY, **REQUEST)
    assert verify(header, KEYS, **REQUEST) == officer
    another = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidIdentity, match="does not accept"):
        verify(header, {key_id(another.public_key()): another.public_key()}, **REQUEST)
    # Another key claiming the accepted key's id.
    with pytest.raises(InvalidIdentity, match="not signed"):
        verify(header, {key_id(KEY.public_key()): another.public_key()}, **REQUEST)
    with pytest.raises(InvalidIdentity, match="expired"):
        verify(sign(officer, KEY, **REQUEST, now=time.time() - 16), KEYS, **REQUEST)
    with pytest.raises(InvalidIdentity, match="malformed"):
        verify("garbage", KEYS, **REQUEST)


def test_an_identity_header_is_good_for_its_own_service_and_request_only():
    header = sign(Identity(subject="boss", role="federation_admin"), KEY, **REQUEST)
    for other in ({"audience": "finance"}, {"method": "POST"}, {"path": "/allocations/1"}, {"request_id": "r-2"}):
        with pytest.raises(InvalidIdentity, match="another"):
            verify(header, KEYS, **(REQUEST | other))


def test_an_hmac_header_with_the_public_key_as_secret_is_refused():
    """The algorithm is pinned: HS256 "signed" with the public key's bytes must not pass as EdDSA."""
    public = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    claims = {"sub": "mallory", "role": "federation_admin", "iss": "upskilling-gateway", "aud": "quota"}
    claims |= {"htm": "GET", "htu": "/allocations", "rid": "r-1", "iat": int(time.time()), "exp": int(time.time()) + 10}
    forged = pyjwt.encode(claims, public, algorithm="HS256", headers={"kid": key_id(KEY.public_key())})
    with pytest.raises(InvalidIdentity):
        verify(forged, KEYS, **REQUEST)


def test_identity_needs_the_scope_of_its_role():
    with pytest.raises(InvalidIdentity, match="unit_id"):
        Identity(subject="u", role="unit_officer")
    with pytest.raises(InvalidIdentity, match="unknown role"):
        Identity(subject="u", role="superuser")
    assert Identity(subject="a", role="auditor").is_federation


def test_employee_ids_are_a_keyed_pseudonym_of_the_resident_id(tmp_path, monkeypatch):
    monkeypatch.delenv("EMPLOYEE_ID_KEY", raising=False)
    key = employee_id_key(tmp_path)
    assert key == employee_id_key(tmp_path) and (tmp_path / "keys" / "employee-id.key").read_bytes().strip() == key
    made = employee_id("44010219900307123x", key)
    assert made == employee_id("44010219900307123X", key) and made.startswith("emp-") and len(made) == 36
    assert "440102" not in made and made != employee_id("44010219900307123X", b"another key")
    assert made != employee_id("440102199003071246", key)


def test_endpoint_guard_refuses_missing_forged_and_wrong_role():
    app = Flask("t")
    app.config["IDENTITY_PUBLIC_KEYS"] = KEYS
    app.config["IDENTITY_AUDIENCE"] = "quota"
    install_error_handlers(app)

    @app.get("/only-federation")
    @requires("federation_admin")
    def only_federation():
        return {"subject": current_identity().subject}

    client = app.test_client()
    bound = REQUEST | {"path": "/only-federation"}
    assert client.get("/only-federation").status_code == 401
    assert client.get("/only-federation", headers={HEADER: "v1.e30.AAAA"}).status_code == 401
    officer = sign(Identity(subject="o", role="unit_officer", unit_id="u"), KEY, **bound)
    with_officer = {HEADER: officer, "X-Request-ID": "r-1"}
    assert client.get("/only-federation", headers=with_officer).get_json()["code"] == "forbidden"
    admin = {HEADER: sign(Identity(subject="boss", role="federation_admin"), KEY, **bound), "X-Request-ID": "r-1"}
    assert client.get("/only-federation", headers=admin).get_json() == {"subject": "boss"}
    replayed = client.get("/only-federation", headers=admin | {"X-Request-ID": "r-2"})
    assert replayed.status_code == 401 and replayed.mimetype == "application/problem+json"


def test_money_is_exact_to_the_fen_and_never_a_float():
    assert money("1500") == Decimal("1500.00") and money("0.10") == Decimal("0.10")
    assert to_fen(Decimal("2350.00")) == 235000 and from_fen(94000) == Decimal("940.00")
    for bad in (1500.0, "1.005", "abc", "NaN"):
        with pytest.raises(ValueError):
            money(bad)

    class Fee(Schema):
        amount = Money(required=True)

    assert Fee().load({"amount": "2350.00"})["amount"] == Decimal("2350.00")
    assert Fee().dump({"amount": Decimal("940")}) == {"amount": "940.00"}
    for bad in (2350.0, "-1.00", "1.001"):
        with pytest.raises(ValidationError):
            Fee().load({"amount": bad})


class UnitRow(Schema):
    name = fields.String(required=True)
    headcount = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))  # CSV cells are text


COLUMNS = [Column("name", "单位名称 Unit name", aliases=("单位名称",)), Column("headcount", "职工人数 Headcount")]


def test_import_reads_xlsx_and_csv_with_chinese_or_english_headers():
    content = xlsx(
        [["单位名称", "职工人数 Headcount"], ["海珠区总工会", 120000.0], [None, None], ["天河区总工会", 98000]]
    )
    rows = validate_rows(read_rows(content, "units.xlsx", COLUMNS), UnitRow())
    assert rows == [{"name": "海珠区总工会", "headcount": 120000}, {"name": "天河区总工会", "headcount": 98000}]
    csv_content = "\ufeffname,headcount\n越秀区总工会,50000\n".encode()
    assert validate_rows(read_rows(csv_content, "units.csv", COLUMNS), UnitRow()) == [
        {"name": "越秀区总工会", "headcount": 50000}
    ]


def test_import_is_refused_whole_with_every_bad_row_reported():
    content = xlsx([["单位名称", "职工人数 Headcount"], ["海珠", 1], ["", "many"], ["天河", 2], [None, 3]])
    with pytest.raises(Problem) as refused:
        validate_rows(read_rows(content, "units.xlsx", COLUMNS), UnitRow())
    assert refused.value.problem.code == "import_rejected"
    assert [r["row"] for r in refused.value.errors["rows"]] == [3, 5]
    with pytest.raises(Problem) as missing:
        read_rows(xlsx([["name"], ["x"]]), "units.xlsx", COLUMNS)
    assert missing.value.errors == {"columns": ["Missing column 职工人数 Headcount."]}
    with pytest.raises(Problem) as unreadable:
        read_rows(b"not a workbook", "units.xlsx", COLUMNS)
    assert unreadable.value.problem.code == "unreadable_file"


def test_export_writes_xlsx_and_csv_and_defuses_formulas():
    rows = [{"name": '=HYPERLINK("x")', "headcount": 5}, {"name": "-3", "headcount": Decimal("1.50")}]
    with Flask("t").app_context():
        book = load_workbook(io.BytesIO(export(rows, COLUMNS, "xlsx", "units").get_data()))
        csv_response = export(rows, COLUMNS, "csv", "units")
    values = list(book.active.iter_rows(values_only=True))
    assert values[0] == ("单位名称 Unit name", "职工人数 Headcount")
    assert values[1][0] == '\'=HYPERLINK("x")' and values[2][0] == "-3"
    text = csv_response.get_data().decode("utf-8-sig")
    assert text.splitlines()[2] == "-3,1.50"
    assert csv_response.headers["Content-Disposition"] == 'attachment; filename="units.csv"'


def test_an_xlsx_export_streams_its_first_bytes_before_the_rows_are_all_read_and_keeps_the_types():
    read = []

    def rows():
        for number in range(60_000):
            read.append(number)
            yield {
                "name": f"单位{number} <&> \x07",
                "headcount": Decimal("1500.00") if number % 2 else number,
                "on": date(2014, 3, 1),
            }

    columns = [*COLUMNS, Column("on", "日期 Date")]
    pieces = chunks("xlsx", rows(), columns)
    first = next(pieces)
    assert first[:2] == b"PK" and len(read) == 1  # sent once the first row is read: the download starts
    book = load_workbook(io.BytesIO(first + b"".join(pieces)), read_only=True)
    values = list(book.active.iter_rows(values_only=True))
    assert len(values) == 60_001 and values[0] == ("单位名称 Unit name", "职工人数 Headcount", "日期 Date")
    assert values[1] == ("单位0 <&> ", 0, datetime(2014, 3, 1)) and values[2][1] == 1500


def test_constants_are_written_into_the_statement_and_anything_else_is_refused():
    from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

    from servicekit.db import among_constants

    enrolments = Table("enrolments", MetaData(), Column("status", String))
    query = select(enrolments.c.status).where(among_constants(enrolments.c.status, ("sent", "requested")))
    assert "enrolments.status IN ('sent', 'requested')" in str(query), "no bound parameter to render anew"
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        enrolments.create(connection)
        connection.execute(insert(enrolments), [{"status": s} for s in ("nominated", "sent", "requested")])
        assert sorted(connection.scalars(query)) == ["requested", "sent"]
    with pytest.raises(ValueError):
        among_constants(enrolments.c.status, ("sent", "x') OR ('1'='1"))
