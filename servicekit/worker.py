"""The `worker` process of a service: event consumer, outbox relay and (if it awaits answers) saga sweeper."""

from __future__ import annotations

import logging
import signal
import threading

from prometheus_client import start_http_server

from .bus.consumer import Consumer
from .bus.relay import Relay
from .sagas import Sweeper
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
    threads = [threading.Thread(target=Relay(runtime, stop).run, name="relay", daemon=True)]
    if runtime.service.sagas:
        threads.append(threading.Thread(target=Sweeper(runtime, stop).run, name="saga-sweeper", daemon=True))
    for thread in threads:
        thread.start()
    log.info("worker started", extra={"events": sorted(runtime.service.handlers)})
    Consumer(runtime, stop).run()
    for thread in threads:
        thread.join(timeout=10)
