"""Server time per portal page, per role, and what a first load transfers (the page and its assets).

    python benchmarks/portal_pages.py --portal http://127.0.0.1:8080 --admin USER:PASSWORD [--password DEMO] [--times 20]

Against a running portal with the demo data (`./dev up`; DEMO_PASSWORD from var/demo-password): each role logs
in through the login form, then every main page is fetched --times times, one after another. Prints p50 and
p95 in milliseconds per page (time to the whole answer, as the browser's first byte plus transfer on the
loopback), and the bytes of a first load (HTML + CSS + scripts, uncompressed). A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from demo.screenshots import LOGINS, PAGES  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portal", default="http://127.0.0.1:8080")
    parser.add_argument("--admin", required=True, help="USER:PASSWORD of the federation admin")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", ""), help="the demo users' password")
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    portal = args.portal.rstrip("/")
    admin = tuple(args.admin.split(":", 1))
    print(f"{'role':<20} {'page':<14} {'p50 ms':>8} {'p95 ms':>8} {'first load KB':>14}")
    for role, pages in PAGES.items():
        username, password = admin if role == "federation_admin" else (LOGINS[role], args.password)
        session = log_in(portal, username, password)
        for name, path in pages:
            samples = []
            for _ in range(args.times):
                started = time.perf_counter()
                answer = session.get(portal + path)
                samples.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', answer.text)
            size = len(answer.content) + sum(len(session.get(portal + asset).content) for asset in assets)
            print(f"{role:<20} {name:<14} {statistics.median(samples):8.0f} {p95(samples):8.0f} {size / 1024:14.1f}")


if __name__ == "__main__":
    main()
