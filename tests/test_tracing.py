"""One registration through the gateway is ONE connected trace: gateway → enrollment's api → its outbox and
relay → RabbitMQ → quota's consumer → quota's relay → enrollment's consumer → ... (issue 20).

Quota and enrollment (api in this process, a real worker process each) on PostgreSQL and RabbitMQ behind the
gateway, every one exporting its spans by OTLP (the standard OTEL_* settings) to a tiny collector."""

from __future__ import annotations

import secrets

import pytest

from demo.client import eventually
from demo.scenario import TEA_FCG
from tests.support.campaign import ADMIN, PASSWORD, Flows, gateway_before
from tests.support.otlp import Collector

pytestmark = pytest.mark.servers

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP's span kinds


@pytest.fixture
def traced(stack_of, make_database, tmp_path):
    with Collector() as collector:
        stacks = {name: stack_of(name, **collector.env) for name in ("quota", "enrollment")}
        with gateway_before(stacks, tmp_path / "var", make_database("gateway")) as url:
            yield collector, Flows(url, ADMIN, PASSWORD, tmp_path / "state", say=lambda line: None).set_up()


def test_one_registration_is_one_connected_trace(traced):
    collector, flows = traced
    flows.plan("GZ-TH", [TEA_FCG])
    nominee = flows.sent("GZ-TH-G1", 46, TEA_FCG)
    # The institution's system starts the trace (W3C traceparent); the gateway continues it.
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    operator = flows.operator("GZ-FCG")
    operator.post(
        f"/api/enrollment/enrolments/{nominee['enrolment_id']}/register",
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
    )
    answered = flows.wait_status(operator, nominee["enrolment_id"], ("registered", "refused"), "quota's answer")
    assert answered["status"] == "registered", answered

    def journey() -> list[str]:
        """The hops seen so far, once the last one (quota consuming enrollment.registered) is in."""
        spans = collector.trace(trace_id)
        hops = {(s.service, s.name, s.kind) for s in spans}
        return spans if ("quota", "enrollment.registered process", CONSUMER) in hops else []

    spans = eventually(
        journey,
        "the registration's last hop exported",
        timeout=60,
        last=lambda: f"spans of the trace so far: {sorted((s.service, s.name) for s in collector.trace(trace_id))}",
    )
    hops = {(s.service, s.name, s.kind) for s in spans}
    assert {
        ("gateway", "POST /api/enrollment", SERVER),
        ("enrollment", "POST /enrolments/<enrolment_id>/register", SERVER),
        ("enrollment", "enrollment.requested publish", PRODUCER),
        ("quota", "enrollment.requested process", CONSUMER),
        ("quota", "quota.reserved publish", PRODUCER),
        ("enrollment", "quota.reserved process", CONSUMER),
        ("enrollment", "enrollment.registered publish", PRODUCER),
        ("quota", "enrollment.registered process", CONSUMER),
    } <= hops, sorted(hops)
    # Connected: one root (the gateway's span, child of the caller's), every other span's parent is in the trace.
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert [(r.service, r.parent_id) for r in roots] == [("gateway", caller_span)]

    # Each hop's parent is the hop before it.
    by_id = {s.span_id: s for s in spans}

    def parent(service: str, name: str):
        span = next(s for s in spans if (s.service, s.name) == (service, name))
        above = by_id[span.parent_id]
        return above.service, above.name

    assert parent("enrollment", "POST /enrolments/<enrolment_id>/register") == ("gateway", "POST /api/enrollment")
    assert parent("enrollment", "enrollment.requested publish") == (
        "enrollment",
        "POST /enrolments/<enrolment_id>/register",
    )
    assert parent("quota", "enrollment.requested process") == ("enrollment", "enrollment.requested publish")
    assert parent("quota", "quota.reserved publish") == ("quota", "enrollment.requested process")
    assert parent("enrollment", "quota.reserved process") == ("quota", "quota.reserved publish")
    assert parent("quota", "enrollment.registered process") == ("enrollment", "enrollment.registered publish")
