"""Screenshots of the portal's main pages per role, desktop (1366 wide) and phone (390 wide), as PNG files.

    ./dev screenshots DIR            start a stack of its own with the demo data and the portal, then shoot
    python -m demo.screenshots DIR --portal URL --admin USER:PASSWORD    shoot a portal already running

`./dev screenshots` runs in a private network namespace (as root), so its ports clash with nothing; Chromium is
Debian's (/usr/bin/chromium), driven by Playwright.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
PAGES = {
    "federation_admin": [
        ("home", "/"),
        ("dashboard", "/federation/dashboard"),
        ("institutions", "/federation/institutions"),
        ("institution", "/federation/institutions/GZ-GCJS"),
        ("programmes", "/federation/programmes?status=draft"),
        ("inspections", "/federation/inspections"),
        ("notices", "/federation/inspections?tab=notices"),
        ("institution_inspections", "/federation/institutions/GZ-GCJS/inspections"),
        ("closeout", ("/federation/campaigns", "main table tbody a[href$='/closeout']")),
        ("survey_results", "/surveys/results"),
        ("clients", "/federation/clients"),
        ("audit", "/federation/audit"),
        ("campaigns", "/federation/campaigns"),
        ("units", "/federation/units"),
        ("unit", "/federation/units?parent=GZ-TH"),
        ("allocation", "/federation/allocation"),
        ("transfers", "/federation/transfers"),
        ("reviews", "/federation/reviews"),
        ("users", "/federation/users"),
        ("calendar", "/federation/calendar"),
        ("operations", "/federation/operations"),
        ("account", "/account"),
    ],
    "auditor": [
        ("home", "/"),
        ("allocation", "/federation/allocation"),
        ("transfers", "/federation/transfers"),
        ("institution", "/federation/institutions/GZ-GCJS"),
        ("closeout", ("/federation/campaigns", "main table tbody a[href$='/closeout']")),
    ],
    "unit_officer": [
        ("home", "/"),
        ("allocation", "/unit/allocation"),
        ("unions", "/unit/unions"),
        ("lists", "/unit/lists"),
        ("results", "/union/results?show=certificates"),
        ("money", "/unit/money"),
    ],
    "grassroots_officer": [
        ("home", "/"),
        ("nominations", "/nominations"),
        ("notice", "/notice"),
        ("public_notice", ("/notice", "main [data-testid=public-notice-link]")),
        ("studies", "/studies"),
        ("results", "/union/results"),
    ],
    "institution_operator": [
        ("home", "/"),
        ("students", "/institution/students?status=registered"),
        ("student", ("/institution/students?status=registered", "main table tbody a")),
        ("classes", "/institution/classes"),
        ("class", ("/institution/classes", "main table tbody a")),
        # the class's timetable with a lesson being changed (课表: the 修改 link of its first lesson)
        ("class_lesson", ("/institution/classes", "main table tbody a", "[data-testid=lessons] tbody a")),
        ("records", "/institution/records"),
        ("programmes", "/institution/programmes"),
        ("programme", ("/institution/programmes", "main table tbody a")),
        ("imports", "/institution/imports"),
        ("it", "/institution/it"),
        ("public_roster", ("/institution/classes", "main table tbody a", "main dl a")),
        ("survey_results", "/surveys/results"),
    ],
    "employee": [
        ("home", "/"),
        ("studies", "/me/"),
        ("enrolment", ("/me/", "main h2 a")),
        ("classes", "/me/classes"),
        ("surveys", "/me/surveys"),
        ("data", "/me/data"),
    ],
}
PUBLIC = [
    ("about", "/public/"),
    ("verify", "/public/certificates?institution=GZ-GCJS&number=GZ-GCJS-0000"),
    ("activate", "/activate"),
]
LOGINS = {
    "auditor": "demo.auditor",
    "unit_officer": "tianhe.officer",
    "grassroots_officer": "tianhe.union1",
    "institution_operator": "gcjs.operator",
    "employee": "worker01",
}


def shoot(portal: str, out: Path, admin: tuple[str, str], password: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        anonymous = browser.new_page(viewport={"width": 1366, "height": 900})
        anonymous.goto(f"{portal}/login")
        saved.append(out / "login-desktop.png")
        anonymous.screenshot(path=saved[-1], full_page=True)
        for size, (width, height) in SIZES.items():
            anonymous.set_viewport_size({"width": width, "height": height})
            for name, path in PUBLIC:
                anonymous.goto(portal + path)
                saved.append(out / f"public-{name}-{size}.png")
                anonymous.screenshot(path=saved[-1], full_page=True)
        for role, pages in PAGES.items():
            username, secret = admin if role == "federation_admin" else (LOGINS[role], password)
            for size, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
                page = context.new_page()
                page.goto(f"{portal}/login")
                page.fill("#username", username)
                page.fill("#password", secret)
                page.click("button[type=submit]")
                page.wait_for_url(f"{portal}/")
                for name, path in pages:
                    if isinstance(path, tuple):  # a page reached by links: the first of each selector in turn
                        page.goto(portal + path[0])
                        for selector in path[1:]:
                            page.locator(selector).first.click()
                            page.wait_for_load_state()
                    else:
                        page.goto(portal + path)
                    page.wait_for_load_state("networkidle")  # what a page loads after itself (htmx) is in the picture
                    saved.append(out / f"{role}-{name}-{size}.png")
                    page.screenshot(path=saved[-1], full_page=True)
                context.close()
        browser.close()
    return saved


def wait_for(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit(f"{url} did not answer within {seconds:.0f}s")


def with_stack(out: Path) -> None:
    """The screenshots of a stack of its own (`demo_stack`)."""
    with demo_stack() as (portal, admin, password):
        saved = shoot(portal, out, admin, password)
        print(f"{len(saved)} screenshots in {out}")


@contextmanager
def demo_stack():
    """The embedded stack (./dev up's Procfile, SQLite and the filesystem broker in a temporary VAR_DIR), the
    demo data and the campaign played up to its classes (nominations, registration, payments) loaded: yields
    (portal URL, (admin, password), demo users' password), stops the stack on leaving."""
    var = Path(tempfile.mkdtemp(prefix="portal-screenshots-"))
    password = "demo-screens-2013"
    admin = ("fed.admin", "screens-admin-2013")
    env = {
        **os.environ,
        "VAR_DIR": str(var),
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "GATEWAY_BOOTSTRAP_ADMIN": admin[0],
        "GATEWAY_BOOTSTRAP_PASSWORD": admin[1],
        "DEMO_PASSWORD": password,
    }
    for module in ("services.quota", "services.enrollment", "services.finance", "services.evaluation", "gateway"):
        subprocess.run([sys.executable, "-m", module, "migrate"], env=env, cwd=REPO, check=True, capture_output=True)
    with open(var / "stack.log", "w") as log:
        stack = subprocess.Popen(
            ["honcho", "-d", str(REPO), "-f", "deploy/Procfile", "start"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for("http://127.0.0.1:8000/readyz")
            wait_for("http://127.0.0.1:8080/login")
            load_demo(admin, password, var)
            yield "http://127.0.0.1:8080", admin, password
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=60)


def load_demo(admin: tuple[str, str], password: str, var: Path) -> None:
    from .__main__ import LOAD_STEPS
    from .scenario import Scenario

    scenario = Scenario("http://127.0.0.1:8000", admin, password, var, say=lambda *_: None)
    for name in (*LOAD_STEPS, "nominations", "confirmation", "list_send", "registration", "payments", "classes"):
        getattr(scenario, name)()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.screenshots", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--portal", help="a portal already running (else a stack of its own is started)")
    parser.add_argument("--admin", help="USER:PASSWORD of the federation admin (with --portal)")
    args = parser.parse_args(argv)
    if args.portal:
        user, _, secret = (args.admin or ":").partition(":")
        saved = shoot(args.portal.rstrip("/"), args.out, (user, secret), os.environ.get("DEMO_PASSWORD", ""))
        print(f"{len(saved)} screenshots in {args.out}")
    else:
        with_stack(args.out)


if __name__ == "__main__":
    main()
