"""Nomination to registration on the embedded default: SQLite and the filesystem broker under var/, a worker process."""

from __future__ import annotations

import pytest

from servicekit.bus.envelope import Envelope
from services.enrollment.tests.helpers import CAMPAIGN, UNIT, Enrollment
from tests.support.processes import wait_for
from tests.support.stack import ServiceStack

SERVER_VARIABLES = ("ENROLLMENT_DATABASE_URL", "BROKER_URL", "BUS_NAMESPACE")


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env = {"VAR_DIR": str(tmp_path / "var"), "BUS_RETRY_DELAYS_MS": "300", "RELAY_POLL_SECONDS": "0.05"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stack = ServiceStack("services.enrollment", env, tmp_path)
    yield Enrollment(stack).ready()
    stack.close()


def test_nomination_to_registration_on_sqlite_and_the_filesystem_broker(embedded, tmp_path):
    stack = embedded.stack
    assert stack.runtime.engine.dialect.name == "sqlite" and stack.bus.url.startswith("localfs://")
    assert (tmp_path / "var" / "enrollment.db").exists()
    requested, registered = stack.tap("enrollment.requested"), stack.tap("enrollment.registered")
    stack.worker()

    sent = embedded.sent(1)
    path = f"/enrolments/{sent['enrolment_id']}"
    asked = embedded.ok(embedded.client.post(f"{path}/register", headers=embedded.institution()), 202)
    [request] = wait_for(lambda: stack.drain(requested), timeout=30, message="enrollment.requested relayed")
    request = Envelope.parse(request.body).data
    assert (request["enrolment_id"], request["amount"], request["revision"]) == (
        sent["enrolment_id"],
        "940.00",
        asked["revision"],
    )

    stack.publish(
        "quota.reserved",
        {
            "enrolment_id": sent["enrolment_id"],
            "campaign_id": CAMPAIGN,
            "unit_id": UNIT,
            "kind": "skills",
            "amount": "940.00",
            "revision": request["revision"],
        },
    )
    [event] = wait_for(lambda: stack.drain(registered), timeout=30, message="enrollment.registered")
    event = Envelope.parse(event.body).data
    assert (event["enrolment_id"], event["holder_name_masked"]) == (sent["enrolment_id"], "职*1")
    assert embedded.ok(embedded.client.get(path, headers=embedded.officer()))["status"] == "registered"

    # The training ledger reads its lines on SQLite too (ids as an IN list there, an array on PostgreSQL).
    [line] = embedded.ok(embedded.client.get("/ledger", query_string={"format": "json"}, headers=embedded.admin()))
    assert (line["enrolment_id"], line["status"], line["federation_subsidy_requested"]) == (
        sent["enrolment_id"],
        "registered",
        "940.00",
    )
    full = embedded.ok(embedded.client.get(path, headers=embedded.grassroots()))["resident_id"]
    assert line["resident_id"] == full[:4] + "*" * 10 + full[-4:], "decrypted, then masked for the federation"
