"""Schemathesis over every service's own OpenAPI (in process, on PostgreSQL) and over the gateway's merged one
(the four services and the gateway on PostgreSQL and RabbitMQ), as the federation admin: every operation loads,
no answer is a server error, every answer fits the schema documented for its status (issue 14).

A fixed, seeded budget of generated requests per operation (half fitting the schema, half not):
FUZZ_EXAMPLES in process (default 20), FUZZ_GATEWAY_EXAMPLES through the gateway (default 8).
"""

from __future__ import annotations

import os

import pytest
import schemathesis

from demo.client import Gateway

from .support.campaign import ADMIN, shared_system
from .support.fuzzing import fuzz
from .support.openapi_validity import openapi_errors

pytestmark = pytest.mark.servers
SERVICES = ["quota", "enrollment", "finance", "evaluation"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
GATEWAY_EXAMPLES = int(os.environ.get("FUZZ_GATEWAY_EXAMPLES", "8"))


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_of_a_service_answers_within_its_documentation(name, stack_of):
    stack = stack_of(name)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", stack.app)
    assert openapi_errors(schema.raw_schema) == []
    report = fuzz(schema, lambda: stack.as_caller("federation_admin", "fuzzer"), EXAMPLES)
    print(f"\n{name}: {report}")
    assert report.ok, str(report)


@pytest.fixture(scope="module")
def gateway_url(servers, vhost, tmp_path_factory):
    with shared_system(servers, vhost, tmp_path_factory.mktemp("fuzzing")) as url:
        yield url


def test_every_operation_through_the_gateway_answers_within_the_merged_documentation(gateway_url):
    admin = Gateway(gateway_url).login(*ADMIN)
    schema = schemathesis.openapi.from_url(f"{gateway_url}/api/openapi.json")
    assert schema.raw_schema["x-unavailable-services"] == []
    report = fuzz(schema, lambda: {"Authorization": f"Bearer {admin.token}"}, GATEWAY_EXAMPLES)
    print(f"\ngateway: {report}")
    assert report.ok, str(report)
    # The admin's token got through to every operation (schemathesis leaves it out on purpose in some negative
    # cases, which the gateway must answer 401).
    assert report.only(401) == []
