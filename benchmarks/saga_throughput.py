"""The registration saga under load, through the gateway, beside the raw one-insert rate of the same run.

    python benchmarks/saga_throughput.py [--registrations 1000] [--connections 32] [--rate 50] [--seconds 20]
                                         [--ample-quota] [--runs 1] [--apart]

The stack as in production (tests/support/deployed.py without its fault proxies): each service's api under
gunicorn with deploy/Procfile's command (WEB_CONCURRENCY processes, GUNICORN_THREADS threads) and its worker
process, each in a scheduling group of its own as a container is, a worker weighing a quarter of an api as in
deploy/docker-compose.yml; on PostgreSQL and RabbitMQ, the gateway in front (gunicorn, processes of its own); the
demo's campaign set up.
Registrations are the institution operator's `POST /api/enrollment/enrolments/<id>/register` of sent
nominations (enrollment -> quota -> enrollment). The load comes from spawned processes (benchmarks/load.py).

- closed loop: C connections register `--registrations` students as fast as they are answered: accepted/s
  (answers 202 per second), settled/s (final states per second, from the first request to the last final state)
  and how many ended registered and refused (the demo's skills pool grants about 500: beyond them quota refuses,
  unless `--ample-quota`); `--runs N` such loops one after another, each one's figures and their median;
- open loop: `--rate` registrations a second for `--seconds`, begun once the machine is quiet again after the
  closed loop (its CPUs under 20 % busy): HTTP p50/p99 and request -> final state p50/p99;
- CPU: what each process (a gunicorn api's workers together), PostgreSQL and RabbitMQ spent per registration over
  the closed loop, until its last registration settled (its downstream events may still be handled after): the
  figure to compare between runs, steadier than the rates on a machine shared with other work;
- memory: each process's peak resident memory over the run (a gunicorn api's: its largest worker's);
- paths apart (`--apart`): a second closed loop of as many registrations, answered while every worker is paused
  (SIGSTOP: no relay, no consumer), then the workers resumed on the backlog: the request path's own rate (gateway,
  enrollment's api, PostgreSQL) and the event path's (relays, broker, consumers) with their CPU each, which on
  two shared cores otherwise take CPU from each other; a diagnosis, not the saga's figure;
- raw: the same closed loop against Flask + gunicorn (same processes and threads) doing one PostgreSQL insert
  per request (benchmarks/raw_insert.py), begun once the machine is quiet (what a run before left behind, a
  checkpoint, done), the stack up and idle: right before each closed loop, right after the last, and after the
  paths apart. Each rate's ratio is to the mean of the two references either side of it, taken within a minute of
  it (this machine's speed moves by a third within minutes); the median of the loops' ratios is the figure.

When a registration reaches its final state (registered or refused) is observed by reading enrollment's
database every 10 ms (an observer, not a client: no event marks a refusal), so final-state times carry up to
~10 ms of observation delay. Needs the local PostgreSQL and RabbitMQ. A script, not a test.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.cpu import CpuSpent  # noqa: E402
from benchmarks.load import Sent, closed_loop, open_loop, percentile, quiet  # noqa: E402
from benchmarks.memory import peaks_line, pids_of  # noqa: E402
from tests.support.campaign import ADMIN, PASSWORD, Flows  # noqa: E402
from tests.support.deployed import Deployed  # noqa: E402
from tests.support.processes import Process, free_port, python_module, wait_for  # noqa: E402
from tests.support.servers import Servers  # noqa: E402
from tests.support.workload import worker  # noqa: E402

UNIT, UNION, INSTITUTION, PROGRAMME = "GZ-YX", "GZ-YX-G1", "GZ-SYG", "SYG-YY-4"
FINAL = ("registered", "refused")
ACCEPTED = (201, 202)


class FinalStates:
    """When each enrolment reached a final state, read from enrollment's database every 10 ms.

    Only the first `window` unsettled ones in the order they are watched (the order they are sent) are read:
    asking for every one of thousands on each read took PostgreSQL ~2 ms, a fifth of a core the system under
    test no longer had. Registrations settle about in the order they are sent, so the window holds those in
    flight; one that settles outside it is noted once it enters it (late, never missed).

    Each read costs ~1.9 ms with 500 ids (~1 ms of PostgreSQL's CPU, ~0.8 ms of this process's), so it reads
    every `interval` seconds: 10 ms where final-state times are reported (the open loop), 50 ms where only the
    rate is (the closed loop: the last final state seen up to 50 ms late in a run of seconds), a fifth of the
    reads on a machine the closed loop saturates. The open loop, whose ids are all watched before the first is
    sent and of which a few dozen at most are in flight, reads a window of 100: 500 would be mostly ids not yet
    sent, read a hundred times a second.
    """

    window = 500
    interval = 0.01

    def __init__(self, dsn: str):
        self.dsn, self.watched, self.settled = dsn, {}, {}
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def watch(self, ids) -> None:
        with self._lock:
            self.watched.update(dict.fromkeys(ids))

    def _watch(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while not self._stop.is_set():
                with self._lock:
                    pending = list(islice((i for i in self.watched if i not in self.settled), self.window))
                if pending:
                    rows = connection.execute(
                        "SELECT enrolment_id, status FROM enrolments WHERE enrolment_id = ANY(%s) AND status = ANY(%s)",
                        (pending, list(FINAL)),
                    ).fetchall()
                    now = time.time()
                    with self._lock:
                        for enrolment_id, status in rows:
                            self.settled[enrolment_id] = (now, status)
                time.sleep(self.interval)

    def wait(self, ids: list[str], timeout: float) -> None:
        wait_for(lambda: all(i in self.settled for i in ids), timeout, 0.1, "every registration final")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def sent_nominations(flows: Flows, numbers: range) -> list[str]:
    """Nominated (past notice), consented, confirmed and sent on the union's list: ready for the institution to
    register."""

    flows.union_officer(UNION), flows.unit_officer(UNION.rsplit("-", 1)[0])  # logged in once, before the threads

    def one(number: int) -> str:
        return flows.sent(UNION, number, PROGRAMME, nominee=worker(number))["enrolment_id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, numbers))


def register_paths(ids: list[str]) -> list[str]:
    return [f"/api/enrollment/enrolments/{i}/register" for i in ids]


def accepted_ids(sent: list[Sent]) -> list[str]:
    """The enrolments whose registration was accepted: only those reach a final state (a 503 did nothing)."""
    return [s.path.split("/")[-2] for s in sent if s.status in ACCEPTED]


WORKERS = range(1000, 10000)  # the numbers of the workers nominated (tests.support.workload.worker: below 10,000)


def rate(count: int, start: float, end: float) -> float:
    return count / max(end - start, 1e-9)


def settled_rate(sent: list[Sent], settled: dict) -> float:
    """Final states a second, from the loop's first request to the last final state."""
    ends = [settled[enrolment_id][0] for enrolment_id in accepted_ids(sent)]
    return rate(len(ends), min(s.at for s in sent), max(ends))


