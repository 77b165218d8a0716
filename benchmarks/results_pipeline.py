"""The results pipeline: exam results and certificates published by an institution system, until finance has
created every reimbursement; beside raw references measured in the same run.

    python benchmarks/results_pipeline.py [--students 10000] [--batch 1000] [--logs DIR]

The stack as in production (tests/support/deployed.py without its fault proxies, as benchmarks/saga_throughput.py):
each service's api under gunicorn and its worker process, on PostgreSQL and RabbitMQ, the gateway in front; the
demo's campaign set up, its skills fund pool made large enough for every student. Untimed setup, through the
gateway: `--students` workers nominated, sent, registered (skills: registration is the enrolment) and paid in full.

Timed: the institution's machine client (signed requests, README "For institution-system integrators") publishes
the exam results in batches of `--batch` lines (`POST /api/evaluation/results/batches`, an Idempotency-Key each),
each followed by the same students' certificates (`POST /api/evaluation/certificates/batches`), one request after
another as an integrator's system would; the clock stops when finance holds every reimbursement the certificates
owe (the federation's share of each student and the unit's where its policy owes one on certification), counted
in finance's database every 50 ms once 90 % are in, every 0.5 s before (an observer, not a client: up to ~50 ms late).

- students/s: students from the first batch sent to the last reimbursement created;
- raw references: PostgreSQL alone inserting as many reimbursement-sized rows in transactions of `--batch`
  (psycopg, one round trip per batch), and Flask + gunicorn doing one insert per request (benchmarks/raw_insert.py,
  as benchmarks/saga_throughput.py); each figure's ratio to them;
- memory: each process's peak resident memory over the run.

Needs the local PostgreSQL and RabbitMQ. A script, not a test.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.load import closed_loop  # noqa: E402
from benchmarks.memory import peaks_line  # noqa: E402
from benchmarks.saga_throughput import (  # noqa: E402
    INSTITUTION,
    PROGRAMME,
    UNIT,
    FinalStates,
    keep_logs,
    raw_reference,
    register_paths,
    sent_nominations,
    stack_arguments,
    stack_env,
    stack_processes,
)
from tests.support.campaign import ADMIN, PASSWORD, Flows  # noqa: E402
from tests.support.deployed import Deployed  # noqa: E402
from tests.support.servers import Servers  # noqa: E402

EXAM = "育婴员（中级）职业技能鉴定"


class Observer:
    """Counts in one service's database, read every `interval` seconds (autocommit, no locks)."""

    def __init__(self, servers: Servers, database: str):
        self.dsn = servers.pg_admin_dsn.replace("dbname=postgres", f"dbname={database}")

    def count(self, sql: str, *params) -> int:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            return connection.execute(sql, params).fetchone()[0]

    def until(self, sql: str, params: tuple, wanted: int, timeout: float, what: str, interval: float = 0.5) -> float:
        """When the count reached `wanted` (time.time()), read on one connection every `interval`, ten times less
        often while under 90 % of it: a count reads the whole table, and the observer should take little of the
        machine the system under test runs on."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while True:
                seen = connection.execute(sql, params).fetchone()[0]
                if seen >= wanted:
                    return time.time()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what}: {seen} of {wanted} after {timeout:.0f} s")
                time.sleep(interval if seen >= 0.9 * wanted else 10 * interval)


def raw_batched_inserts(servers: Servers, rows: int, batch: int) -> float:
    """Rows a second PostgreSQL takes alone: reimbursement-sized rows, `batch` per transaction."""
    name = f"t_rawrows_{uuid.uuid4().hex[:8]}"
    servers.create_database(name)
    try:
        dsn = servers.pg_admin_dsn.replace("dbname=postgres", f"dbname={name}")
        with psycopg.connect(dsn) as connection:
            connection.execute(
                "CREATE TABLE rows (id varchar(36) PRIMARY KEY, enrolment_id varchar(36), share varchar(12),"
                " amount numeric(12, 2), status varchar(20), created_at timestamptz, UNIQUE (enrolment_id, share))"
            )
            connection.commit()
            started = time.perf_counter()
            for first in range(0, rows, batch):
                with connection.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO rows VALUES (%s, %s, 'federation', 740.00, 'payable', now())",
                        [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(first, min(rows, first + batch))],
                    )
                connection.commit()
            return rows / (time.perf_counter() - started)
    finally:
        servers.drop_database(name)


def registered_and_paid(flows: Flows, deployed: Deployed, servers: Servers, students: int) -> list[str]:
    """`students` skills students registered (quota's answer in) and paid in full, finance and evaluation knowing
    them: what an institution has when its exams are over."""
    started = time.monotonic()
    ids = sent_nominations(flows, range(students))
    print(f"{students} nominations sent in {time.monotonic() - started:.0f} s", flush=True)
    operator = flows.operator(INSTITUTION)
    states = FinalStates(servers.pg_admin_dsn.replace("dbname=postgres", f"dbname={deployed.databases['enrollment']}"))
    try:
        states.watch(ids)
        headers = {"Authorization": f"Bearer {operator.token}"}
        unanswered = [s for s in closed_loop(deployed.url, headers, register_paths(ids), 16) if s.status != 202]
        if unanswered:  # a registration is safe to send again: the retry answers the same outcome
            statuses = sorted({s.status for s in unanswered})
            print(f"{len(unanswered)} registrations answered {statuses}: sent again", flush=True)
            closed_loop(deployed.url, headers, [s.path for s in unanswered], 16)
        states.wait(ids, 1800)
    finally:
        states.close()
    refused = [i for i in ids if states.settled[i][1] != "registered"]
    assert not refused, f"{len(refused)} registrations refused (quota): the benchmark needs every one registered"
    finance = Observer(servers, deployed.databases["finance"])
    finance.until("SELECT count(*) FROM breakdowns WHERE status = 'active'", (), students, 1800, "finance's breakdowns")
    total = flows.breakdown(operator, ids[0])["total"]

    def pay(enrolment_id: str) -> None:
        operator.post(
            f"/api/finance/enrolments/{enrolment_id}/payments",
            {"amount": total, "paid_on": flows.today.isoformat(), "reference": f"POS-{enrolment_id[:8]}"},
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(pay, ids))
    finance.until("SELECT count(*) FROM breakdowns WHERE paid >= total", (), students, 1800, "payments recorded")
    evaluation = Observer(servers, deployed.databases["evaluation"])
    evaluation.until("SELECT count(*) FROM enrolments", (), students, 1800, "evaluation to know the students")
    print(f"{students} students registered and paid in full after {time.monotonic() - started:.0f} s", flush=True)
    return ids


def publish(flows: Flows, ids: list[str], batch: int) -> list[tuple[float, float]]:
    """Results then certificates, batch after batch, signed by the institution's machine client; each request's
    (sent, answered) time."""
    client = flows.fed.post("/auth/clients", {"name": "基准测试 考务系统", "institution_id": INSTITUTION})
    machine = flows.gateway.as_machine(client["key_id"], client["secret"])
    today, times = flows.today.isoformat(), []
    for first in range(0, len(ids), batch):
        chunk = ids[first : first + batch]
        lines = [{"enrolment_id": i, "exam": EXAM, "held_on": today, "score": "81.50", "passed": True} for i in chunk]
        at = time.time()
        machine.post("/api/evaluation/results/batches", {"lines": lines}, headers={"Idempotency-Key": f"bench-{first}"})
        times.append((at, time.time()))
        certificates = [
            {"enrolment_id": i, "number": f"{INSTITUTION}-B-{first + n:05d}", "issued_on": today}
            for n, i in enumerate(chunk)
        ]
        at = time.time()
        machine.post("/api/evaluation/certificates/batches", {"certificates": certificates})
        times.append((at, time.time()))
    return times


def main() -> None:
    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=10_000, help="how many (at most 10,000)")
    parser.add_argument("--batch", type=int, default=1000, help="lines and certificates per request (at most 1000)")
    args = stack_arguments(parser)
    if not 0 < args.students <= 10_000:
        parser.error("1 to 10,000 students (the workers' resident ID numbers)")
    if not 0 < args.batch <= 1000:
        parser.error("1 to 1000 a batch")
    servers = Servers("127.0.0.1", 5432, "postgres", "postgres", "127.0.0.1", 5672, "guest", "guest", ["rabbitmqctl"])
    env = stack_env(args)
    print(
        f"apis: {args.web_concurrency} gunicorn processes x {args.threads} threads each; {args.students} students, "
        f"results and certificates in batches of {args.batch}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        raw_rows = raw_batched_inserts(servers, 2 * args.students, args.batch)
        print(f"raw: PostgreSQL alone, {args.batch} rows a transaction : {raw_rows:9,.0f} rows/s", flush=True)
        raw_requests = raw_reference(servers, tmp, 32, 2000, env)
        deployed = Deployed(servers, "/", tmp, proxied=False, gateway_process=True, **env)
        try:
            flows = Flows(deployed.url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None)
            flows.with_ample_skills_pool().set_up()
            flows.plan(UNIT, [PROGRAMME])
            ids = registered_and_paid(flows, deployed, servers, args.students)
            finance = Observer(servers, deployed.databases["finance"])
            owed_unit = finance.count("SELECT count(*) FROM breakdowns WHERE status = 'active' AND unit > 0")
            wanted = len(ids) + owed_unit
            before = finance.count("SELECT count(*) FROM reimbursements")
            assert before == 0, f"{before} reimbursements before any certificate"

            times = publish(flows, ids, args.batch)
            start, sent = times[0][0], times[-1][1]
            done = finance.until(
                "SELECT count(*) FROM reimbursements", (), wanted, 3600, "every reimbursement", interval=0.05
            )
            federation = finance.count("SELECT count(*) FROM reimbursements WHERE share = 'federation'")
            assert federation == len(ids), f"{federation} federation shares for {len(ids)} certificates"
            rate = len(ids) / (done - start)
            rows_rate = wanted / (done - start)
            requests_s = [answered - at for at, answered in times]
            print(
                f"published {len(times)} signed batches ({len(ids)} results + {len(ids)} certificates) in "
                f"{sent - start:.1f} s (longest request {max(requests_s):.1f} s)",
                flush=True,
            )
            print(
                f"results pipeline: {len(ids)} students -> {federation} federation + {wanted - federation} unit "
                f"reimbursements created in {done - start:.1f} s: {rate:7.1f} students/s, {rows_rate:7.1f} "
                f"reimbursements/s",
                flush=True,
            )
            print(
                f"    ratios: reimbursements/s / raw PostgreSQL rows/s = {rows_rate / raw_rows:6.3f}; "
                f"students/s / raw Flask + 1 insert req/s = {rate / raw_requests:6.3f}; "
                f"after the last batch was answered: {done - sent:.1f} s",
                flush=True,
            )
            print(peaks_line(stack_processes(deployed), gunicorn={f"{n} api" for n in deployed.apis} | {"gateway"}))
        finally:
            deployed.close()
            keep_logs(tmp, args.logs)


if __name__ == "__main__":
    main()
