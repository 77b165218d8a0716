"""Prometheus metrics: HTTP rate and latency, outbox backlog, consumer lag, dead letters, unroutable events,
saga items waiting and stalled (the api's /metrics), events published and handled by type (the worker's, on
METRICS_PORT)."""

from __future__ import annotations

import os
import time

from kombu import Connection
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from . import sagas
from .bus.topology import retry_queues
from .db import utcnow
from .service import Runtime

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

BUS_PUBLISHED = Counter(
    "bus_events_published_total", "Events the outbox relay published (confirmed by the broker)", ["service", "type"]
)
BUS_HANDLED = Counter(
    "bus_events_handled_total", "Events the consumer handled (outcome: handled, failed)", ["service", "type", "outcome"]
)


class BusCollector:
    """Read at scrape time from the service's database and broker (cached a few seconds)."""

    CACHE_SECONDS = 5.0

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._cached: tuple[float, list] = (0.0, [])

    def collect(self):
        taken_at, families = self._cached
        if time.monotonic() - taken_at > self.CACHE_SECONDS:
            families = self._outbox() + self._sagas() + self._queues()
            self._cached = (time.monotonic(), families)
        return families

    def _outbox(self) -> list:
        outbox = self.runtime.outbox
        service = self.runtime.service.name
        pending = GaugeMetricFamily("outbox_pending_events", "Committed events not yet published", labels=["service"])
        oldest = GaugeMetricFamily(
            "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished event", labels=["service"]
        )
        try:
            with self.runtime.engine.connect() as db:
                count, first = db.execute(
                    select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
                ).one()
        except Exception:
            return []
        pending.add_metric([service], count)
        if first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=utcnow().tzinfo)
            oldest.add_metric([service], (utcnow() - first).total_seconds())
        else:
            oldest.add_metric([service], 0)
        return [pending, oldest]

    def _sagas(self) -> list:
        table, service = self.runtime.saga_waits, self.runtime.service.name
        if table is None:
            return []
        waiting = GaugeMetricFamily(
            "saga_waiting_items", "Items awaiting another service's answer", labels=["service", "saga"]
        )
        stalled = GaugeMetricFamily(
            "saga_stalled_items", "Items past their deadline for another service's answer", labels=["service", "saga"]
        )
        try:
            with self.runtime.engine.connect() as db:
                found = sagas.counts(db, table)
        except Exception:
            return []
        for saga in self.runtime.service.sagas:
            items, late = found.get(saga.name, (0, 0))
            waiting.add_metric([service, saga.name], items)
            stalled.add_metric([service, saga.name], late)
        return [waiting, stalled]

    def _queues(self) -> list:
        bus, service = self.runtime.settings.bus, self.runtime.service.name
        depth = GaugeMetricFamily(
            "bus_queue_messages", "Messages waiting in the service's queues", labels=["service", "queue", "role"]
        )
        roles = [(bus.queue(service), "consumer_lag"), (bus.dead_letter_queue(service), "dead_letters")]
        if not bus.embedded:
            roles += [(q.name, "retry") for q in retry_queues(bus, service)]
            roles.append((bus.unroutable_queue, "unroutable"))  # shared by every service: any of them reports it
        try:
            with Connection(bus.url, connect_timeout=2, transport_options=bus.transport_options) as connection:
                channel = connection.default_channel
                for name, role in roles:
                    try:
                        _, count, _ = channel.queue_declare(queue=name, passive=True)
                    except Exception:
                        channel = connection.channel()  # a missing queue closes the channel on RabbitMQ
                        continue
                    depth.add_metric([service, name, role], count)
        except Exception:
            return []
        return [depth]


def exposition(*collectors) -> bytes:
    """The process's metrics (every gunicorn worker's, summed, under PROMETHEUS_MULTIPROC_DIR), then
    the `collectors` read at scrape time."""
    own = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        own.register(collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)
        return generate_latest(shared) + generate_latest(own)
    return generate_latest(REGISTRY) + generate_latest(own)
