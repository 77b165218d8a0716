"""OpenTelemetry traces across the whole path: gateway → service → outbox → broker → consumer → next service.

Off unless the standard OTEL_* settings ask for an exporter: OTEL_TRACES_EXPORTER=otlp (or console),
or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) with
OTEL_TRACES_EXPORTER unset; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off. Off, no
tracer exists, nothing is recorded and the SDK is not even imported: every hook below is one test.

The W3C trace context (`traceparent`, `tracestate`) travels in HTTP headers between the gateway and the
services, and in the event envelope's `headers` on the bus: the request that writes an outbox row stores
its context in the row's envelope; the relay publishes under it (a producer span) and puts its own
context in the envelope it sends; the consumer handles the event under a consumer span, child of that,
so the events the handler publishes continue the same trace.

Each service process has its own tracer provider (resource `service.name` = the service), so that apps
of several services in one process (tests, ./dev's embedded mode) still report as themselves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

PROPAGATOR = TraceContextTextMapPropagator()
FIELDS = ("traceparent", "tracestate")
EXPORTERS = ("otlp", "console")

_tracers: dict[str, Tracer] = {}


def exporter_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """The exporter the OTEL_* settings ask for, or None: tracing off (the local default)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    chosen = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not chosen:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        return "otlp" if endpoint else None
    if chosen == "none":
        return None
    first = chosen.split(",")[0].strip()
    if first not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER={chosen!r}: this system exports traces to one of {EXPORTERS}")
    return first


def tracer_for(service: str) -> Tracer | None:
    """The service's tracer when the settings turn tracing on, else None (made once per process and service,
    anew if the settings changed since)."""
    exporter = exporter_setting()
    if exporter is None:
        return None
    key = f"{service}|{exporter}|{os.environ.get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') or os.environ.get('OTEL_EXPORTER_OTLP_ENDPOINT')}"
    if key not in _tracers:
        _tracers[key] = _make_tracer(service, exporter)
    return _tracers[key]


def _make_tracer(service: str, exporter: str) -> Tracer:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    span_exporter: SpanExporter
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()  # endpoint, headers, timeout, compression: OTEL_EXPORTER_OTLP_*
    else:
        span_exporter = ConsoleSpanExporter()
    # OTEL_RESOURCE_ATTRIBUTES adds to the resource (deployment.environment=...); the service name is ours.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))  # OTEL_BSP_* tune it
    log.info("tracing on", extra={"exporter": exporter})
    return provider.get_tracer("upskilling")


def current_headers() -> dict[str, str]:
    """The current span's context as W3C headers, or {} when no span is being recorded (tracing off)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


def span_headers(span: trace.Span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def parent_from(headers: Mapping[str, Any] | None) -> otel_context.Context:
    """The context W3C headers carry (a fresh root context when they carry none)."""
    carrier = {name: str(headers[name]) for name in FIELDS if headers and headers.get(name)}
    return PROPAGATOR.extract(carrier, context=otel_context.Context())


@contextmanager
def span(
    tracer: Tracer | None,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    headers: Mapping[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Iterator[trace.Span | None]:
    """A span made current for the block, child of the context `headers` carry; nothing at all without a tracer."""
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        name, context=parent_from(headers), kind=kind, attributes=attributes, record_exception=True
    ) as current:
        yield current


def start_span(
    tracer: Tracer,
    name: str,
    *,
    kind: SpanKind,
    headers: Mapping[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> trace.Span:
    """A span (not made current; the caller ends it), child of the context `headers` carry."""
    return tracer.start_span(name, context=parent_from(headers), kind=kind, attributes=attributes)


def failed(current: trace.Span | None, description: str) -> None:
    if current is not None:
        current.set_status(Status(StatusCode.ERROR, description[:200]))


def install_tracing(app, tracer: Tracer | None) -> None:
    """A server span per request of a Flask app, child of the caller's `traceparent` (the gateway's)."""
    if tracer is None:
        return
    from flask import g, request

    @app.before_request
    def _start_span():
        route = request.url_rule.rule if request.url_rule else "unmatched"
        started = tracer.start_span(
            f"{request.method} {route}",
            context=parent_from({name: request.headers.get(name) for name in FIELDS}),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "http.route": route},
        )
        g.trace_span = started
        g.trace_token = otel_context.attach(trace.set_span_in_context(started))

    @app.after_request
    def _status(response):
        current = g.get("trace_span")
        if current is not None:
            current.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                failed(current, f"HTTP {response.status_code}")
        return response

    @app.teardown_request
    def _end_span(exc):
        current, token = g.pop("trace_span", None), g.pop("trace_token", None)
        if current is None:
            return
        if exc is not None:
            current.record_exception(exc)
            failed(current, type(exc).__name__)
        current.end()
        if token is not None:
            otel_context.detach(token)
