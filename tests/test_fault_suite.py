"""The fault suite: the system deployed as in production (tests/support/deployed.py) takes a stream of
registrations, payments and exam results through the gateway (tests/support/workload.py) while

  (1) PostgreSQL is cut for 45 s, (2) RabbitMQ is cut for 30 s, (3) each service's worker and api is killed
  with SIGKILL once and started again.

After each: every registration reached its final state with no manual replay, no dead letter and no
unroutable event, nothing lost and nothing doubled (one enrolment, one reservation, one payment and one
result per student), every outbox empty, and `python -m services.finance invariants` finds no drift.
During (1) the callers got 503, never 500. The timings (recovery, drain) are printed.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import requests

from demo.scenario import ELECTRICIAN
from tests.support.campaign import ADMIN, PASSWORD, Flows
from tests.support.deployed import SERVICES, Deployed
from tests.support.processes import wait_for
from tests.support.workload import Answers, Caller, Setting, Stream

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

UNIT, UNION, INSTITUTION = "GZ-TH", "GZ-TH-G1", "GZ-GCJS"
SETTINGS = {
    "RELAY_POLL_SECONDS": "0.1",
    "BROKER_HEARTBEAT": "5",
    "SAGA_REASK_SECONDS": "20",
    "SAGA_STALL_SECONDS": "600",
    "SAGA_SWEEP_SECONDS": "2",
    "IDEMPOTENCY_LEASE_SECONDS": "15",  # a request killed with its api holds its key this long
}
WARM_UP = 8.0  # seconds of stream before each fault


@pytest.fixture
def deployed(servers, vhost, tmp_path):
    system = Deployed(servers, vhost, tmp_path, **SETTINGS)
    yield system
    system.close()


def test_outages_during_a_stream_of_work_end_with_every_registration_done_once(deployed, tmp_path, capsys):
    flows = Flows(deployed.url, ADMIN, PASSWORD, tmp_path / "state", say=lambda line: None).set_up()
    flows.plan(UNIT, [ELECTRICIAN])
    flows.union_officer(UNION), flows.unit_officer(UNIT), flows.operator(INSTITUTION)  # their accounts
    setting = Setting(
        base_url=deployed.url,
        campaign_id=flows.campaign_id,
        union=(f"{UNION.lower()}.union", UNION),
        unit_officer=f"{UNIT.lower()}.officer",
        operator=f"{INSTITUTION.split('-')[1].lower()}.operator",
        machine=(flows.clients[INSTITUTION]["key_id"], flows.clients[INSTITUTION]["secret"]),
        password=PASSWORD,
        programme_id=ELECTRICIAN,
        notice_start=flows.day(-7),
        consent_on=flows.day(-2),
        held_on=flows.day(-2),
        today=flows.today.isoformat(),
    )
    answers = Answers()
    stream = Stream(setting, answers)
    federation = Caller(deployed.url, Answers()).login(*ADMIN)
    timings: list[dict] = []
    try:
        # (1) PostgreSQL away for 45 s: every database, the gateway's included
        cut, restored = outage(stream, deployed.pg, 45, lambda: database_away(deployed))
        recovered = wait_for(lambda: gateway_ready(deployed) and time.monotonic(), 60, 0.2, "the gateway ready")
        stream.pause()
        drained = drain(deployed, federation)
        during = answers.between(cut + 1, restored)
        assert during[503] > 0, during
        assert not answers.server_errors(), answers.server_errors()[:5]
        timings.append(timing("PostgreSQL cut 45 s", stream, answers, restored, recovered, drained, during))
        verify(deployed, federation, flows, stream)

        # (2) RabbitMQ away for 30 s: the apis keep taking writes (outboxes), the workers reconnect
        cut, restored = outage(stream, deployed.amqp, 30, lambda: broker_away(deployed))
        recovered = wait_for(
            lambda: all(deployed.ready(name) for name in SERVICES) and time.monotonic(), 60, 0.2, "the apis ready"
        )
        stream.pause()
        drained = drain(deployed, federation)
        during = answers.between(cut + 1, restored)
        assert answers.writes_between(cut + 1, restored) >= 10, "nominations and registrations went on"
        assert not answers.server_errors(), answers.server_errors()[:5]
        timings.append(timing("RabbitMQ cut 30 s", stream, answers, restored, recovered, drained, during))
        verify(deployed, federation, flows, stream)

        # (3) every worker and api killed (SIGKILL) once, and started again by the supervisor
        stream.start()
        time.sleep(WARM_UP)
        started, restarts = time.monotonic(), {}
        for name in SERVICES:
            deployed.kill_worker(name)
            killed = time.monotonic()
            deployed.kill_api(name)
            deployed.wait_ready(name)
            restarts[name] = round(time.monotonic() - killed, 1)
        restored = time.monotonic()
        stream.pause()
        drained = drain(deployed, federation)
        during = answers.between(started, restored)
        assert not answers.server_errors(), answers.server_errors()[:5]
        timings.append(
            timing("kill -9 each worker and api", stream, answers, restored, restored, drained, during)
            | {"api back (s)": restarts}
        )
        verify(deployed, federation, flows, stream)
    except BaseException:
        with capsys.disabled():
            print(f"\n== the processes' logs, last lines\n{deployed.tails()}")
        raise
    finally:
        report = "\n".join(
            f"{t['fault']:<28} students {t['students']:>3}  first write {t['first_write_s']}s  ready {t['recovered_s']}s"
            f"  drained {t['drained_s']}s  answers during {t['answers']}"
            + (f"  apis back after kill {t['api back (s)']}" if "api back (s)" in t else "")
            for t in timings
        )
        (tmp_path / "fault-timings.json").write_text(json.dumps(timings, indent=1))
        with capsys.disabled():
            print(f"\n== fault suite (seconds after the end of each fault)\n{report}")
    assert len(stream.done) >= 30, "the stream kept working"


def outage(stream: Stream, proxy, seconds: float, during) -> tuple[float, float]:
    """Cut the proxy for `seconds` while the stream runs; `during()` checks what operators see halfway."""
    stream.start()
    time.sleep(WARM_UP)
    cut = time.monotonic()
    proxy.cut()
    time.sleep(seconds / 2)
    during()
    time.sleep(max(0.0, cut + seconds - time.monotonic()))
    proxy.restore()
    return cut, time.monotonic()


def database_away(deployed: Deployed) -> None:
    for name in SERVICES:
        ready = requests.get(f"http://127.0.0.1:{deployed.ports[name]}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unreachable"), ready.text
    assert not gateway_ready(deployed)


def broker_away(deployed: Deployed) -> None:
    for name in SERVICES:
        ready = requests.get(f"http://127.0.0.1:{deployed.ports[name]}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["broker"].startswith("unreachable"), ready.text
    # the events of the writes taken meanwhile wait in the outbox (the metrics are at most 5 s old)
    wait_for(
        lambda: deployed.metrics("enrollment")[("outbox_pending_events", ("service", "enrollment"))] > 0,
        10,
        1.0,
        "enrollment's outbox to hold the events of the registrations taken meanwhile",
    )


def gateway_ready(deployed: Deployed) -> bool:
    client = deployed.gateway.test_client()
    try:
        return client.get("/readyz").status_code == 200
    except OSError:
        return False


def drain(deployed: Deployed, federation: Caller, timeout: float = 240) -> float:
    """The moment nothing is left to do: outboxes, queues and retries empty, no saga waiting."""
    deadline = time.monotonic() + timeout
    while (busy := still_busy(deployed, federation)) and time.monotonic() < deadline:
        time.sleep(1.0)
    assert not busy, f"not drained after {timeout:.0f}s: {busy}"
    return time.monotonic()


def still_busy(deployed: Deployed, federation: Caller) -> list:
    """What is left to do, as an operator sees it: metrics of every api, the lists of waiting saga items."""
    busy = []
    for name in SERVICES:
        metrics = deployed.metrics(name)
        pending = metrics.get(("outbox_pending_events", ("service", name)))
        if pending != 0:
            busy.append((name, "outbox_pending_events", pending))
        busy += [
            (name, dict(key[1:]).get("queue"), value)
            for key, value in metrics.items()
            if key[0] == "bus_queue_messages" and dict(key[1:]).get("role") in ("consumer_lag", "retry") and value
        ]
    for name in ("enrollment", "finance"):
        waiting = federation.send("GET", f"/api/{name}/stalled", params={"state": "waiting", "limit": 500}).json()
        busy += [(name, w["saga"], w["item_id"]) for w in waiting]
    return busy


def verify(deployed: Deployed, federation: Caller, flows: Flows, stream: Stream) -> None:
    students = stream.done
    assert students and all(s["status"] == "registered" for s in students.values())
    enrolments = federation.send(
        "GET",
        "/api/enrollment/enrolments",
        params={"campaign_id": flows.campaign_id, "programme_id": ELECTRICIAN, "limit": 500},
    ).json()
    assert sorted(e["enrolment_id"] for e in enrolments) == sorted(students), "one enrolment per student"
    assert {(e["status"], e["payment_status"]) for e in enrolments} == {("registered", "full")}

    reservations = federation.send(
        "GET", f"/api/quota/campaigns/{flows.campaign_id}/reservations", params={"unit_id": UNIT, "limit": 500}
    ).json()
    held = Counter(r["enrolment_id"] for r in reservations if r["enrolment_id"] in students)
    assert held == Counter(list(students)), "one reservation per registration"
    for row in reservations:
        if row["enrolment_id"] in students:
            assert (row["status"], row["amount"]) == ("consumed", students[row["enrolment_id"]]["federation"])

    for enrolment_id, student in students.items():
        breakdown = federation.send("GET", f"/api/finance/enrolments/{enrolment_id}/breakdown").json()
        assert (breakdown["paid"], breakdown["payment_status"]) == (student["total"], "full"), "paid once"
    results = federation.send("GET", "/api/evaluation/results", params={"limit": 500}).json()
    assert Counter(r["enrolment_id"] for r in results if r["enrolment_id"] in students) == Counter(list(students))

    for name, (status, out, err) in deployed.cli_everywhere("deadletters", "list", "--json").items():
        assert status == 0 and json.loads(out) == [], (name, out, err)
    unroutable = deployed.cli("quota", "unroutable", "list", "--json")
    assert json.loads(unroutable.stdout) == [], unroutable.stdout
    invariants = deployed.cli("finance", "invariants")
    assert invariants.returncode == 0, invariants.stdout + invariants.stderr


def timing(fault, stream, answers, restored, recovered, drained, during) -> dict:
    first = answers.first_success_after(restored)
    return {
        "fault": fault,
        "students": len(stream.done),
        "first_write_s": round(first - restored, 1) if first else None,
        "recovered_s": round(recovered - restored, 1),
        "drained_s": round(drained - restored, 1),
        "answers": dict(sorted(during.items())),
    }
