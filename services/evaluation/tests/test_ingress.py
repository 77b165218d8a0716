"""AMQP ingress: an institution's own RabbitMQ user publishes batches only under its own routing key."""

import json
import subprocess
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from tests.support.processes import Process, python_module, wait_for

from .helpers import line

pytestmark = pytest.mark.servers


@pytest.fixture
def ingress(evaluation, servers, vhost, tmp_path):
    stack = evaluation.stack
    created = stack.cli("ingress-user", "GZ-ZGJS")
    assert created.returncode == 0, created.stderr
    answer = dict(row.split(" ", 1) for row in created.stdout.strip().splitlines())
    process = Process(python_module("services.evaluation", "ingress"), stack.env, tmp_path / "ingress.log")
    yield (
        answer,
        servers.amqp_url(vhost).replace(
            f"{servers.amqp_user}:{servers.amqp_password}", f"{answer['user']}:{answer['password']}"
        ),
    )
    process.stop()
    subprocess.run([*servers.rabbitmqctl, "delete_user", answer["user"]], capture_output=True, timeout=60)


def publish(url: str, answer: dict, routing_key: str, body: dict, user_id: str | None = None) -> None:
    with Connection(url, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=Exchange(answer["exchange"], "topic", durable=True), auto_declare=False)
        producer.publish(
            json.dumps(body),
            routing_key=routing_key,
            content_type="application/json",
            user_id=user_id or answer["user"],
        )


def test_institution_user_publishes_its_own_batches_and_nothing_else(evaluation, ingress):
    answer, url = ingress
    ours, theirs = evaluation.enrol("GZ-ZGJS"), evaluation.enrol("GZ-FCG")
    batch = {"idempotency_key": str(uuid.uuid4()), "lines": [line(ours)]}
    publish(url, answer, answer["routing_key"], batch)
    publish(url, answer, answer["routing_key"], batch)  # a replay records nothing twice
    results = wait_for(
        lambda: evaluation.client.get("/results", headers=evaluation.admin()).get_json(),
        message="the batch recorded through the ingress",
    )
    assert [(r["enrolment_id"], r["attempt"]) for r in results] == [(ours["enrolment_id"], 1)]

    with pytest.raises(AccessRefused):  # the broker itself refuses another institution's routing key
        publish(url, answer, "results.GZ-FCG", {"idempotency_key": "x", "lines": [line(theirs)]})

    publish(
        url,
        answer,
        answer["routing_key"],
        {"idempotency_key": str(uuid.uuid4()), "lines": [line(theirs, held_on="2014-05-01")]},
    )
    parked = Queue(f"{answer['exchange']}.parked", durable=True)
    with evaluation.stack.connection() as connection:
        message = wait_for(lambda: parked(connection.default_channel).get(no_ack=True), message="a parked batch")
    reason = json.loads(message.headers["x-parked-reason"])
    assert reason["code"] == "evaluation_batch_rejected"
    assert reason["errors"]["lines"] == {"0": ["Not an enrolment of your institution."]}
    # handled in order: by now the replayed batch was handled too, and recorded nothing
    assert len(evaluation.client.get("/results", headers=evaluation.admin()).get_json()) == 1
