"""Time, throughput and memory of the training-ledger export (GET /ledger) at full size, in one run.

    python benchmarks/ledger_export.py [--rows 100000] [--formats csv xlsx]

A fresh PostgreSQL database (PG_ADMIN_DSN) is migrated for the enrollment service and seeded by COPY with
--rows enrolments and everything the ledger joins: one campaign, units and grassroots unions, institutions and
programmes, classes and class placements (some students moved once), finance's breakdowns (some cancelled),
payments, exam results (some retaken), certificates (some revoked), reimbursements and recoveries. The
enrollment api then runs under gunicorn as deployed (servicekit.gunicorn_conf, gthread) but with one worker,
so the process warmed up and sampled is the one serving, a fresh one per format; each format is downloaded
once as a federation admin after an empty warm-up export, streamed to nowhere. Per format: lines in the file,
seconds, MB/s, time to the first byte, and the worker's resident memory growth (VmRSS sampled every 50 ms, peak
minus its figure just before the download). A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.gateway_throughput import PG_ADMIN_DSN, database_url, start, stop, wait_ready  # noqa: E402
from benchmarks.memory import rss_kib, workers_of  # noqa: E402

PORT = 18110
CAMPAIGN = "00000000-0000-4000-8000-000000000001"
UNITS, UNIONS_PER_UNIT, INSTITUTIONS, PROGRAMMES_PER_INSTITUTION, CLASS_SIZE = 20, 10, 50, 4, 40
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
FEES = {
    "tuition_or_training": "2800.00",
    "appraisal_exam": "300.00",
    "textbook": "150.00",
    "registration": "0.00",
    "entrance_test": "0.00",
}


@dataclass
class Download:
    lines: int
    size: int
    seconds: float
    first_byte: float
    rss_growth_kib: int


def seed(dsn: str, rows: int) -> None:
    """The ledger's tables filled as the events and use cases would have left them, one COPY per table."""
    rng = random.Random(20260101)
    day = date(2026, 3, 2)
    units = [(f"U{u:03d}", 1, f"广州市第{u + 1}产业工会", "unit", None) for u in range(UNITS)]
    unions = [
        (f"U{u:03d}-G{g:02d}", 1, f"第{u + 1}产业第{g + 1}基层工会", "grassroots", f"U{u:03d}")
        for u in range(UNITS)
        for g in range(UNIONS_PER_UNIT)
    ]
    institutions = [(f"I{i:03d}", f"广州第{i + 1}职业培训学校", 1) for i in range(INSTITUTIONS)]
    programmes = [
        (
            f"I{i:03d}-P{p}",
            f"I{i:03d}",
            f"第{i + 1}校 项目{p + 1}",
            "skills" if p % 2 else "academic",
            "intermediate",
            None,
            "电工",
            json.dumps(["天河校区"]),
            day,
            False,
            *FEES.values(),
            "published",
            1,
        )
        for i in range(INSTITUTIONS)
        for p in range(PROGRAMMES_PER_INSTITUTION)
    ]
    kinds = {programme[0]: programme[3] for programme in programmes}
    classes = [
        (
            f"C{c:05d}",
            CAMPAIGN,
            programme[1],
            programme[0],
            True,
            None,
            day + timedelta(days=c % 60),
            False,
            "天河校区",
            "opened",
            day + timedelta(days=c % 60),
        )
        for c, programme in enumerate(programmes[c % len(programmes)] for c in range(-(-rows // CLASS_SIZE)))
    ]
    employees, enrolments, placements, breakdowns, payments = [], [], [], [], []
    exams, certificates, reimbursements, recoveries = [], [], [], []
    for n in range(rows):
        enrolment_id, employee_id = str(uuid.UUID(int=n + 1)), f"E{n:08d}"
        union = unions[n % len(unions)]
        training_class = classes[n // CLASS_SIZE]
        withdrawn = n % 50 == 0
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2))
        employees.append((employee_id, f"44010619{n:09d}X", name, f"138{n:08d}"))
        enrolments.append(
            (
                enrolment_id,
                3,
                "withdrawn" if withdrawn else "registered",
                CAMPAIGN,
                kinds[training_class[3]],
                employee_id,
                union[4],
                union[0],
                training_class[2],
                training_class[3],
                "高中",
                "一线技术骨干",
                "bench",
                datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=n),
                date(2026, 1, 5),
                date(2026, 1, 12),
                json.dumps(FEES),
                "1600.00",
                date(2026, 2, 1),
                "paid",
                training_class[0],
                date(2026, 4, 1) if withdrawn else None,
            )
        )
        if n % 20 == 0:  # moved once: an earlier class left by a transfer
            placements.append(
                (
                    str(uuid.uuid4()),
                    enrolment_id,
                    classes[(n // CLASS_SIZE + 1) % len(classes)][0],
                    day,
                    day + timedelta(days=7),
                    "transfer",
                )
            )
        placements.append(
            (
                str(uuid.uuid4()),
                enrolment_id,
                training_class[0],
                day + timedelta(days=7),
                date(2026, 4, 1) if withdrawn else None,
                "withdrawal" if withdrawn else None,
            )
        )
        breakdowns.append(
            (enrolment_id, 2, "cancelled" if withdrawn else "settled", "3250.00", "1600.00", "1000.00", "650.00")
        )
        if n % 10:
            payments.append(
                (
                    str(uuid.uuid4()),
                    enrolment_id,
                    "3250.00",
                    date(2026, 2, 10),
                    "paid",
                    datetime(2026, 2, 10, tzinfo=UTC),
                )
            )
        if withdrawn or n % 3 == 0:
            continue
        attempts = 2 if n % 7 == 0 else 1
        exams.extend(
            (
                str(uuid.uuid4()),
                enrolment_id,
                "中级电工",
                date(2026, 6, attempt),
                55 + 20 * attempt,
                attempt == attempts,
                attempt,
            )
            for attempt in range(1, attempts + 1)
        )
        revoked = n % 97 == 0
        certificate_id = str(uuid.uuid4())
        certificates.append(
            (
                certificate_id,
                2 if revoked else 1,
                enrolment_id,
                f"GZ2026{n:08d}",
                date(2026, 7, 1),
                date(2026, 9, 1) if revoked else None,
            )
        )
        for share, amount in (("federation", "1600.00"), ("unit", "1000.00")):
            reimbursement_id = str(uuid.uuid4())
            reimbursements.append((reimbursement_id, enrolment_id, share, amount, date(2026, 8, 1)))
            if revoked:
                recoveries.append((reimbursement_id, enrolment_id, share, amount, date(2026, 9, 15)))
    tables = {
        "campaigns": (
            (
                "campaign_id",
                "revision",
                "name",
                "year",
                "registration_start",
                "registration_end",
                "public_notice_days",
                "dedicated_class_threshold",
                "roster_lead_working_days",
                "skills_federation_rate",
                "skills_rate_overrides",
            ),
            [
                (
                    CAMPAIGN,
                    1,
                    "2026年百万职工技能提升",
                    2026,
                    date(2026, 1, 1),
                    date(2026, 12, 31),
                    7,
                    30,
                    10,
                    "0.5000",
                    "{}",
                )
            ],
        ),
        "units": (("unit_id", "revision", "name", "level", "parent_id"), units + unions),
        "institutions": (("institution_id", "name", "revision"), institutions),
        "programmes": (
            (
                "programme_id",
                "institution_id",
                "name",
                "kind",
                "level",
                "major",
                "trade",
                "teaching_sites",
                "start_date",
                "on_site_teaching",
                *(f"fee_{line}" for line in FEES),
                "status",
                "revision",
            ),
            programmes,
        ),
        "classes": (
            (
                "class_id",
                "campaign_id",
                "institution_id",
                "programme_id",
                "dedicated",
                "public_class_name",
                "opens_on",
                "on_site",
                "site",
                "status",
                "opened_on",
            ),
            classes,
        ),
        "employees": (("employee_id", "resident_id", "name", "phone"), employees),
        "enrolments": (
            (
                "enrolment_id",
                "revision",
                "status",
                "campaign_id",
                "kind",
                "employee_id",
                "unit_id",
                "grassroots_union_id",
                "institution_id",
                "programme_id",
                "education",
                "attestation",
                "nominated_by",
                "nominated_at",
                "notice_start",
                "notice_end",
                "fees",
                "subsidy_requested",
                "registered_on",
                "payment_status",
                "class_id",
                "withdrawn_on",
            ),
            enrolments,
        ),
        "class_placements": (
            ("placement_id", "enrolment_id", "class_id", "placed_on", "left_on", "ended_by"),
            placements,
        ),
        "breakdowns": (("enrolment_id", "revision", "status", "total", "federation", "unit", "employee"), breakdowns),
        "payments": (("payment_id", "enrolment_id", "amount", "paid_on", "status", "recorded_at"), payments),
        "exam_results": (("result_id", "enrolment_id", "exam", "held_on", "score", "passed", "attempt"), exams),
        "certificates": (
            ("certificate_id", "revision", "enrolment_id", "number", "issued_on", "revoked_on"),
            certificates,
        ),
        "reimbursements": (("reimbursement_id", "enrolment_id", "share", "amount", "paid_on"), reimbursements),
        "recoveries": (("reimbursement_id", "enrolment_id", "share", "amount", "recovered_on"), recoveries),
    }
    with psycopg.connect(dsn) as connection:
        for table, (columns, values) in tables.items():
            with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    print(", ".join(f"{len(values)} {table}" for table, (_, values) in tables.items()))


class PeakRss(threading.Thread):
    """The largest growth of a worker's resident memory while the download runs, sampled every 50 ms."""

    def __init__(self, workers: list[int]):
        super().__init__(daemon=True)
        self.baseline = {pid: rss_kib(pid) for pid in workers}
        self.peak = dict(self.baseline)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))

    def growth(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak[pid] - self.baseline[pid] for pid in self.peak)


def ledger_request(query: str, key: bytes) -> urllib.request.Request:
    from servicekit.identity import HEADER, Identity, sign

    header = sign(Identity(subject="bench", role="federation_admin"), key)
    return urllib.request.Request(f"http://127.0.0.1:{PORT}/ledger?{query}", headers={HEADER: header})


def warm_up(fmt: str, key: bytes) -> None:
    """An empty ledger first, so the figures leave out what the worker loads once (imports, compiled queries)."""
    with urllib.request.urlopen(ledger_request(f"format={fmt}&status=none", key), timeout=60) as response:
        response.read()


def download(fmt: str, key: bytes, workers: list[int]) -> Download:
    warm_up(fmt, key)
    request = ledger_request(f"format={fmt}", key)
    sampler = PeakRss(workers)
    sampler.start()
    started = time.perf_counter()
    first_byte, size, newlines = None, 0, 0
    xlsx = tempfile.TemporaryFile() if fmt == "xlsx" else None  # noqa: SIM115 kept on disk only to count its rows afterwards
    with urllib.request.urlopen(request, timeout=600) as response, open(os.devnull, "wb") as sink:
        while chunk := response.read(64 * 1024):
            first_byte = first_byte or time.perf_counter() - started
            size += len(chunk)
            newlines += chunk.count(b"\n")
            (xlsx or sink).write(chunk)
    seconds = time.perf_counter() - started
    growth = sampler.growth()
    lines = newlines - 1 if xlsx is None else xlsx_rows(xlsx) - 1  # less the header
    return Download(lines, size, seconds, first_byte or seconds, growth)


def xlsx_rows(spool) -> int:
    """Rows in the workbook's sheet, counted in its XML without loading it."""
    spool.seek(0)
    with spool, zipfile.ZipFile(spool) as workbook:
        sheet = next(name for name in workbook.namelist() if name.startswith("xl/worksheets/"))
        count, tail = 0, b""
        with workbook.open(sheet) as xml:
            while chunk := xml.read(1024 * 1024):
                count += (tail + chunk).count(b"<row")
                tail = chunk[-3:]  # a tag cut by the chunk's end, too short to be counted twice
        return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    name = f"bench_enrollment_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    key = secrets.token_urlsafe(32)
    env = {
        "VAR_DIR": str(folder / "var"),
        "LOG_LEVEL": "WARNING",
        "IDENTITY_SIGNING_KEY": key,
        "ENROLLMENT_DATABASE_URL": database_url(name),
        "MIGRATE_ON_START": "0",
        "WEB_CONCURRENCY": "1",
    }  # one worker: the one warmed up and sampled is the one that serves
    os.environ.update(env)
    api = None
    try:
        from servicekit import Runtime
        from servicekit.migrations import upgrade
        from services.enrollment.service import SERVICE

        runtime = Runtime(SERVICE)
        upgrade(runtime)
        runtime.engine.dispose()
        started = time.perf_counter()
        seed(make_conninfo(PG_ADMIN_DSN, dbname=name), args.rows)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
        results = {}
        for fmt in args.formats:  # a fresh api per format: memory one export keeps is not the next one's baseline
            api = start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:servicekit.gunicorn_conf",
                    "services.enrollment.wsgi:app",
                ],
                env | {"PORT": str(PORT)},
                folder / "api.log",
            )
            wait_ready(f"http://127.0.0.1:{PORT}/healthz")
            results[fmt] = download(fmt, key.encode(), workers_of(api.pid))
            stop(api)
        report(results, args.rows)
    finally:
        if api is not None:
            stop(api)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def report(results: dict[str, Download], rows: int) -> None:
    print(
        f"\nGET /ledger as federation_admin, {rows} enrolments, one gunicorn gthread worker (fresh per format), "
        f"{os.cpu_count()} CPUs shared with PostgreSQL and the client"
    )
    print(f"{'format':<8}{'lines':>9}{'MB':>9}{'seconds':>9}{'MB/s':>8}{'1st byte s':>12}{'RSS +MiB':>10}")
    for fmt, figures in results.items():
        mb = figures.size / 1e6
        print(
            f"{fmt:<8}{figures.lines:>9}{mb:>9.1f}{figures.seconds:>9.1f}{mb / figures.seconds:>8.2f}"
            f"{figures.first_byte:>12.2f}{figures.rss_growth_kib / 1024:>10.1f}"
        )
        if figures.lines != rows:
            print(f"  {fmt}: {figures.lines} lines for {rows} enrolments")


if __name__ == "__main__":
    raise SystemExit(main())