def report_closed(label: str, sent: list[Sent], settled: dict | None) -> float:
    start, answered = min(s.at for s in sent), max(s.answered for s in sent)
    accepted = [s for s in sent if s.status in ACCEPTED]
    per_second = rate(len(accepted), start, answered)
    http = [s.answered - s.at for s in sent]
    line = (
        f"{label:34}: accepted {per_second:7.1f} req/s (HTTP p50 {percentile(http, 0.5) * 1000:5.0f} ms, "
        f"p99 {percentile(http, 0.99) * 1000:5.0f} ms; statuses {sorted({s.status for s in sent})})"
    )
    if settled is not None:
        final = settled_rate(sent, settled)
        counted = Counter(settled[enrolment_id][1] for enrolment_id in accepted_ids(sent))
        line += f"; settled {final:7.1f}/s ({', '.join(f'{n} {state}' for state, n in sorted(counted.items()))})"
    print(line, flush=True)
    return per_second


class Ratios:
    """Each rate beside the raw references taken either side of it: this machine's speed moves by a third within
    minutes (enrollment's api took 2.95 to 5.21 ms a registration over one hour, the same code; a raw reference
    fell from 1,303 to 922 req/s between the start and the end of one run), so a reference taken minutes away
    flatters a rate or wrongs it."""

    def __init__(self, take_reference):
        self.take_reference, self.references, self.rates = take_reference, [], []

    def reference(self, label: str) -> None:
        """A raw reference now; the rates recorded since the last one lie between the two."""
        print(f"quiet after {quiet():.0f} s", flush=True)
        self.references.append(self.take_reference(label))

    def record(self, label: str, per_second: float, loop_rate: str | None = None) -> None:
        """`loop_rate` names a closed loop's rate ("accepted", "settled"): the loops' ratios of each get a median."""
        self.rates.append((label, per_second, len(self.references) - 1, loop_rate))

    def report(self) -> None:
        print("ratios to raw, each to the mean of the references taken right before and right after it:", flush=True)
        loops: dict[str, list[float]] = {}
        for label, per_second, before, loop_rate in self.rates:
            first, then = self.references[before], self.references[before + 1]
            ratio = per_second / ((first + then) / 2)
            print(
                f"  {label:32}: {ratio:5.1%} of raw ({per_second:.1f} beside {first:.1f} and {then:.1f} req/s; "
                f"to before alone {per_second / first:5.1%}, to after alone {per_second / then:5.1%})",
                flush=True,
            )
            if loop_rate:
                loops.setdefault(loop_rate, []).append(ratio)
        for rate_of, ratios in loops.items():
            if len(ratios) > 1:
                print(f"  {'closed loops, median: ' + rate_of:32}: {statistics.median(ratios):5.1%} of raw", flush=True)


