"""The portal before a test stack's gateway, on a port of its own (the browser tests' portal)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from flask import Flask

from portal.app import create_app
from portal.config import Settings

from .wsgi_server import Server


def _settings(gateway_url: str, tmp: Path) -> Settings:
    return Settings(
        gateway_url=gateway_url,
        secret_key="portal-test-secret",
        session_dir=tmp / "sessions",
        session_hours=1,
        secure_cookies=None,
        timeout=30,
        survey_max_delay_seconds=2,  # the answer's random delay: short in tests
    )


@contextmanager
def portal_before(gateway_url: str, tmp: Path):
    """Yields the portal's URL; its sessions are kept in `tmp / "sessions"`."""
    portal = Server(create_app(_settings(gateway_url, tmp)))
    try:
        yield portal.url
    finally:
        portal.stop()


@dataclass
class PortalFirst:
    """A portal started before its gateway, whose CORS must name the portal's origin: `at()` points it."""

    url: str
    app: Flask

    def at(self, gateway_url: str) -> str:
        self.app.config["PORTAL"] = replace(self.app.config["PORTAL"], gateway_url=gateway_url)
        return self.url


@contextmanager
def portal_first(tmp: Path):
    app = create_app(_settings("http://127.0.0.1:9", tmp))
    portal = Server(app)
    try:
        yield PortalFirst(portal.url, app)
    finally:
        portal.stop()
