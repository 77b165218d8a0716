"""Each service's OpenAPI document is valid 3.1 that tools can trust, and no number is taken unbounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from servicekit.app import ServiceApi
from servicekit.money import Money


class RateIn(Schema):
    rate = fields.Decimal(as_string=True, places=4, validate=validate.Range(min=Decimal("0"), max=Decimal("1")))
    seats = fields.Integer(validate=validate.Range(min=0, max=1000))
    amount = Money()


class Unbounded(Schema):
    seats = fields.Integer(validate=validate.Range(min=0))


def blueprint(schema) -> Blueprint:
    blp = Blueprint("rates", __name__)

    @blp.route("/rates/<int:year>", methods=["PUT", "GET"])
    @blp.arguments(schema)
    @blp.response(200, schema)
    def rates(body, year):
        return body

    @blp.route("/rates", methods=["POST"])
    @blp.arguments(schema)
    @blp.response(201, schema)
    def add_rate(body):
        return body

    return blp


def spec_of(schema) -> tuple[Flask, dict]:
    app = Flask("quota")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    api = ServiceApi(app)
    api.register_blueprints([blueprint(schema)])
    return app, api.spec.to_dict()


def test_every_operation_has_a_stable_unique_id_named_after_its_service_and_function():
    _app, spec = spec_of(RateIn)
    ids = {
        f"{m.upper()} {p}": op["operationId"]
        for p, item in spec["paths"].items()
        for m, op in item.items()
        if m != "parameters"
    }
    assert ids == {
        "PUT /rates/{year}": "quota_rates_put",
        "GET /rates/{year}": "quota_rates_get",
        "POST /rates": "quota_add_rate",
    }


def test_decimal_bounds_are_numbers_and_string_decimals_are_documented_as_strings():
    _app, spec = spec_of(RateIn)
    rate = spec["components"]["schemas"]["RateIn"]["properties"]["rate"]
    assert rate["minimum"] == 0 and rate["maximum"] == 1 and "string" in rate["type"]
    amount = spec["components"]["schemas"]["RateIn"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["pattern"] == r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


def test_a_path_integer_is_bounded_by_an_integer_column_and_longer_ones_match_no_route():
    app, spec = spec_of(RateIn)
    [year] = spec["paths"]["/rates/{year}"]["parameters"]
    assert year["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    client = app.test_client()
    assert client.get("/rates/2147483648").status_code == 404
    assert client.get("/rates/" + "9" * 5000).status_code == 404


def test_an_app_taking_an_unbounded_number_is_not_built():
    with pytest.raises(ValueError, match="seats: no minimum and maximum"):
        spec_of(Unbounded)
