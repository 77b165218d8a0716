"""The bus's guarantees, proven on the real PostgreSQL and RabbitMQ with real worker processes."""

from __future__ import annotations

import json
import threading
import time
import uuid

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text

from contracts import ContractViolation
from servicekit.bus.envelope import Envelope
from servicekit.bus.topology import events_exchange
from servicekit.db import RelayBell, outbox_channel, relay_bell
from tests.probe.models import Note

from .support.processes import free_port, wait_for
from .support.tcpproxy import TcpProxy

pytestmark = pytest.mark.servers


def publish_raw(probe, body, routing_key: str = "probe.noted", message_id: str | None = None) -> None:
    """Publish straight to the exchange, as a foreign or broken producer would."""
    with probe.connection() as connection:
        producer = connection.Producer(exchange=events_exchange(probe.bus))
        producer.publish(
            body,
            routing_key=routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            message_id=message_id or str(uuid.uuid4()),
        )


def outbox_pending(probe) -> int:
    outbox = probe.runtime.outbox
    with probe.runtime.engine.connect() as db:
        return db.execute(select(func.count()).where(outbox.c.published_at.is_(None))).scalar_one()


def test_rolled_back_transaction_publishes_nothing_committed_one_exactly_its_events(probe):
    tap = probe.tap("probe.noted")
    probe.worker()

    aborted = probe.client.post("/notes", json={"key": "rolled-back", "count": 2, "abort_after_write": True})
    assert aborted.status_code == 409
    assert aborted.mimetype == "application/problem+json"
    event_ids = probe.note("committed", count=3)

    seen = wait_for(lambda: (found := probe.drain(tap)) and found, message="published events")
    time.sleep(1.0)  # anything else the relay might still send would arrive by now
    seen += probe.drain(tap)
    assert sorted(m.properties["message_id"] for m in seen) == sorted(event_ids)
    assert {json.loads(m.body)["data"]["key"] for m in seen} == {"committed"}
    with probe.runtime.engine.connect() as db:
        assert db.execute(select(func.count()).select_from(Note).where(Note.key == "rolled-back")).scalar_one() == 0
    assert outbox_pending(probe) == 0
    assert probe.wait_count("committed", 3)["count"] == 3


def test_same_event_delivered_twice_changes_state_once(probe):
    probe.worker()
    event = Envelope.new("probe.noted", {"note_id": str(uuid.uuid4()), "key": "twice"}, producer="probe")
    publish_raw(probe, event.to_json(), message_id=event.id)
    publish_raw(probe, event.to_json(), message_id=event.id)
    probe.note("after-twice")  # a marker: once it is handled, both copies have been consumed
    probe.wait_count("after-twice", 1)
    time.sleep(0.5)
    tally = probe.tally("twice")
    assert tally["count"] == 1
    assert [h["event_id"] for h in tally["handlings"]] == [event.id]