@contextmanager
def workers_paused(deployed: Deployed) -> Iterator[None]:
    """Every service's worker stopped (SIGSTOP) for the block, then continued: the broker keeps their deliveries
    and the outboxes their rows meanwhile (the pause is far shorter than the broker's heartbeat timeout)."""
    pids = [process.pid for process in deployed.workers.values()]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def paths_apart(
    deployed: Deployed, headers: dict, states: FinalStates, ids: list[str], connections: int
) -> dict[str, float]:
    """The closed loop answered with the workers paused, then the backlog they find when resumed: each path's rate
    and CPU alone."""
    processes = pids_of(stack_processes(deployed), gunicorn=gunicorns(deployed))
    states.watch(ids)
    states.interval = 0.05
    with workers_paused(deployed):
        cpu = CpuSpent(processes)
        sent = closed_loop(deployed.url, headers, register_paths(ids), connections)
        requests = report_closed("requests alone (workers paused)", sent, None)
        print(cpu.line(len(sent), "registration, requests alone"), flush=True)
        cpu = CpuSpent(processes)
        resumed = time.time()
    accepted = accepted_ids(sent)
    states.wait(accepted, 600)
    caught_up = max(states.settled[i][0] for i in accepted) - resumed
    per_second = rate(len(accepted), 0, caught_up)
    print(
        f"{'events alone (workers resumed)':34}: {len(accepted)} settled {caught_up:5.1f} s after the workers resumed: "
        f"{per_second:7.1f}/s",
        flush=True,
    )
    print(cpu.line(len(accepted), "registration, events alone until settled"), flush=True)
    return {"requests alone: accepted": requests, "events alone: settled": per_second}


def raw_reference(
    servers: Servers,
    tmp: Path,
    connections: int,
    count: int,
    env: dict,
    label: str = "raw: Flask + gunicorn + 1 insert",
) -> float:
    name = f"t_raw_{int(time.time())}"
    url = servers.create_database(name)
    try:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
            connection.execute("CREATE TABLE raw_writes (id varchar(36) PRIMARY KEY, at timestamptz)")
        port = free_port()
        command = python_module("gunicorn", "-c", "python:servicekit.gunicorn_conf", "benchmarks.raw_insert:app")
        app = Process(command, {**env, "RAW_DATABASE_URL": url, "PORT": str(port)}, tmp / "raw.log", group=True)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(base), 60, 0.2, "the raw app")
            closed_loop(base, {}, [f"/writes/w{n}" for n in range(200)], connections)  # warm-up
            sent = closed_loop(base, {}, [f"/writes/{n}" for n in range(count)], connections)
            return report_closed(label, sent, None)
        finally:
            app.stop()
    finally:
        servers.drop_database(name)


