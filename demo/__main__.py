"""The demo against a running stack (`./dev up`):

    python -m demo logins                     the demo's users, one per role, and their password
    python -m demo load [--wait SECONDS]      load the demo data (users, units, campaign, participants, allocation,
                                              catalogue, plans)
    python -m demo play [--close]             play the whole campaign to its close-out's checklist and report
                                              (with --close it closes the campaign: read-only from then on),
                                              printing a summary per step

Both are idempotent: running them again changes nothing. The federation admin's login comes from
GATEWAY_BOOTSTRAP_ADMIN / GATEWAY_BOOTSTRAP_PASSWORD; the demo users' password from DEMO_PASSWORD.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

from .data import load
from .scenario import Scenario

LOAD_STEPS = ("accounts", "units", "campaign", "participation", "allocation", "fund_transfers", "catalogue", "plans")


def wait_ready(base_url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"The gateway at {base_url} was not ready within {seconds:.0f}s.")
        time.sleep(1)


def logins(password: str) -> list[str]:
    users = [
        (u["username"], u["role"], u.get("unit_id") or u.get("institution_id") or "") for u in load("people")["users"]
    ]
    users.append(("worker01", "employee", "after `python -m demo play` (a nominated worker)"))
    seen, lines = set(), []
    for username, role, scope in users:
        if role not in seen:
            seen.add(role)
            lines.append(f"  {role:<22} {username:<16} {password}   {scope}")
    lines.append("  institution_system     HMAC keys of 2 exam systems: var/demo-machine-clients.json")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("logins", "load", "play"))
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--wait", type=float, default=0, help="wait this long for the gateway's /readyz first")
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("VAR_DIR", "var")))
    parser.add_argument(
        "--close",
        action="store_true",
        help="play: close the campaign at the end (read-only from then on; without it the checklist and report only)",
    )
    args = parser.parse_args(argv)
    password = os.environ.get("DEMO_PASSWORD", "")
    if len(password) < 10:
        sys.exit("Set DEMO_PASSWORD (at least 10 characters) for the demo's users.")
    if args.command == "logins":
        print("\n".join(logins(password)))
        return
    admin = (os.environ.get("GATEWAY_BOOTSTRAP_ADMIN", ""), os.environ.get("GATEWAY_BOOTSTRAP_PASSWORD", ""))
    if not all(admin):
        sys.exit("Set GATEWAY_BOOTSTRAP_ADMIN and GATEWAY_BOOTSTRAP_PASSWORD (the federation admin).")
    if args.wait:
        wait_ready(args.base_url, args.wait)
    scenario = Scenario(args.base_url, admin, password, args.state_dir, close=args.close)
    if args.command == "load":
        for name in LOAD_STEPS:
            getattr(scenario, name)()
    else:
        scenario.run()


if __name__ == "__main__":
    main()
