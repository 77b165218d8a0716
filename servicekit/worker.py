"""The `worker` process of a service: event consumer and outbox relay side by side."""

from __future__ import annotations

import logging
import signal
import threading

from prometheus_client import start_http_server

from .bus.consumer import Consumer
from .bus.relay import Relay
from .service import Runtime

log = logging.getLogger(__name__)


def run_worker(runtime: Runtime) -> None:
    stop = threading.Event()

    def _stop(signum, _frame):
        log.info("worker stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    settings = runtime.settings
    if settings.metrics_port is not None:  # events published and handled, for Prometheus
        start_http_server(settings.metrics_port, addr=settings.host)
    relay = threading.Thread(target=Relay(runtime, stop).run, name="relay", daemon=True)
    relay.start()
    log.info("worker started", extra={"events": sorted(runtime.service.handlers)})
    Consumer(runtime, stop).run()
    relay.join(timeout=10)
