"""Read models filled from other services' events, through a real worker on RabbitMQ; stale revisions ignored."""

import pytest
from sqlalchemy import select

from services.evaluation.models import Campaign, Enrolment, Payment
from tests.support.processes import handled_in_batches, wait_for

from .helpers import CAMPAIGN, Evaluation, admitted, campaign, enrolment

pytestmark = pytest.mark.servers


def read(stack, model, key):
    with stack.runtime.engine.connect() as db:
        return db.execute(select(model).where(list(model.__table__.primary_key.columns)[0] == key)).first()


def test_events_on_the_broker_fill_the_read_models(stack_of):
    stack = stack_of("evaluation")
    stack.worker()
    student = enrolment()
    stack.publish("campaign.published", campaign())
    stack.publish("enrollment.registered", student)
    stack.publish(
        "payment.recorded",
        {
            "payment_id": "11111111-2222-4333-8444-555555555555",
            "enrolment_id": student["enrolment_id"],
            "amount": "2040.00",
            "paid_on": "2013-11-25",
            "status": "full",
        },
    )
    payment = wait_for(lambda: read(stack, Payment, "11111111-2222-4333-8444-555555555555"), message="payment")
    assert str(payment.amount) == "2040.00"
    row = wait_for(lambda: read(stack, Enrolment, student["enrolment_id"]), message="enrolment")
    assert (row.institution_id, row.status, row.employee_id, row.trade) == (
        "GZ-ZGJS",
        "registered",
        student["employee_id"],
        "电工",
    )
    assert read(stack, Campaign, CAMPAIGN).exams_from.isoformat() == "2014-03-01"


def test_a_stale_revision_never_overwrites_a_newer_state(evaluation):
    student = enrolment(revision=1)
    withdrawn = {k: student[k] for k in ("enrolment_id", "campaign_id", "kind", "unit_id", "institution_id")}
    evaluation.deliver(
        "enrollment.withdrawn", {**withdrawn, "revision": 3, "reason": "本人申请退学", "withdrawn_on": "2014-01-10"}
    )
    evaluation.deliver("enrollment.admitted", admitted(student))
    evaluation.deliver("enrollment.registered", student)
    row = read(evaluation.stack, Enrolment, student["enrolment_id"])
    # the withdrawal stands; the late events only filled in what the withdrawal did not carry
    assert (row.revision, row.status, row.employee_id, row.grassroots_union_id) == (
        3,
        "withdrawn",
        student["employee_id"],
        "G-1",
    )

    evaluation.deliver(
        "campaign.published", campaign(revision=3, windows={**campaign()["windows"], "exams_from": "2014-04-01"})
    )
    evaluation.deliver("campaign.published", campaign(revision=2))
    assert read(evaluation.stack, Campaign, CAMPAIGN).exams_from.isoformat() == "2014-04-01"


def test_a_transfer_moves_the_student_to_the_new_institution(evaluation):
    student = evaluation.enrol("GZ-ZGJS")
    evaluation.deliver(
        "enrollment.transferred",
        {
            "enrolment_id": student["enrolment_id"],
            "revision": 2,
            "campaign_id": CAMPAIGN,
            "kind": "skills",
            "unit_id": "U-HAIZHU",
            "from_institution_id": "GZ-ZGJS",
            "to_institution_id": "GZ-FCG",
            "from_programme_id": "GZ-ZGJS-P1",
            "to_programme_id": "GZ-FCG-P1",
            "fees": student["fees"],
            "reason": "人数不足开班",
            "transferred_on": "2013-12-20",
        },
    )
    row = read(evaluation.stack, Enrolment, student["enrolment_id"])
    assert (row.institution_id, row.programme_id, row.status) == ("GZ-FCG", "GZ-FCG-P1", "registered")


def test_a_batch_of_registrations_and_admissions_ends_as_if_handled_one_by_one(stack_of):
    batched, one_by_one = stack_of("evaluation"), Evaluation(stack_of("evaluation"))
    worker = batched.worker(BUS_PREFETCH="50")
    wait_for(lambda: "consumer ready" in worker.log(), message="the worker consuming")
    first, second, late = enrolment(), enrolment(kind="academic"), enrolment(revision=3)
    events = [
        ("enrollment.registered", first),
        ("enrollment.registered", second),
        ("enrollment.registered", late),
        ("enrollment.registered", first),  # delivered again: a new event id
        (
            "enrollment.registered",
            {**first, "revision": 2, "programme_id": "GZ-ZGJS-P2", "holder_name_masked": "张*明"},
        ),
        ("enrollment.registered", {**late, "revision": 2, "holder_name_masked": "李*"}),  # older: fills the name only
        ("enrollment.registered", {**late, "revision": 1, "trade": "焊工"}),
        ("enrollment.admitted", admitted(second, revision=3)),
        ("enrollment.admitted", admitted(second)),  # older than the admission before it
        ("enrollment.admitted", admitted(first, revision=2)),  # as old as what is known
    ]
    batched.publish_many(events, producer="enrollment")
    for event_type, data in events:
        one_by_one.deliver(event_type, data)
    ids = [first["enrolment_id"], second["enrolment_id"], late["enrolment_id"]]
    expected = [read(one_by_one.stack, Enrolment, i)._asdict() for i in ids]
    assert [(row["status"], row["revision"]) for row in expected] == [
        ("registered", 2),
        ("admitted", 3),
        ("registered", 3),
    ]
    assert (expected[0]["programme_id"], expected[0]["holder_name_masked"]) == ("GZ-ZGJS-P2", "张*明")
    assert (expected[2]["holder_name_masked"], expected[2]["trade"]) == ("李*", "电工")
    # a row the worker has not written yet reads None: the predicate waits for it rather than failing
    wait_for(
        lambda: [row and row._asdict() for row in (read(batched, Enrolment, i) for i in ids)] == expected,
        message=f"{expected}",
    )
    assert handled_in_batches(worker), "the events were handled one by one"
