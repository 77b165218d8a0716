"""Time, throughput and memory of the training-ledger export (GET /api/enrollment/ledger) at full size, in one run.

    python benchmarks/ledger_export.py [--rows 100000] [--formats csv xlsx] [stack options: --web-concurrency ...]

The stack deployed as in production (saga_throughput.deployed_stack: every api under gunicorn, its worker, the
gateway in front, on the local PostgreSQL and RabbitMQ); enrollment's database seeded by COPY with --rows
enrolments and everything the ledger joins: one campaign, units and grassroots unions, institutions and
programmes, classes and class placements (some students moved once), finance's breakdowns (some cancelled),
payments, exam results (some retaken), certificates (some revoked), reimbursements and recoveries; resident ID
numbers and phones encrypted as enrollment stores them. Each format is downloaded once through the gateway as a
federation admin after an empty warm-up export, streamed to nowhere. Per format: lines, MB, seconds, rows/s, time
to the first byte, and the largest resident memory growth of any process of the stack while it streams (VmRSS
sampled every 50 ms, peak minus its figure just before); beside the raw reference, the enrolments table alone
copied out of PostgreSQL as CSV (COPY ... TO STDOUT), and each one's rows/s over the raw one's. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.memory import PeakRss, pids_of  # noqa: E402
from benchmarks.saga_throughput import (  # noqa: E402
    admin_token,
    database_dsn,
    deployed_stack,
    gunicorns,
    stack_arguments,
    stack_processes,
)

CAMPAIGN = "00000000-0000-4000-8000-000000000001"
UNITS, UNIONS_PER_UNIT, INSTITUTIONS, PROGRAMMES_PER_INSTITUTION, CLASS_SIZE = 20, 10, 50, 4, 40
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
REFERENCE = ("campaigns", "units", "institutions", "programmes")
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


def seed(dsn: str, rows: int, have: int = 0) -> None:
    """The ledger's tables filled as the events and use cases would have left them, one COPY per table: enrolments
    `have` to `rows` (the campaign, units, institutions and programmes with the first ones). Resident ID numbers
    and phones encrypted as enrollment stores them (the VAR_DIR key of the processes that read them)."""
    from servicekit.encrypted import PERSONAL_DATA, resident_id_cipher

    cipher = resident_id_cipher()
    rng = random.Random(20260101 + have)
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

    def class_of(c: int) -> tuple:
        programme = programmes[c % len(programmes)]
        opens_on = day + timedelta(days=c % 60)
        return (
            f"C{c:05d}",
            CAMPAIGN,
            programme[1],
            programme[0],
            True,
            None,
            opens_on,
            False,
            "天河校区",
            "opened",
            opens_on,
        )

    # the classes begun by these enrolments (one begun by earlier ones is there already)
    classes = [class_of(c) for c in range(-(-have // CLASS_SIZE), -(-rows // CLASS_SIZE))]
    employees, enrolments, placements, breakdowns, payments = [], [], [], [], []
    exams, certificates, reimbursements, recoveries = [], [], [], []
    for n in range(have, rows):
        enrolment_id, employee_id = str(uuid.UUID(int=n + 1)), f"E{n:08d}"
        union = unions[n % len(unions)]
        training_class = class_of(n // CLASS_SIZE)
        withdrawn = n % 50 == 0
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2))
        resident_id = f"44010619{n:09d}X"
        employees.append(
            (
                employee_id,
                cipher.encrypt(resident_id),
                resident_id[-4:],
                name,
                cipher.encrypt(f"138{n:08d}", PERSONAL_DATA),
            )
        )
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
        if n % 20 == 0:  # moved once: a neighbouring class (seeded already) left by a transfer
            placements.append(
                (
                    str(uuid.uuid4()),
                    enrolment_id,
                    f"C{abs(n // CLASS_SIZE - 1):05d}",
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
        "employees": (("employee_id", "resident_id", "resident_id_tail", "name", "phone"), employees),
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
    if have:  # the campaign and the catalogue came with the first enrolments
        tables = {table: rows for table, rows in tables.items() if table not in REFERENCE}
    with psycopg.connect(dsn) as connection:
        for table, (columns, values) in tables.items():
            with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")  # the seed's pages written now, not during the figures that follow
    print(", ".join(f"{len(values)} {table}" for table, (_, values) in tables.items()))


def download(base: str, token: str, fmt: str, processes: dict[str, list[int]]) -> Download:
    """The whole ledger through the gateway as a federation admin, after an empty one (what a worker loads once:
    imports, compiled queries); the largest growth of any of `processes` while it streams."""
    url, headers = f"{base}/api/enrollment/ledger?format={fmt}", {"Authorization": f"Bearer {token}"}
    requests.get(f"{url}&status=none", headers=headers, timeout=60).raise_for_status()
    sampler = PeakRss(processes)
    started = time.perf_counter()
    first_byte, size, newlines = None, 0, 0
    xlsx = tempfile.TemporaryFile() if fmt == "xlsx" else None  # noqa: SIM115 kept on disk only to count its rows afterwards
    with requests.get(url, headers=headers, stream=True, timeout=600) as response, open(os.devnull, "wb") as sink:
        response.raise_for_status()
        for chunk in response.iter_content(64 * 1024):
            first_byte = first_byte or time.perf_counter() - started
            size += len(chunk)
            newlines += chunk.count(b"\n")
            (xlsx or sink).write(chunk)
    seconds = time.perf_counter() - started
    growth = max(peak - baseline for baseline, peak in sampler.stop().values())
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


def seeded(deployed, tmp: Path, rows: int, have: int = 0) -> None:
    """Enrollment's database of the deployed stack filled up to `rows` enrolments (from `have`)."""
    os.environ["VAR_DIR"] = str(tmp / "var")  # the stack's key: personal data encrypted as enrollment reads it
    started = time.perf_counter()
    seed(database_dsn(deployed, "enrollment"), rows, have)
    print(f"seeded {rows - have} enrolments in {time.perf_counter() - started:.1f} s", flush=True)


