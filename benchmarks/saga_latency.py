"""One registration on an idle system, request -> final state, through the gateway, in one run.

    python benchmarks/saga_latency.py [--samples 10]

The stack as in production (tests/support/deployed.py without its fault proxies: each service's api under
gunicorn and its worker process, on PostgreSQL and RabbitMQ, the gateway before them under gunicorn) with
the demo's campaign set up. An institution operator registers sent nominations one at a time (`POST
/api/enrollment/enrolments/<id>/register`, enrollment -> quota -> enrollment: two commits that each
wake a relay, two consumers), and the script watches enrollment's database (every 2 ms, a connection of its
own) until the enrolment is registered: the final state as committed, not as a read through the gateway
(the reference below) would see it some milliseconds later.
Two systems side by side: relays woken by the commit (LISTEN/NOTIFY, the default) and relays polling
every 0.2 s (RELAY_WAKE_ON_COMMIT=0, RELAY_POLL_SECONDS=0.2: how every hop waited before), each beside
the raw reference of the same run: one authenticated read through the gateway (GET of the enrolment).
Needs the local PostgreSQL and RabbitMQ (PG_* / AMQP_* as in tests/support/servers.py). A script, not a test.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.load import percentile  # noqa: E402
from tests.support.campaign import ADMIN, PASSWORD, Flows  # noqa: E402
from tests.support.deployed import Deployed  # noqa: E402
from tests.support.servers import Servers  # noqa: E402

UNIT, UNION, INSTITUTION, PROGRAMME = "GZ-YX", "GZ-YX-G1", "GZ-SYG", "SYG-YY-4"
FIRST_NUMBER = 60


def measure(samples: int, **settings: str) -> tuple[list[float], list[float]]:
    """Seconds from each registration's request to its final state, and of one read through the gateway."""
    servers = Servers("127.0.0.1", 5432, "postgres", "postgres", "127.0.0.1", 5672, "guest", "guest", ["rabbitmqctl"])
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        deployed = Deployed(servers, "/", tmp, proxied=False, gateway_process=True, LOG_LEVEL="WARNING", **settings)
        try:
            flows = Flows(deployed.url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()
            flows.plan(UNIT, [PROGRAMME])
            sent = [flows.sent(UNION, FIRST_NUMBER + i, PROGRAMME)["enrolment_id"] for i in range(samples + 1)]
            operator = flows.operator(INSTITUTION)
            dsn = servers.pg_admin_dsn.replace("dbname=postgres", f"dbname={deployed.databases['enrollment']}")
            settled, reads = [], []
            with psycopg.connect(dsn, autocommit=True) as enrollment:
                for n, enrolment_id in enumerate(sent):
                    path = f"/api/enrollment/enrolments/{enrolment_id}"
                    time.sleep(0.5)  # idle: every relay and consumer is waiting again
                    started = time.perf_counter()
                    operator.post(f"{path}/register")
                    while status(enrollment, enrolment_id) not in ("registered", "refused"):
                        time.sleep(0.002)
                    if n:  # the first one warms up
                        settled.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        operator.get(path)
                        reads.append(time.perf_counter() - started)
            return settled, reads
        finally:
            deployed.close()


def status(enrollment: psycopg.Connection, enrolment_id: str) -> str:
    return enrollment.execute("SELECT status FROM enrolments WHERE enrolment_id = %s", (enrolment_id,)).fetchone()[0]


def main() -> None:
    logging.disable(logging.INFO)  # the in-process apps' access logs
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    for label, settings in (
        ("relays woken by the commit", {}),
        ("relays polling every 0.2 s (before)", {"RELAY_WAKE_ON_COMMIT": "0", "RELAY_POLL_SECONDS": "0.2"}),
    ):
        settled, reads = measure(args.samples, **settings)
        p50, p90, read = percentile(settled, 0.5), percentile(settled, 0.9), percentile(reads, 0.5)
        print(
            f"one registration on an idle system, {label:36}: request -> registered p50 {p50 * 1000:6.0f} ms, "
            f"p90 {p90 * 1000:6.0f} ms; raw: one read through the gateway p50 {read * 1000:5.1f} ms "
            f"(ratio {p50 / read:5.1f}; {args.samples} samples)"
        )


if __name__ == "__main__":
    main()
