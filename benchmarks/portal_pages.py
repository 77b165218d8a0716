"""Server time per portal page, per role, and what a first load transfers (the page and its assets).

    ./dev bench-portal [--registrations 10000] [--times 20]
        a stack of its own (the embedded one of `./dev screenshots`, in a private network namespace when root)
        with the demo data, plus --registrations nominations imported through the API, then the pages
    python benchmarks/portal_pages.py --portal http://127.0.0.1:8080 --admin USER:PASSWORD [--password DEMO]
        a portal already running with the demo data (`./dev up`; DEMO_PASSWORD from var/demo-password)

Each role logs in through the login form, then every main page is fetched --times times, one after another.
Prints p50 and p95 in milliseconds per page (time to the whole answer, as the browser's first byte plus transfer
on the loopback), and the bytes of a first load (HTML + CSS + scripts, uncompressed). A script, not a test.

The extra registrations are nominations (enrolments) made the way a grassroots union makes many: .csv imports of
200 rows through POST /api/enrollment/enrolments/import (all-or-nothing per file), shared among the demo's three
grassroots unions, each for the programme its demo cohort has; the people are made up (valid resident ID numbers
of Yuexiu district, never the demo's own workers).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from demo.screenshots import LOGINS, PAGES  # noqa: E402
from servicekit.resident_id import check_digit  # noqa: E402

# (grassroots union's officer, programme, schooling) as the demo's cohorts have them (demo/scenario.py)
NOMINATORS = [
    ("tianhe.union1", "GCJS-DG-4", "高中"),
    ("tianhe.union2", "ZGJS-HG-4", "高中"),
    ("jiguan.union1", "ZGJY-BK-KJ", "大专"),
]
BATCH = 200
# what a page loads after itself (htmx), measured like a page: the 工作台's panel of what changed since the last login
AFTER_THE_PAGE = [("home:since", "/since")]
HEADERS = ["姓名 Name", "身份证号 Resident ID number", "手机号码 Mobile phone", "文化程度 Education",
           "推荐理由 Attestation", "项目编号 Programme id"]  # fmt: skip


def made_up_person(number: int) -> tuple[str, str, str]:
    """Worker `number` of the benchmark: a name, a valid resident ID number (Yuexiu, 440104), a mobile."""
    born = date(1970, 1, 1) + timedelta(days=number // 900)
    first17 = f"440104{born:%Y%m%d}{number % 900 + 100:03d}"
    return f"测试职工{number:05d}", first17 + check_digit(first17), f"137{number:08d}"


def seed_registrations(gateway_url: str, password: str, count: int) -> None:
    """`count` nominations in the current campaign, BATCH a file, through the grassroots officers' import."""
    http = requests.Session()
    tokens = {}
    for username, _, _ in NOMINATORS:
        answer = http.post(f"{gateway_url}/auth/token", json={"username": username, "password": password})
        answer.raise_for_status()
        tokens[username] = answer.json()["access_token"]
    headers = {"Authorization": f"Bearer {tokens[NOMINATORS[0][0]]}"}
    campaigns = http.get(f"{gateway_url}/api/quota/campaigns", headers=headers).json()
    campaign = next(c for c in campaigns if c["status"] == "published")
    started, made = time.perf_counter(), 0
    for first in range(0, count, BATCH):
        username, programme, schooling = NOMINATORS[(first // BATCH) % len(NOMINATORS)]
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(HEADERS)
        for number in range(first, min(first + BATCH, count)):
            writer.writerow([*made_up_person(number)[:3], schooling, "职工代表大会民主推荐（基准测试）", programme])
        key = f"bench-{uuid.uuid4()}"
        retried = False
        for _attempt in range(6):  # a loaded machine: the gateway may give up waiting (504) while the import goes on
            answer = http.post(
                f"{gateway_url}/api/enrollment/enrolments/import",
                headers={
                    "Authorization": f"Bearer {tokens[username]}",
                    "Idempotency-Key": key,
                    "Accept-Language": "en",
                },
                data={"campaign_id": campaign["id"]},
                files={"file": ("nominations.csv", text.getvalue().encode(), "text/csv")},
                timeout=600,
            )
            if answer.status_code not in (502, 503, 504):
                break
            retried = True
            time.sleep(5)
        if retried and answer.status_code == 422 and "already" in answer.text.lower():
            answer = None  # the attempt the gateway gave up on went through: its rows are nominated now
        elif answer.status_code != 201:
            sys.exit(f"import refused ({answer.status_code}): {answer.text[:2000]}")
        made += min(BATCH, count - first) if answer is None else len(answer.json())
        print(f"  {made} nominations imported ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


def log_in(portal: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{portal}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    answer = session.post(f"{portal}/login", data={"username": username, "password": password, "csrf_token": token})
    if answer.url.rstrip("/") != portal:
        sys.exit(f"{username} could not log in")
    return session


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def measure(portal: str, admin: tuple[str, str], password: str, times: int) -> list[tuple[str, str, float]]:
    """Prints the table; answers (role, page, p95) of every page."""
    print(f"{'role':<20} {'page':<14} {'p50 ms':>8} {'p95 ms':>8} {'first load KB':>14}")
    measured = []
    for role, pages in PAGES.items():
        if role not in LOGINS and role != "federation_admin":
            continue
        username, secret = admin if role == "federation_admin" else (LOGINS[role], password)
        session = log_in(portal, username, secret)
        for name, path in [*pages, *AFTER_THE_PAGE]:
            if not isinstance(path, str):
                continue  # a page the screenshots reach by following links (its list page is measured)
            session.get(portal + path)  # the first call fills the session's caches, as a person's first visit does
            samples = []
            for _ in range(times):
                started = time.perf_counter()
                answer = session.get(portal + path)
                samples.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', answer.text)
            size = len(answer.content) + sum(len(session.get(portal + asset).content) for asset in assets)
            print(f"{role:<20} {name:<14} {statistics.median(samples):8.0f} {p95(samples):8.0f} {size / 1024:14.1f}")
            measured.append((role, name, p95(samples)))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portal", help="a portal already running (else a stack of its own is started)")
    parser.add_argument("--admin", help="USER:PASSWORD of the federation admin (with --portal)")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", ""), help="the demo users' password")
    parser.add_argument("--gateway", default="http://127.0.0.1:8000", help="for --registrations (with --portal)")
    parser.add_argument("--registrations", type=int, default=0, help="nominations to import first")
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    if args.portal:
        if not args.admin:
            parser.error("--admin USER:PASSWORD is needed with --portal")
        if args.registrations:
            seed_registrations(args.gateway, args.password, args.registrations)
        admin = args.admin.split(":", 1)
        measured = measure(args.portal.rstrip("/"), (admin[0], admin[1]), args.password, args.times)
    else:
        from demo.screenshots import demo_stack

        with demo_stack() as (portal, admin, password):
            if args.registrations:
                seed_registrations("http://127.0.0.1:8000", password, args.registrations)
            measured = measure(portal, admin, password, args.times)
    slowest = max(measured, key=lambda m: m[2])
    print(f"slowest p95: {slowest[0]} {slowest[1]} {slowest[2]:.0f} ms")


if __name__ == "__main__":
    main()