def _answers(base: str) -> bool:
    try:
        return subprocess.run(["curl", "-sf", "-X", "POST", f"{base}/writes/ping"], capture_output=True).returncode == 0
    except OSError:
        return False


def keep_logs(tmp: Path, folder: Path | None) -> None:
    """Every process's log copied to `folder` (--logs), if given."""
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        for log in tmp.glob("*.log"):
            shutil.copy(log, folder / log.name)


def stack_processes(deployed: Deployed) -> dict[str, int]:
    return {
        "gateway": deployed.gateway.process.pid,
        **{f"{name} api": process.pid for name, process in deployed.apis.items()},
        **{f"{name} worker": process.pid for name, process in deployed.workers.items()},
    }


def gunicorns(deployed: Deployed) -> set[str]:
    """The names in stack_processes that are gunicorn masters (memory is read from their workers)."""
    return {f"{name} api" for name in deployed.apis} | {"gateway"}


def stack_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The stack's options, shared by the benchmarks that deploy it; the arguments parsed."""
    parser.add_argument("--web-concurrency", default="2", help="gunicorn processes per api (WEB_CONCURRENCY)")
    parser.add_argument("--threads", default="4", help="threads per gunicorn process (GUNICORN_THREADS)")
    parser.add_argument("--logs", type=Path, help="copy every process's log here at the end")
    parser.add_argument("--log-level", default="WARNING", help="the processes' LOG_LEVEL")
    return parser.parse_args()


def stack_env(args: argparse.Namespace) -> dict[str, str]:
    return {"WEB_CONCURRENCY": args.web_concurrency, "GUNICORN_THREADS": args.threads, "LOG_LEVEL": args.log_level}


def local_servers() -> Servers:
    """The PostgreSQL and RabbitMQ of this machine, as the tests reach them."""
    return Servers("127.0.0.1", 5432, "postgres", "postgres", "127.0.0.1", 5672, "guest", "guest", ["rabbitmqctl"])


@contextmanager
def deployed_stack(args: argparse.Namespace, tmp: Path) -> Iterator[Deployed]:
    """The stack deployed with `args` (stack_arguments) on the local servers; closed, its logs kept, at the end."""
    deployed = Deployed(local_servers(), "/", tmp, proxied=False, gateway_process=True, **stack_env(args))
    try:
        yield deployed
    finally:
        deployed.close()
        keep_logs(tmp, args.logs)


def database_dsn(deployed: Deployed, service: str) -> str:
    """A libpq connection string to a service's own database (what a benchmark reads or fills straight)."""
    return deployed.servers.pg_admin_dsn.replace("dbname=postgres", f"dbname={deployed.databases[service]}")


def admin_token(deployed: Deployed, tmp: Path) -> str:
    """A federation admin's access token (the bootstrap admin's login through the gateway)."""
    return Flows(deployed.url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).fed.token


