"""The browser tests' browser, in one place (tests/conftest.py gives every test module its fixture): pytest-playwright
drives Debian's Chromium, which Playwright cannot download here, with the demo screenshots' arguments; a test
asking for `browser` (or `page`) is skipped when that Chromium is not installed (.ci/run installs it), the other
tests of its module still run. Also what the journeys share: the time a step may take, logging in."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from demo.screenshots import BROWSER_ARGS, CHROMIUM

from .campaign import PASSWORD

TIMEOUT_MS = 60_000  # the services talk through events: slow CI machines
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's browser: Debian's Chromium (Playwright cannot download its own here)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)")
    return {"executable_path": CHROMIUM, "args": BROWSER_ARGS}


def log_in(browser, portal: str, username: str, password: str = PASSWORD, width: int = 1366):
    """A new browser context (zh-CN, `width` wide) logged in to the portal as `username`: its home page."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{portal}/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{portal}/")
    return page


def accept_dialogs(page):
    """Every confirmation the page asks (data-confirm) is accepted."""
    page.on("dialog", lambda dialog: dialog.accept())
