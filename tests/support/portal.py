"""The portal before a test stack's gateway, on a port of its own (the browser tests' portal)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from gateway.tests.upstream import Server
from portal.app import create_app
from portal.config import Settings


@contextmanager
def portal_before(gateway_url: str, tmp: Path):
    """Yields the portal's URL; its sessions are kept in `tmp / "sessions"`."""
    settings = Settings(
        gateway_url=gateway_url,
        secret_key="portal-test-secret",
        session_dir=tmp / "sessions",
        session_hours=1,
        secure_cookies=None,
        timeout=30,
    )
    portal = Server(create_app(settings))
    try:
        yield portal.url
    finally:
        portal.stop()
