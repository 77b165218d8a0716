"""Events per second through the whole bus, beside raw kombu on the same broker, in one run.

    ./dev bench [--events 5000] [--workers 1 2] [--latency-samples 30]

Raw figures: kombu publishing with a confirm per message, publishing without
confirms, and consuming with an ack per message. Pipeline: events committed to
the probe service's outbox on PostgreSQL -> relay (batched confirms) ->
RabbitMQ -> consumer -> handler + inbox row committed on PostgreSQL, timed from
the commit until the last inbox row is there. Idle latency: one event at a time
on an idle worker, commit -> handled + inbox committed, median and p90, with the
relay woken by the commit (LISTEN/NOTIFY) and, side by side, by its poll alone
(RELAY_WAKE_ON_COMMIT=0, RELAY_POLL_SECONDS=0.2: how every hop waited before),
beside the raw round trip (a confirmed publish, then its consumption with an ack). Needs the local PostgreSQL and
RabbitMQ (or PG_ADMIN_DSN / AMQP_URL pointing elsewhere). A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import psycopg
from kombu import Connection, Queue
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.load import percentile  # noqa: E402

PG_ADMIN_DSN = os.environ.get("PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
BODY = (
    b'{"id":"00000000-0000-0000-0000-000000000000","type":"probe.noted","version":1,'
    b'"occurred_at":"2026-11-25T00:00:00+00:00","producer":"probe","correlation_id":"x",'
    b'"causation_id":null,"data":{"note_id":"00000000-0000-0000-0000-000000000000","key":"k"}}'
)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def raw_publish(count: int, confirm: bool, queue_name: str) -> float:
    options = {"confirm_publish": True} if confirm else {}
    with Connection(AMQP_URL, transport_options=options) as connection:
        queue = Queue(queue_name, durable=True)
        queue(connection.default_channel).declare()
        producer = connection.Producer()
        started = time.perf_counter()
        for _ in range(count):
            producer.publish(
                BODY,
                exchange="",
                routing_key=queue_name,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                declare=[],
            )
        return rate(count, time.perf_counter() - started)


def raw_consume(count: int, queue_name: str) -> float:
    received = 0
    with Connection(AMQP_URL) as connection:

        def on_message(message):
            nonlocal received
            message.ack()
            received += 1

        with connection.Consumer(Queue(queue_name, durable=True), on_message=on_message, prefetch_count=100):
            started = time.perf_counter()
            while received < count:
                connection.drain_events(timeout=10)
            elapsed = time.perf_counter() - started
        connection.default_channel.queue_delete(queue_name)
    return rate(count, elapsed)


def raw_round_trip(samples: int) -> list[float]:
    """Seconds from a confirmed publish to its consumption (acked), one message at a time."""
    queue_name = f"bench-rtt-{uuid.uuid4().hex[:8]}"
    seconds = []
    with (
        Connection(AMQP_URL, transport_options={"confirm_publish": True}) as publishing,
        Connection(AMQP_URL) as consuming,
    ):
        queue = Queue(queue_name, durable=True)
        queue(publishing.default_channel).declare()
        producer = publishing.Producer()
        received = []
        with consuming.Consumer(queue, on_message=lambda m: (m.ack(), received.append(1)), prefetch_count=10):
            for _ in range(samples):
                started = time.perf_counter()
                producer.publish(BODY, exchange="", routing_key=queue_name, delivery_mode=2, declare=[])
                while not received:
                    consuming.drain_events(timeout=10)
                received.clear()
                seconds.append(time.perf_counter() - started)
        publishing.default_channel.queue_delete(queue_name)
    return seconds


@contextmanager
def probe_workers(workers: int, namespace: str, database_url: str, **extra: str):
    env = {
        "PROBE_DATABASE_URL": database_url,
        "BROKER_URL": AMQP_URL,
        "BUS_NAMESPACE": namespace,
        "LOG_LEVEL": "WARNING",
        "RELAY_POLL_SECONDS": "0.05",
        "BUS_PREFETCH": "50",
        **extra,
    }
    os.environ.update(env)
    from servicekit import Runtime
    from servicekit.migrations import upgrade
    from tests.probe.service import SERVICE

    runtime = Runtime(SERVICE)
    upgrade(runtime)
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.probe", "worker"], cwd=REPO, env={**os.environ, **env})
        for _ in range(workers)
    ]
    try:
        _wait_for_consumers(runtime, workers)
        yield runtime
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        runtime.engine.dispose()
        with Connection(AMQP_URL) as connection:
            channel = connection.default_channel
            for suffix in (
                "probe",
                "probe.dead",
                *[f"probe.retry.{d}ms" for d in runtime.settings.bus.retry_delays_ms],
            ):
                channel.queue_delete(namespace + suffix)
            channel.exchange_delete(runtime.settings.bus.exchange)


def idle_latency(samples: int, namespace: str, database_url: str, **extra: str) -> list[float]:
    """Seconds from committing one event to its inbox row committed, one at a time on an idle worker."""
    with probe_workers(1, namespace, database_url, **extra) as runtime:
        inbox, seconds = runtime.inbox, []
        for i in range(samples + 1):
            time.sleep(0.25)  # idle: the relay is waiting again
            with runtime.unit_of_work() as uow:
                event = uow.publish("probe.noted", {"note_id": str(uuid.uuid4()), "key": f"idle{i}"})
                uow.commit()
            started = time.perf_counter()
            while True:
                with runtime.engine.connect() as db:
                    if db.execute(select(inbox.c.event_id).where(inbox.c.event_id == event.id)).first():
                        break
                time.sleep(0.001)
            if i:  # the first one warms up
                seconds.append(time.perf_counter() - started)
        return seconds


def pipeline(events: int, workers: int, namespace: str, database_url: str) -> tuple[float, float]:
    with probe_workers(workers, namespace, database_url) as runtime:
        with runtime.unit_of_work() as uow:
            for i in range(events):
                uow.publish("probe.noted", {"note_id": str(uuid.uuid4()), "key": f"k{i}"})
            uow.commit()
        started = time.perf_counter()
        relayed_at = None
        outbox, inbox = runtime.outbox, runtime.inbox
        while True:
            with runtime.engine.connect() as db:
                pending = db.execute(select(func.count()).where(outbox.c.published_at.is_(None))).scalar_one()
                handled = db.execute(select(func.count()).select_from(inbox)).scalar_one()
            if relayed_at is None and pending == 0:
                relayed_at = time.perf_counter()
            if handled >= events:
                break
            time.sleep(0.02)
        finished = time.perf_counter()
        return rate(events, (relayed_at or finished) - started), rate(events, finished - started)


def _wait_for_consumers(runtime, workers: int) -> None:
    deadline = time.monotonic() + 30
    with Connection(AMQP_URL) as connection:
        while time.monotonic() < deadline:
            try:
                _, _, consumers = connection.default_channel.queue_declare(
                    queue=runtime.settings.bus.queue("probe"), passive=True
                )
                if consumers >= workers:
                    return
            except Exception:
                connection.close()
                connection = Connection(AMQP_URL)
            time.sleep(0.1)
    raise SystemExit("workers did not start consuming within 30 s")


@contextmanager
def fresh_database():
    """The SQLAlchemy URL of a new PostgreSQL database, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        params = dict(item.split("=", 1) for item in PG_ADMIN_DSN.split())
        yield (
            f"postgresql+psycopg://{params.get('user', 'postgres')}:{params.get('password', '')}@"
            f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
        )
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def on_fresh_database(run: Callable[[str, str], object]):
    with fresh_database() as url:
        return run(f"bench{uuid.uuid4().hex[:6]}.", url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--raw-confirmed", type=int, default=3000)
    parser.add_argument("--raw", type=int, default=30000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latency-samples", type=int, default=30)
    args = parser.parse_args()

    raw_queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    confirmed = raw_publish(args.raw_confirmed, True, raw_queue)
    unconfirmed = raw_publish(args.raw, False, raw_queue)
    consumed = raw_consume(args.raw_confirmed + args.raw, raw_queue)
    print(f"raw kombu publish, confirm per message : {confirmed:9,.0f} msg/s  ({args.raw_confirmed} messages)")
    print(f"raw kombu publish, no confirms         : {unconfirmed:9,.0f} msg/s  ({args.raw} messages)")
    print(f"raw kombu consume, ack per message     : {consumed:9,.0f} msg/s")
    for workers in args.workers:
        relay, full = on_fresh_database(lambda namespace, url: pipeline(args.events, workers, namespace, url))
        print(
            f"pipeline, {workers} worker(s): relay (outbox -> confirmed) {relay:9,.0f} ev/s; "
            f"end to end (commit -> handled + inbox committed) {full:9,.0f} ev/s  ({args.events} events)"
        )
        print(
            f"    ratios: end to end / raw confirmed publish = {full / confirmed:5.2f}; "
            f"relay / raw confirmed publish = {relay / confirmed:5.2f}; end to end / raw consume = {full / consumed:5.2f}"
        )
    if args.latency_samples:
        samples = args.latency_samples
        raw = raw_round_trip(samples)
        woken = on_fresh_database(lambda namespace, url: idle_latency(samples, namespace, url))
        polled = on_fresh_database(
            lambda namespace, url: idle_latency(
                samples, namespace, url, RELAY_WAKE_ON_COMMIT="0", RELAY_POLL_SECONDS="0.2"
            )
        )
        raw_p50 = percentile(raw, 0.5)
        for label, seconds in (
            ("raw round trip (confirmed publish -> consumed)", raw),
            ("one event, relay woken by the commit", woken),
            ("one event, relay polling every 0.2 s (before)", polled),
        ):
            p50, p90 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.9) * 1000
            print(
                f"idle latency, {label:48}: p50 {p50:7.1f} ms, p90 {p90:7.1f} ms"
                f"  (p50 / raw p50 = {p50 / 1000 / raw_p50:5.1f}; {samples} samples)"
            )


if __name__ == "__main__":
    main()