def test_worker_killed_mid_handling_redelivers_and_handles_once(probe, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    first = probe.worker()
    [event_id] = probe.note("killed", sleep_s=3, marker_dir=str(markers))
    wait_for(lambda: (markers / event_id).exists(), message="handling to start")
    first.kill()
    assert probe.tally("killed")["count"] == 0  # the transaction never committed

    (markers / event_id).unlink()
    probe.worker()
    tally = probe.wait_count("killed", 1, timeout=30)
    assert (markers / event_id).exists(), "the message was redelivered to the new worker"
    time.sleep(0.5)
    assert probe.tally("killed")["count"] == 1
    assert [h["event_id"] for h in tally["handlings"]] == [event_id]


def test_broker_unreachable_writes_succeed_then_every_event_arrives_once(probe, servers):
    with TcpProxy(servers.amqp_host, servers.amqp_port) as proxy:
        probe.worker(
            BROKER_URL=probe.env["BROKER_URL"].replace(f":{servers.amqp_port}/", f":{proxy.port}/"),
            BROKER_HEARTBEAT="2",
        )
        probe.note("outage")
        probe.wait_count("outage", 1)

        proxy.cut()
        during = [probe.note("outage") for _ in range(10)]  # the API only touches its database
        assert len(during) == 10
        time.sleep(2.0)
        assert probe.tally("outage")["count"] == 1
        assert outbox_pending(probe) == 10

        proxy.restore()
        tally = probe.wait_count("outage", 11, timeout=60)
        time.sleep(1.0)
        tally = probe.tally("outage")
    assert tally["count"] == 11
    handled = [h["event_id"] for h in tally["handlings"]]
    assert len(handled) == len(set(handled)) == 11
    assert outbox_pending(probe) == 0


def test_poison_and_malformed_messages_are_parked_consumer_goes_on_replay_after_fix(probe):
    probe.worker()
    [poison_id] = probe.note("poison", poison=True)
    publish_raw(probe, b"{not json at all", message_id="malformed-1")
    publish_raw(probe, json.dumps({"id": str(uuid.uuid4()), "type": "probe.noted"}), message_id="malformed-2")
    probe.note("healthy")
    assert probe.wait_count("healthy", 1)["count"] == 1  # the consumer keeps consuming

    def dead_letters():
        listing = probe.cli("deadletters", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        return {letter["id"]: letter for letter in json.loads(listing.stdout)}

    letters = wait_for(lambda: len(found := dead_letters()) == 3 and found, timeout=30, message="three dead letters")
    assert letters[poison_id]["reason"].startswith("ValueError: poisoned")
    assert letters[poison_id]["attempts"] == 3  # the first try and two retries
    assert letters["malformed-1"]["reason"].startswith("malformed: body is not JSON")
    assert "envelope lacks" in letters["malformed-2"]["reason"]
    assert dead_letters().keys() == letters.keys(), "listing leaves the dead letters in place"

    shown = probe.cli("deadletters", "show", poison_id)
    assert shown.returncode == 0 and '"poison": true' in shown.stdout

    assert probe.client.post("/cures/poison").status_code == 201
    replayed = probe.cli("deadletters", "replay", poison_id)
    assert replayed.returncode == 0 and poison_id in replayed.stdout
    assert probe.wait_count("poison", 1)["count"] == 1
    assert set(dead_letters()) == {"malformed-1", "malformed-2"}

    dropped = probe.cli("deadletters", "drop", "malformed-1", "malformed-2")
    assert dropped.returncode == 0
    assert dead_letters() == {}


def test_failed_handling_is_retried_with_growing_delay(probe):
    probe.worker()
    started = time.monotonic()
    [event_id] = probe.note("flaky", fail_until_attempt=3)
    tally = probe.wait_count("flaky", 1)
    elapsed = time.monotonic() - started
    assert tally["handlings"] == [{"event_id": event_id, "pid": tally["handlings"][0]["pid"], "attempt": 3}]
    assert elapsed >= 0.6, "waited 200 ms, then 400 ms, before the third attempt"


def test_two_workers_share_one_queue_without_double_handling(probe):
    workers = [probe.worker(), probe.worker()]
    for _ in range(10):
        probe.note("shared", count=20, sleep_s=0.01)
    tally = probe.wait_count("shared", 200, timeout=60)
    time.sleep(1.0)
    tally = probe.tally("shared")
    handled = [h["event_id"] for h in tally["handlings"]]
    assert tally["count"] == 200
    assert len(handled) == len(set(handled)) == 200
    assert {h["pid"] for h in tally["handlings"]} == {w.pid for w in workers}


def test_event_breaking_its_contract_is_refused_at_publish_time(probe):
    with probe.runtime.unit_of_work() as uow:
        with pytest.raises(ContractViolation) as refused:
            uow.publish("probe.noted", {"note_id": "not-a-uuid", "key": "x", "sleep_s": "long"})
        with pytest.raises(ContractViolation, match="no such event type"):
            uow.publish("probe.never_defined", {})
    message = str(refused.value)
    assert "probe.noted v1" in message and "data.note_id" in message and "data.sleep_s" in message
    assert outbox_pending(probe) == 0


def test_event_no_queue_is_bound_to_is_recorded_loudly_and_delivered_once_replayed(probe):
    worker = probe.worker()
    event_id = probe.client.post("/unheard", json={"key": "k"}).get_json()["event_id"]

    def recorded():
        listing = probe.cli("unroutable", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        return json.loads(listing.stdout)

    [letter] = wait_for(recorded, message="the event recorded as unroutable")
    assert (letter["id"], letter["type"]) == (event_id, "probe.unheard")
    assert letter["reason"] == "unroutable: no queue is bound to 'probe.unheard'"
    assert outbox_pending(probe) == 0, "published: an idle system's outbox is empty"
    [line] = [json.loads(line) for line in worker.log().splitlines() if '"unroutable event' in line]
    assert (line["level"], line["event_type"], line["event_id"], line["producer"]) == (
        "error",
        "probe.unheard",
        event_id,
        "probe",
    )
    metrics = probe.client.get("/metrics").get_data(as_text=True)
    queue = probe.bus.unroutable_queue
    assert f'bus_queue_messages{{queue="{queue}",role="unroutable",service="probe"}} 1.0' in metrics

    tap = probe.tap("probe.unheard")  # a consumer of the type at last
    replayed = probe.cli("unroutable", "replay", "--all")
    assert replayed.returncode == 0 and event_id in replayed.stdout
    received = wait_for(lambda: probe.drain(tap), message="the event once replayed")
    assert json.loads(received[0].body)["data"] == {"key": "k"}
    assert recorded() == []


def test_one_failing_event_in_a_batch_does_not_undo_or_repeat_the_others(probe):
    probe.note("batch", count=10)
    [poison_id] = probe.note("batch-poison", poison=True)
    probe.note("batch", count=10)

    worker = probe.worker()  # its relay publishes all 21 at once; its consumer takes them in batches
    probe.wait_count("batch", 20)
    wait_for(lambda: json.loads(probe.cli("deadletters", "list", "--json").stdout), message="the poison parked")
    tally = probe.tally("batch")
    handled = [h["event_id"] for h in tally["handlings"]]
    assert tally["count"] == 20 and len(set(handled)) == 20
    listing = json.loads(probe.cli("deadletters", "list", "--json").stdout)
    assert [letter["id"] for letter in listing] == [poison_id]
    batches = [json.loads(line) for line in worker.log().splitlines() if '"batch handled"' in line]
    assert any(b["failed"] == 1 and b["events"] > 1 for b in batches), "the poison shared a batch with others"


def test_a_failing_event_in_a_batch_is_retried_alone_and_the_others_committed_once(probe):
    probe.note("retried-batch", count=10)
    [flaky_id] = probe.note("retried-flaky", fail_until_attempt=2)
    probe.note("retried-batch", count=10)

    worker = probe.worker()  # its relay publishes all 21 at once; its consumer takes them in batches
    flaky = probe.wait_count("retried-flaky", 1)
    probe.wait_count("retried-batch", 20)
    time.sleep(0.5)  # a repeated handling would show by now
    assert [(h["event_id"], h["attempt"]) for h in probe.tally("retried-flaky")["handlings"]] == [(flaky_id, 2)]
    assert flaky["count"] == 1
    tally = probe.tally("retried-batch")
    assert tally["count"] == 20
    assert len({h["event_id"] for h in tally["handlings"]}) == 20
    assert {h["attempt"] for h in tally["handlings"]} == {1}, "the others were committed with the first batch"
    batches = [json.loads(line) for line in worker.log().splitlines() if '"batch handled"' in line]
    assert any(b["failed"] == 1 and b["events"] > 1 for b in batches), "the failing event shared a batch"
    assert json.loads(probe.cli("deadletters", "list", "--json").stdout) == []


def test_the_same_event_delivered_twice_in_one_batch_is_handled_once(probe):
    twin = Envelope.new("probe.noted", {"note_id": str(uuid.uuid4()), "key": "twin"}, producer="probe")
    other = Envelope.new("probe.noted", {"note_id": str(uuid.uuid4()), "key": "beside-twin"}, producer="probe")
    for event in (twin, other, twin):  # queued before the worker starts: its consumer takes them in one batch
        publish_raw(probe, event.to_json(), message_id=event.id)

    worker = probe.worker()
    probe.wait_count("twin", 1)
    probe.wait_count("beside-twin", 1)
    time.sleep(0.5)
    assert [h["event_id"] for h in probe.tally("twin")["handlings"]] == [twin.id]
    assert [h["event_id"] for h in probe.tally("beside-twin")["handlings"]] == [other.id]
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert [b["events"] for b in lines if b["msg"] == "batch handled"] == [3]
    assert [d["event_id"] for d in lines if d["msg"] == "duplicate event ignored"] == [twin.id]
    assert outbox_pending(probe) == 0 and probe.tally("twin")["count"] == 1


def test_the_worker_counts_events_published_and_handled_by_type_on_its_metrics_port(probe):
    port = free_port()
    probe.worker(METRICS_PORT=str(port))
    probe.note("counted", count=3)
    probe.note("counted-flaky", fail_until_attempt=2)
    probe.wait_count("counted", 3)
    probe.wait_count("counted-flaky", 1)

    def counted(name: str, **labels) -> float:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        found = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return found.get((name, frozenset({"service": "probe", "type": "probe.noted", **labels}.items())), 0)

    handled = "bus_events_handled_total"
    wait_for(lambda: counted(handled, outcome="handled") == 4, message="the handled events counted")
    assert counted(handled, outcome="failed") == 1, "the flaky event's first attempt"
    assert counted("bus_events_published_total") == 4


def test_the_relay_is_woken_by_the_commit_not_by_its_poll(probe):
    # The safety poll set far beyond the waits below: only the commit's NOTIFY can wake the relay in time.
    probe.worker(RELAY_SAFETY_POLL_SECONDS="120")
    probe.note("wake-first")
    probe.wait_count("wake-first", 1, timeout=60)
    time.sleep(0.3)  # the relay is idle again, waiting
    started = time.monotonic()
    probe.note("wake-second")
    probe.wait_count("wake-second", 1, timeout=10)
    assert time.monotonic() - started < 10


def test_the_relay_bell_announces_the_rings_of_its_rest_by_one_notify_after_it(make_database):
    url = make_database("bellrest")
    engine = create_engine(url)
    listener = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    try:
        listener.execute(f'LISTEN "{outbox_channel("rest")}"')
        bell = RelayBell(engine, outbox_channel("rest"), rest=0.5)

        def notifications(timeout: float, stop_after: int | None = None) -> list[float]:
            return [time.monotonic() for _ in listener.notifies(timeout=timeout, stop_after=stop_after)]

        bell.ring()
        first = notifications(5, stop_after=1)
        assert len(first) == 1, "a ring alone is announced at once"
        for _ in range(10):
            bell.ring()  # during the rest that began with the NOTIFY
        after = notifications(2)
        assert len(after) == 1, "the rings of the rest, by one NOTIFY"
        assert after[0] - first[0] > 0.3, "sent once the rest was over"
        assert notifications(1) == [], "nothing rung since"
    finally:
        listener.close()
        engine.dispose()


def test_the_relay_bell_notifies_after_every_ring_and_recovers_its_lost_connection(make_database):
    url = make_database("bell")
    engine = create_engine(url, pool_pre_ping=True)
    listener = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    try:
        listener.execute(f'LISTEN "{outbox_channel("bell")}"')
        bell = relay_bell(engine, "bell")
        assert relay_bell(engine, "bell") is bell  # one per process, engine and producer

        def notified() -> bool:
            return any(True for _ in listener.notifies(timeout=5, stop_after=1))

        threads = [threading.Thread(target=bell.ring) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert notified()  # rings coming together are answered, by as few NOTIFYs as the bell can

        # The bell's connection dies (a restart, an administrator): that ring is lost to the relay's poll,
        # the next one reconnects.
        with engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid NOT IN (pg_backend_pid(), :listener)"
                ),
                {"listener": listener.info.backend_pid},
            )
        bell.ring()
        time.sleep(0.5)
        bell.ring()
        wait_for(notified, 10, 0.1, "a NOTIFY after the bell's connection was lost")
    finally:
        listener.close()
        engine.dispose()
