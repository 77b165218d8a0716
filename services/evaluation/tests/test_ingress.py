"""AMQP ingress: an institution's own RabbitMQ user publishes batches only under its own routing key."""

import json
import subprocess
import time
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from tests.support.processes import Process, python_module, wait_for
from tests.support.tcpproxy import TcpProxy

from .helpers import line

pytestmark = pytest.mark.servers


@pytest.fixture
def ingress_user(evaluation, servers, vhost):
    created = evaluation.stack.cli("ingress-user", "GZ-ZGJS")
    assert created.returncode == 0, created.stderr
    answer = dict(row.split(" ", 1) for row in created.stdout.strip().splitlines())
    yield (
        answer,
        servers.amqp_url(vhost).replace(
            f"{servers.amqp_user}:{servers.amqp_password}", f"{answer['user']}:{answer['password']}"
        ),
    )
    subprocess.run([*servers.rabbitmqctl, "delete_user", answer["user"]], capture_output=True, timeout=60)


@pytest.fixture
def ingress(evaluation, ingress_user, tmp_path):
    process = Process(python_module("services.evaluation", "ingress"), evaluation.stack.env, tmp_path / "ingress.log")
    yield ingress_user
    process.stop()


def parked_messages(evaluation, answer: dict) -> list:
    parked = Queue(f"{answer['exchange']}.parked", durable=True)
    with evaluation.stack.connection() as connection:
        queue = parked(connection.default_channel)
        taken = []
        while (message := queue.get(no_ack=False)) is not None:
            taken.append(message)
        return taken  # unacknowledged: back in the queue when the channel closes


def results(evaluation) -> list[dict]:
    return evaluation.client.get("/results", headers=evaluation.admin()).get_json()


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


def test_a_poison_batch_is_parked_once_with_its_error_and_the_next_one_is_recorded(evaluation, ingress):
    answer, url = ingress
    ours = evaluation.enrol("GZ-ZGJS")
    with Connection(url, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=Exchange(answer["exchange"], "topic", durable=True), auto_declare=False)
        # JSON nested deeper than the parser recurses: the handling itself fails, whatever the content
        producer.publish(b"[" * 100_000 + b"]" * 100_000, routing_key=answer["routing_key"], user_id=answer["user"])
    publish(url, answer, answer["routing_key"], {"idempotency_key": str(uuid.uuid4()), "lines": [line(ours)]})

    wait_for(lambda: results(evaluation), message="the good batch after the poison one")
    time.sleep(1.0)  # a requeued poison batch would be back by now, parked again or looping
    [parked] = parked_messages(evaluation, answer)
    reason = json.loads(parked.headers["x-parked-reason"])
    assert reason["code"] == "internal_error" and reason["detail"].startswith("RecursionError")
    assert len(results(evaluation)) == 1


def test_ingress_waits_out_a_database_outage_and_records_the_batch_after(evaluation, ingress_user, servers, tmp_path):
    answer, url = ingress_user
    ours = evaluation.enrol("GZ-ZGJS")
    with TcpProxy(servers.pg_host, servers.pg_port) as proxy:
        database = evaluation.stack.env["EVALUATION_DATABASE_URL"].replace(f":{servers.pg_port}/", f":{proxy.port}/")
        process = Process(
            python_module("services.evaluation", "ingress"),
            {**evaluation.stack.env, "EVALUATION_DATABASE_URL": database},
            tmp_path / "ingress-behind-proxy.log",
        )
        try:
            wait_for(lambda: '"ingress started"' in process.log(), message="the ingress consuming")
            proxy.cut()
            publish(url, answer, answer["routing_key"], {"idempotency_key": str(uuid.uuid4()), "lines": [line(ours)]})
            wait_for(lambda: "ingress paused: the database is unreachable" in process.log(), message="the pause")
            time.sleep(2.0)
            assert parked_messages(evaluation, answer) == [], "an outage is not the batch's fault"
            proxy.restore()
            recorded = wait_for(lambda: results(evaluation), timeout=30, message="the batch after the outage")
        finally:
            process.stop()
    assert [r["enrolment_id"] for r in recorded] == [ours["enrolment_id"]]
    assert parked_messages(evaluation, answer) == []
