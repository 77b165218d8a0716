"""Registration and transfer never wait silently for quota: asked again when late, visibly stalled past the
deadline (list, metric, log line), completed by a late answer. Quota is played by the test on the real broker."""

import json
import time
import uuid

import pytest

from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import CAMPAIGN, UNIT, Enrollment
from services.enrollment.tests.test_audit import trail
from services.enrollment.tests.test_registration import collect, status
from services.enrollment.tests.test_status_changes import changes_of, dearer_transfer
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers
# Asked again after 1 s, then 2 s later...; stalled after 4 s; the sweeper looks five times a second.
FAST = {"SAGA_REASK_SECONDS": "1", "SAGA_STALL_SECONDS": "4", "SAGA_SWEEP_SECONDS": "0.2"}


@pytest.fixture
def enrollment(stack_of):
    return Enrollment(stack_of("enrollment", **FAST)).ready()


def stalled(enrollment, **query) -> list[dict]:
    return enrollment.ok(enrollment.client.get("/stalled", headers=enrollment.admin(), query_string=query))


def metric(enrollment, saga: str) -> float | None:
    text = enrollment.client.get("/metrics").get_data(as_text=True)
    prefix = f'saga_stalled_items{{saga="{saga}",service="enrollment"}} '
    found = [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]
    return float(found[0]) if found else None


def log_lines(worker, message: str) -> list[dict]:
    return [entry for line in worker.log().splitlines() if '"msg": "' + message in line for entry in [json.loads(line)]]


def test_a_registration_quota_does_not_answer_is_asked_again_stalls_visibly_and_a_late_answer_completes_it(
    enrollment,
):
    stack = enrollment.stack
    requested = stack.tap("enrollment.requested")
    worker = stack.worker()
    sent = enrollment.sent(1)
    institution = enrollment.institution("GZ-ZGJS")
    asked = enrollment.ok(
        enrollment.client.post(f"/enrolments/{sent['enrolment_id']}/register", headers=institution), 202
    )

    requests = collect(stack, requested, 3)  # the request, asked again about 1 s and 3 s later
    assert all(r == requests[0] for r in requests), "the same request: same revision, same day, same amount"
    assert (requests[0]["revision"], requests[0]["requested_on"]) == (asked["revision"], today().isoformat())

    [item] = wait_for(lambda: stalled(enrollment), timeout=15, message="the registration stalled")
    assert (item["saga"], item["item_id"]) == ("registration", sent["enrolment_id"])
    assert item["asks"] >= 2 and item["stalled_at"] and item["awaits"].startswith("quota's answer")
    wait_for(lambda: metric(enrollment, "registration") == 1.0, timeout=10, message="saga_stalled_items 1")
    [line] = log_lines(worker, "saga item stalled: no answer in time")
    assert (line["level"], line["saga"], line["item_id"]) == ("warning", "registration", sent["enrolment_id"])
    auditor = stack.as_caller("auditor", subject="audit-1")
    seen = enrollment.ok(enrollment.client.get("/stalled", headers=auditor))
    assert [(w["saga"], w["item_id"]) for w in seen] == [("registration", sent["enrolment_id"])]
    assert enrollment.client.get("/stalled", headers=institution).status_code == 403

    # quota's answer at last (to any of the identical requests): the registration completes
    enrollment.quota_reserved(sent["enrolment_id"], "940.00", asked["revision"])
    wait_for(lambda: status(enrollment, sent["enrolment_id"], institution)["status"] == "registered")
    assert stalled(enrollment) == [] and stalled(enrollment, state="waiting") == []
    wait_for(lambda: metric(enrollment, "registration") == 0.0, timeout=10, message="saga_stalled_items 0")
    time.sleep(1.0)  # a request asked again just before the answer came is on the broker by now
    stack.drain(requested)
    time.sleep(2.5)  # more than the next ask's delay
    assert stack.drain(requested) == [], "nothing asked any more"


