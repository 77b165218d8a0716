"""Big lists through the gateway at 1k, 10k and 100k rows, each beside the same list query alone; the training
ledger at the largest size; each process's resident memory over it all. In one run.

    python benchmarks/list_pages.py [--requests 200] [--sizes 1000 10000 100000] [--no-ledger] [stack options]

The stack deployed as in production (saga_throughput.deployed_stack), called as a federation admin. Rows are
inserted straight into the services' own databases (setup speed): quota's units, and enrollment's enrolments with
everything they join (ledger_export.seed: employees with encrypted ID numbers and phones, classes, payments...).
At each size, `--requests` sequential requests of each page:

- quota's units sorted by name, each page starting at a random row (`?sort=name&cursor=...`);
- enrollment's enrolments as the portal's lists read them (one campaign, one status, by nomination time):
  the first page, and a deep page (a cursor at a random row of the list);
- the same list's count only (`limit=0`: X-Total-Count, what the 工作台 shows).

Raw reference: the same page made by servicekit.paging in this process over SQLAlchemy and psycopg (the list's
query with the same arguments, no HTTP, gateway, Flask, views nor JSON). Printed: p50/p95 ms through the gateway
and raw, p95 over raw, and the largest size's p95 over the smallest's. Then (unless --no-ledger) the ledger's CSV
export (ledger_export.download) and each process's resident memory: before the first list, at its largest, and
its growth beside the issue's 200 MB. Needs the local PostgreSQL and RabbitMQ. A script, not a test.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.ledger_export import CAMPAIGN, exported, seeded  # noqa: E402
from benchmarks.memory import PeakRss, pids_of  # noqa: E402
from benchmarks.saga_throughput import (  # noqa: E402
    admin_token,
    deployed_stack,
    gunicorns,
    stack_arguments,
    stack_processes,
)
from servicekit.paging import Listing  # noqa: E402
from services.enrollment.listings import ENROLMENTS  # noqa: E402
from services.enrollment.models import Enrolment  # noqa: E402
from services.quota.models import Unit  # noqa: E402
from services.quota.units import LISTING as UNITS  # noqa: E402

BATCH = 5000
MIB = 1024
LIMIT_MIB = 200  # the bound on any process during a list or an export


@dataclass(frozen=True)
class Page:
    """One kind of page: a list's path, its arguments, and whether it starts at a random row."""

    label: str
    path: str
    listing: Listing
    model: type
    args: dict
    deep: bool = False


PAGES = (
    Page("units ?sort=name, random row", "/api/quota/units", UNITS, Unit, {"sort": "name"}, deep=True),
    *(
        Page(
            f"enrolments ?campaign&status, {where}",
            "/api/enrollment/enrolments",
            ENROLMENTS,
            Enrolment,
            {"campaign_id": CAMPAIGN, "status": "registered", "sort": "nominated_at", **limit},
            deep=deep,
        )
        for where, deep, limit in (
            ("1st page", False, {}),
            ("deep page", True, {}),
            ("count only", False, {"limit": 0}),
        )
    ),
)


def fill_units(engine, size: int) -> None:
    """Quota's units up to `size` rows, inserted in batches; then ANALYZE."""
    from servicekit.db import utcnow

    with engine.begin() as connection:
        have = connection.scalar(select(func.count()).select_from(Unit))
        now = utcnow()
        for start_at in range(have, size, BATCH):
            rows = [
                {
                    "id": f"U{n:07d}",
                    "name": f"工会 {uuid.uuid4().hex[:12]}",  # random names: the sort key is not the insert order
                    "level": "first_level",
                    "category": "industry",
                    "parent_id": None,
                    "headcount": 100 + n % 5000,
                    "key_industry": False,
                    "key_industry_weight": None,
                    "revision": 1,
                    "updated_at": now,
                }
                for n in range(start_at, min(start_at + BATCH, size))
            ]
            connection.execute(insert(Unit), rows)
        connection.execute(text("ANALYZE units"))