def main() -> None:
    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registrations", type=int, default=1000, help="closed loop: how many")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=50, help="open loop: registrations offered a second")
    parser.add_argument("--seconds", type=float, default=20, help="open loop: for how long")
    parser.add_argument(
        "--ample-quota",
        action="store_true",
        help="a skills pool that grants every registration (each then takes the saga's whole path: finance's "
        "breakdown, quota following it); by default the demo's pool, which most of a large closed loop outruns",
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="then the request path and the event path apart: a closed loop as large answered with the workers "
        "paused, then their backlog (twice the nominations)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="closed loops of --registrations each, one after another once the machine is quiet: each one's "
        "ratios and their median (this machine's speed moves within minutes)",
    )
    args = stack_arguments(parser)
    if args.runs < 1:
        parser.error("--runs: at least one closed loop")
    offered = int(args.rate * args.seconds)
    if args.registrations * (args.runs + (1 if args.apart else 0)) + offered + 10 > len(WORKERS):
        parser.error(f"at most {len(WORKERS):,} registrations in all (the workers' resident ID numbers)")
    servers = local_servers()
    env = stack_env(args)
    print(
        f"apis: {args.web_concurrency} gunicorn processes x {args.threads} threads each; "
        f"closed loop{f's: {args.runs} of' if args.runs > 1 else ''} {args.registrations} registrations on "
        f"{args.connections} connections; "
        f"open loop {args.rate:g}/s for {args.seconds:g} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        raw_count = max(args.registrations, 2000)
        ratios = Ratios(lambda label: raw_reference(servers, tmp, args.connections, raw_count, env, label))
        deployed = Deployed(servers, "/", tmp, proxied=False, gateway_process=True, **env)
        states = None
        try:
            flows = Flows(deployed.url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None)
            (flows.with_ample_skills_pool() if args.ample_quota else flows).set_up()
            flows.plan(UNIT, [PROGRAMME])
            operator = flows.operator(INSTITUTION)
            headers = {"Authorization": f"Bearer {operator.token}"}
            started = time.monotonic()
            numbers = iter(WORKERS)
            warm = sent_nominations(flows, [next(numbers) for _ in range(10)])
            runs = [
                sent_nominations(flows, [next(numbers) for _ in range(args.registrations)]) for _ in range(args.runs)
            ]
            opened = sent_nominations(flows, [next(numbers) for _ in range(offered)])
            apart = sent_nominations(flows, [next(numbers) for _ in range(args.registrations if args.apart else 0)])
            sent_count = len(warm) + sum(map(len, runs)) + len(opened) + len(apart)
            print(f"{sent_count} nominations sent in {time.monotonic() - started:.0f} s")
            states = FinalStates(database_dsn(deployed, "enrollment"))
            states.watch(warm)
            closed_loop(deployed.url, headers, register_paths(warm), 4)
            states.wait(warm, 120)

            for run, closed in enumerate(runs, 1):
                label = f"closed loop {run}" if args.runs > 1 else "closed loop"
                # from a quiet system: a loop's registrations settle before their last downstream events
                # (finance's breakdowns, quota following them) are handled
                ratios.reference(f"raw before {label}")
                print(f"quiet after {quiet():.0f} s", flush=True)
                states.watch(closed)
                states.interval = 0.05
                cpu = CpuSpent(pids_of(stack_processes(deployed), gunicorn=gunicorns(deployed)))
                sent = closed_loop(deployed.url, headers, register_paths(closed), args.connections)
                states.wait(accepted_ids(sent), 600)
                accepted = report_closed(f"{label}: registrations", sent, states.settled)
                ratios.record(f"{label}: accepted", accepted, "accepted")
                ratios.record(f"{label}: settled", settled_rate(sent, states.settled), "settled")
                print(cpu.line(len(sent), "registration, closed loop until settled"), flush=True)
            ratios.reference("raw after the closed loops")

            print(f"quiet again {quiet():.0f} s", flush=True)
            states.watch(opened)
            states.interval, states.window = 0.01, 100
            sent = open_loop(deployed.url, headers, register_paths(opened), args.rate)
            states.wait(accepted_ids(sent), 600)
            http = [s.answered - s.at for s in sent]
            final = [states.settled[s.path.split("/")[-2]][0] - s.at for s in sent if s.status in ACCEPTED]
            print(
                f"open loop {args.rate:g}/s for {args.seconds:g} s      : statuses {sorted({s.status for s in sent})}; "
                f"HTTP p50 {percentile(http, 0.5) * 1000:.0f} ms, p99 {percentile(http, 0.99) * 1000:.0f} ms; "
                f"request -> final state p50 {percentile(final, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(final, 0.99) * 1000:.0f} ms",
                flush=True,
            )
            print(peaks_line(stack_processes(deployed), gunicorn=gunicorns(deployed)))
            if apart:
                print(f"quiet again {quiet():.0f} s after the open loop", flush=True)
                for label, per_second in paths_apart(deployed, headers, states, apart, args.connections).items():
                    ratios.record(label, per_second)
                ratios.reference("raw after the paths apart")
            ratios.report()
        finally:
            if states is not None:
                states.close()
            deployed.close()
            keep_logs(tmp, args.logs)


if __name__ == "__main__":
    main()
