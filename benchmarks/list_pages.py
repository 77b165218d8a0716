"""A list page through the gateway at 1k, 10k and 100k rows: keyset pages cost the same at any depth and size.

    python benchmarks/list_pages.py [--requests 200] [--sizes 1000 10000 100000]

Quota's units list (`GET /api/quota/units?limit=50&sort=name&cursor=...`) behind the gateway, both
as deployed (gunicorn; the gateway's uvicorn worker) on the local PostgreSQL. Rows are inserted
straight into quota's own database (setup speed; the API makes one unit a request). At each size,
`--requests` sequential pages, each starting at a random row (its cursor made as the list makes
them), so deep pages are measured as often as shallow ones; p50/p95 in ms and the 100k/1k ratio.
A script, not a test; needs PostgreSQL (PG_ADMIN_DSN).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.gateway_throughput import PG_ADMIN_DSN, database_url, start, stop, wait_ready  # noqa: E402

SERVICE_PORT, GATEWAY_PORT = 18111, 18110
BATCH = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="list-pages-"))
    databases = {name: f"bench_{name}_{uuid.uuid4().hex[:8]}" for name in ("quota", "gateway")}
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        for name in databases.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        "VAR_DIR": str(folder / "var"),
        "LOG_LEVEL": "WARNING",
        "GATEWAY_ACCESS_TOKEN_KEY": secrets.token_urlsafe(32),  # the identity key pair is made under VAR_DIR/keys/
        "GATEWAY_CLIENT_SECRET_KEY": secrets.token_urlsafe(32),
        "QUOTA_DATABASE_URL": database_url(databases["quota"]),
        "GATEWAY_DATABASE_URL": database_url(databases["gateway"]),
        "WEB_CONCURRENCY": "2",
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "MIGRATE_ON_START": "0",
    }
    env |= {
        f"{service}_URLS": f"http://127.0.0.1:{SERVICE_PORT}"
        for service in ("QUOTA", "ENROLLMENT", "FINANCE", "EVALUATION")
    }
    os.environ.update(env)
    processes = []
    try:
        token, quota = prepare(env)
        processes.append(
            start(
                ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "services.quota.wsgi:app"],
                env | {"PORT": str(SERVICE_PORT)},
                folder / "quota.log",
            )
        )
        processes.append(
            start(
                [
                    "gunicorn",
                    "-c",
                    "python:servicekit.gunicorn_conf",
                    "-k",
                    "gateway.worker.GatewayWorker",
                    "gateway.asgi:app",
                ],
                env | {"PORT": str(GATEWAY_PORT), "WEB_CONCURRENCY": "1"},
                folder / "gateway.log",
            )
        )
        wait_ready(f"http://127.0.0.1:{SERVICE_PORT}/healthz")
        wait_ready(f"http://127.0.0.1:{GATEWAY_PORT}/healthz")
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        figures = {}
        for size in sorted(args.sizes):
            fill(quota, size)
            figures[size] = measure(http, quota, args.requests)
        report(figures, args.requests)
    finally:
        for process in processes:
            stop(process)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            for name in databases.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def prepare(env: dict):
    """Migrate quota's and the gateway's databases; a federation admin's access token."""
    from gateway.keys import Keys
    from gateway.service import SERVICE as GATEWAY
    from gateway.tokens import issue_access_token
    from servicekit import Runtime
    from servicekit.identity import Identity
    from servicekit.migrations import upgrade
    from services.quota.service import SERVICE as QUOTA

    gateway = Runtime(GATEWAY)
    upgrade(gateway)
    gateway.engine.dispose()
    quota = Runtime(QUOTA)
    upgrade(quota)
    keys = Keys.load(Path(env["VAR_DIR"]))
    token = issue_access_token(
        Identity(subject="bench", role="federation_admin"), keys.access_token, now=int(time.time()), lifetime=3600
    )
    return token, quota


def fill(quota, size: int) -> None:
    """Units up to `size` rows, inserted in batches straight into quota's database; then ANALYZE."""
    from sqlalchemy import func, insert, select, text

    from servicekit.db import utcnow
    from services.quota.models import Unit

    with quota.engine.begin() as connection:
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


def measure(http: requests.Session, quota, count: int) -> tuple[float, float, float]:
    """p50 and p95 (ms) of pages of 50 starting at random rows, sorted by name; and the database's own time
    (EXPLAIN ANALYZE) for the page in the middle of the list: the part that must not grow with the table."""
    from sqlalchemy import func, select, text, tuple_

    from services.quota.models import Unit
    from services.quota.units import LISTING

    with quota.engine.connect() as connection:
        # Any row but the last by name: the page after the last row is empty (the next-to-last's page has one row).
        last = connection.execute(select(Unit.name, Unit.id).order_by(Unit.name.desc(), Unit.id.desc()).limit(1)).one()
        starts = connection.execute(select(Unit.name, Unit.id).order_by(func.random()).limit(count + 1)).all()
        starts = [start for start in starts if tuple(start) != tuple(last)][:count]
    url = f"http://127.0.0.1:{GATEWAY_PORT}/api/quota/units"
    for _ in range(20):  # warm-up: connections and code paths
        http.get(url, params={"limit": 50, "sort": "name"}).raise_for_status()
    timings = []
    for name, unit_id in starts:
        cursor = LISTING._encode("name", [name, unit_id])
        began = time.perf_counter()
        response = http.get(url, params={"limit": 50, "sort": "name", "cursor": cursor})
        timings.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        assert response.json(), "a page of rows"
    quantiles = statistics.quantiles(timings, n=20)
    with quota.engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(Unit))
        middle = connection.execute(select(Unit.name, Unit.id).order_by(Unit.name, Unit.id).offset(total // 2)).first()
        page = (
            select(Unit)
            .where(tuple_(Unit.name, Unit.id) > tuple_(*middle))
            .order_by(Unit.name, Unit.id)
            .add_columns(Unit.name, Unit.id)
            .limit(51)
        )
        sql = str(page.compile(quota.engine, compile_kwargs={"literal_binds": True}))
        plan = [row[0] for row in connection.execute(text("EXPLAIN ANALYZE " + sql))]
    database_ms = float(next(line for line in plan if line.startswith("Execution Time")).split()[2])
    assert any("Index Scan using ix_page_units_name" in line for line in plan), plan
    return statistics.median(timings), quantiles[18], database_ms


def report(figures: dict[int, tuple[float, float, float]], count: int) -> None:
    print(f"\nGET /api/quota/units?limit=50&sort=name&cursor=<random row>, {count} sequential requests per size")
    print(f"{'rows':>8}{'p50 ms':>10}{'p95 ms':>10}{'db ms':>10}  (db: EXPLAIN ANALYZE of the middle page)")
    for size, (p50, p95, database_ms) in figures.items():
        print(f"{size:>8}{p50:>10.2f}{p95:>10.2f}{database_ms:>10.3f}")
    smallest, largest = min(figures), max(figures)
    print(
        f"{largest // 1000}k/{smallest // 1000}k: p50 x{figures[largest][0] / figures[smallest][0]:.2f}, "
        f"p95 x{figures[largest][1] / figures[smallest][1]:.2f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