def arguments(page: Page, engine, count: int) -> list[dict]:
    """`count` requests' arguments: a page of 50 (or the count), from the start or at a random row of the list
    (any row but its last: the page after the last is empty)."""
    args = {"limit": 50, **page.args}
    if not page.deep:
        return [args] * count
    keys = page.listing.keys(args["sort"])
    listed = page.listing.narrowed(select(page.model), args).with_only_columns(*keys)
    with engine.connect() as connection:
        last = connection.execute(listed.order_by(*(key.desc() for key in keys)).limit(1)).one()
        starts = connection.execute(listed.order_by(func.random()).limit(count + 1)).all()
    starts = [start for start in starts if tuple(start) != tuple(last)][:count]
    return [{**args, "cursor": page.listing.cursor_after(args["sort"], list(start))} for start in starts]


def timed(call, each: list[dict]) -> list[float]:
    timings = []
    for args in each:
        began = time.perf_counter()
        call(args)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def measure(http: requests.Session, base: str, page: Page, engine, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each request through the gateway, and of the same page made in this process (raw)."""
    each = arguments(page, engine, count)

    def through_gateway(args: dict) -> None:
        response = http.get(base + page.path, params=args)
        response.raise_for_status()
        assert response.json() or args["limit"] == 0, f"{page.label}: a page of rows"

    def raw(args: dict) -> None:
        with Session(engine) as session:
            page.listing.window(session, select(page.model), args)

    timed(through_gateway, each[:20])  # warm-up: connections and code paths
    timed(raw, each[:20])
    return timed(through_gateway, each), timed(raw, each)


def p(timings: list[float], share: int) -> float:
    return statistics.quantiles(timings, n=100)[share - 1]


def report_lists(figures: dict[int, dict[str, tuple[list[float], list[float]]]], count: int) -> None:
    print(
        f"\nlists through the gateway as federation_admin, 50 rows a page, {count} sequential requests each "
        "(target: p95 < 50 ms at 100,000 rows); raw: the same page by servicekit.paging in this process"
    )
    print(f"{'page':<40}{'rows':>8}{'p50 ms':>8}{'p95 ms':>8}{'raw p50':>9}{'raw p95':>9}{'p95/raw':>9}")
    for size, pages in figures.items():
        for label, (gateway, raw) in pages.items():
            print(
                f"{label:<40}{size:>8}{p(gateway, 50):>8.1f}{p(gateway, 95):>8.1f}{p(raw, 50):>9.1f}{p(raw, 95):>9.1f}"
                f"{p(gateway, 95) / p(raw, 95):>9.1f}"
            )
    smallest, largest = min(figures), max(figures)
    ratios = ", ".join(
        f"{label} x{p(figures[largest][label][0], 95) / p(figures[smallest][label][0], 95):.2f}"
        for label in figures[largest]
    )
    print(f"p95 at {largest:,} rows over {smallest:,}: {ratios}")


def report_memory(memory: dict[str, tuple[int, int]]) -> None:
    print("\nresident memory per process over the lists and the export (a gunicorn api: its worker that grew most)")
    print(f"{'process':<20}{'before MiB':>11}{'peak MiB':>10}{'growth MiB':>12}{f'growth/{LIMIT_MIB} MB':>16}")
    for name, (before, peak) in memory.items():
        growth = (peak - before) / MIB
        print(f"{name:<20}{before / MIB:>11.0f}{peak / MIB:>10.0f}{growth:>12.1f}{growth / LIMIT_MIB:>16.2f}")


def main() -> int:
    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each page at each size")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000], help="rows in each list")
    parser.add_argument("--no-ledger", dest="ledger", action="store_false", help="leave out the ledger's export")
    args = stack_arguments(parser)
    with tempfile.TemporaryDirectory() as folder, deployed_stack(args, Path(folder)) as deployed:
        tmp = Path(folder)
        token = admin_token(deployed, tmp)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        engines = {
            name: create_engine(deployed.database_url(name, deployed.pg.port)) for name in ("quota", "enrollment")
        }
        memory = PeakRss(pids_of(stack_processes(deployed), gunicorn=gunicorns(deployed)))
        figures, have = {}, 0
        for size in sorted(args.sizes):
            fill_units(engines["quota"], size)
            seeded(deployed, tmp, size, have)
            have = size
            figures[size] = {
                page.label: measure(http, deployed.url, page, engines[page.path.split("/")[2]], args.requests)
                for page in PAGES
            }
        report_lists(figures, args.requests)
        if args.ledger:
            exported(deployed, token, ["csv"], memory.processes, have)
        report_memory(memory.stop())
        for engine in engines.values():
            engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
