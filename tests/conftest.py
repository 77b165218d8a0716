"""Fixtures every cross-service test module may ask for (the servers and stacks: the root conftest.py's plugins)."""

from tests.support.browser import browser_type_launch_args  # noqa: F401  (pytest-playwright's: Debian's Chromium)
