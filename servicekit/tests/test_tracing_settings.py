"""Tracing is off unless the standard OTEL_* settings ask for it; the envelope carries the trace context only
when there is one (the cross-service trace itself: tests/test_tracing.py)."""

from __future__ import annotations

import uuid

import pytest

import tests.probe.contracts  # noqa: F401  (registers probe.noted)
from servicekit.bus.envelope import Envelope
from servicekit.tracing import current_headers, exporter_setting, tracer_for

ENDPOINT = "http://127.0.0.1:4318"
NOTE = {"note_id": str(uuid.uuid4()), "key": "traced"}


@pytest.mark.parametrize(
    ("environ", "exporter"),
    [
        ({}, None),  # the local default: off
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT + "/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, None),
    ],
)
def test_the_standard_settings_choose_the_exporter(environ, exporter):
    assert exporter_setting(environ) == exporter


def test_an_exporter_this_system_does_not_ship_is_refused():
    with pytest.raises(ValueError, match="zipkin"):
        exporter_setting({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_off_there_is_no_tracer_and_events_carry_no_headers(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracer_for("quota") is None
    assert current_headers() == {}
    event = Envelope.new("probe.noted", NOTE, producer="probe", headers={})
    assert "headers" not in event.to_dict()  # the same bytes on the bus as before tracing existed


def test_the_envelope_carries_the_trace_context_through_the_bus():
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    event = Envelope.new("probe.noted", NOTE, producer="probe", headers={"traceparent": traceparent})
    assert Envelope.parse(event.to_json()).headers == {"traceparent": traceparent}
    assert Envelope.parse({**event.to_dict(), "headers": "nonsense"}).headers == {}