def exported(deployed, token: str, formats: list[str], processes: dict[str, list[int]], rows: int) -> None:
    """The ledger downloaded in each format, reported beside the raw COPY."""
    results = {fmt: download(deployed.url, token, fmt, processes) for fmt in formats}
    report(results, raw_copy(database_dsn(deployed, "enrollment")), rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    args = stack_arguments(parser)
    with tempfile.TemporaryDirectory() as folder, deployed_stack(args, Path(folder)) as deployed:
        seeded(deployed, Path(folder), args.rows)
        token = admin_token(deployed, Path(folder))
        processes = pids_of(stack_processes(deployed), gunicorn=gunicorns(deployed))
        exported(deployed, token, args.formats, processes, args.rows)
    return 0


def raw_copy(dsn: str) -> Download:
    """The raw reference: the enrolments table alone as CSV straight from PostgreSQL (COPY ... TO STDOUT)."""
    started, first_byte, size, lines = time.perf_counter(), None, 0, 0
    with psycopg.connect(dsn) as connection, connection.cursor().copy("COPY enrolments TO STDOUT WITH CSV") as copy:
        for chunk in copy:
            first_byte = first_byte or time.perf_counter() - started
            size, lines = size + len(chunk), lines + bytes(chunk).count(b"\n")
    seconds = time.perf_counter() - started
    return Download(lines, size, seconds, first_byte or seconds, 0)


def report(results: dict[str, Download], raw: Download, rows: int) -> None:
    print(
        f"\nGET /api/enrollment/ledger through the gateway as federation_admin, {rows} enrolments "
        f"(target: first byte < 200 ms, no process +200 MB); raw: COPY enrolments TO STDOUT (CSV, one table)"
    )
    print(
        f"{'format':<8}{'lines':>9}{'MB':>8}{'seconds':>9}{'rows/s':>9}{'1st byte ms':>13}{'RSS +MiB':>10}{'x raw rows/s':>14}"
    )
    for fmt, figures in {**results, "raw": raw}.items():
        print(
            f"{fmt:<8}{figures.lines:>9}{figures.size / 1e6:>8.1f}{figures.seconds:>9.2f}"
            f"{figures.lines / figures.seconds:>9.0f}{figures.first_byte * 1000:>13.0f}"
            f"{figures.rss_growth_kib / 1024:>10.1f}{raw.seconds / figures.seconds * figures.lines / raw.lines:>14.3f}"
        )
        if figures.lines != rows:
            print(f"  {fmt}: {figures.lines} lines for {rows} enrolments")


if __name__ == "__main__":
    raise SystemExit(main())