def test_a_transfer_waiting_for_quota_is_asked_again_and_completes_on_the_answer(enrollment):
    stack = enrollment.stack
    requested, transferred = stack.tap("enrollment.requested"), stack.tap("enrollment.transferred")
    enrolment_id, _, change = dearer_transfer(enrollment, requested)
    assert change["state"] == "awaiting_quota"

    first, *again = collect(stack, requested, 2)  # asked, then asked again
    assert again and all(r == first for r in again)
    assert (first["amount"], first["programme_id"]) == ("1008.00", "SYG-DG")
    assert [(w["saga"], w["item_id"]) for w in stalled(enrollment, state="waiting")] == [
        ("transfer", change["change_id"])
    ]
    enrollment.quota_reserved(enrolment_id, "1008.00", first["revision"])
    wait_for(
        lambda: changes_of(enrollment, enrolment_id)[-1]["state"] == "approved", timeout=60, message="the reservation"
    )
    assert collect(stack, transferred, 1)[0]["amount"] == "1008.00"
    assert stalled(enrollment, state="waiting") == []


def test_quota_answers_arriving_together_are_handled_in_one_batch_each_as_if_alone(enrollment):
    stack = enrollment.stack
    requested, registered = stack.tap("enrollment.requested"), stack.tap("enrollment.registered")
    worker = stack.worker()
    institution = enrollment.institution("GZ-ZGJS")
    sent = [enrollment.sent(n)["enrolment_id"] for n in range(1, 6)]
    for enrolment_id in sent:
        enrollment.ok(enrollment.client.post(f"/enrolments/{enrolment_id}/register", headers=institution), 202)
    asks = {r["enrolment_id"]: r for r in collect(stack, requested, len(sent))}
    worker.stop()  # the answers queue up, to be taken together

    reserved, refused = sent[:3], sent[3:]
    answer = {"campaign_id": CAMPAIGN, "unit_id": UNIT, "kind": "skills"}
    for enrolment_id in [*reserved, reserved[0]]:  # the first answer redelivered (a new event id)
        ask = asks[enrolment_id]
        stack.publish(
            "quota.reserved",
            {**answer, "enrolment_id": enrolment_id, "amount": ask["amount"], "revision": ask["revision"]},
        )
    for enrolment_id in refused:
        ask = asks[enrolment_id]
        stack.publish(
            "quota.refused",
            {
                **answer,
                "enrolment_id": enrolment_id,
                "amount": ask["amount"],
                "revision": ask["revision"],
                "reason": "no_quota_left",
            },
        )
    stack.publish("quota.reserved", {**answer, "enrolment_id": str(uuid.uuid4()), "amount": "940.00", "revision": 2})
    worker = stack.worker(BUS_PREFETCH="50")

    announced = {e["enrolment_id"]: e for e in collect(stack, registered, len(reserved))}
    assert sorted(announced) == sorted(reserved)
    for enrolment_id in reserved:
        now = status(enrollment, enrolment_id, institution)
        assert (now["status"], now["registered_on"]) == ("registered", today().isoformat())
        event = announced[enrolment_id]
        assert (event["revision"], event["registered_on"], event["trade"]) == (
            now["revision"],
            now["registered_on"],
            "电工",
        )
        assert event["holder_name_masked"] == f"职*{sent.index(enrolment_id) + 1}"  # 职工1: the name masked
        assert [e["action"] for e in trail(enrollment, entity_id=enrolment_id, action="enrolment.registered")] == [
            "enrolment.registered"
        ]
    wait_for(lambda: all(status(enrollment, i, institution)["status"] == "refused" for i in refused))
    for enrolment_id in refused:
        [entry] = trail(enrollment, entity_id=enrolment_id, action="enrolment.registration_refused")
        assert (entry["before"], entry["after"]) == (
            {"status": "requested"},
            {"status": "refused", "refusal_reason": "no_quota_left"},
        )
    assert stalled(enrollment, state="waiting") == [], "every wait ended"
    time.sleep(1.0)
    assert stack.drain(registered) == [], "the redelivered answer registered nothing twice"
    batches = [json.loads(line) for line in worker.log().splitlines() if '"batch handled"' in line]
    assert max(b["events"] for b in batches) > 1, "the answers were handled one by one"
