"""Helpers for services' own tests (never imported by production code)."""
from __future__ import annotations

from flask import Flask

from .identity import HEADER, Identity, sign


def as_caller(app: Flask, role: str, subject: str = "tester", **scope) -> dict:
    """Headers carrying an identity signed the way the gateway signs it."""
    identity = Identity(subject=subject, role=role, **scope)
    return {HEADER: sign(identity, app.config["IDENTITY_SIGNING_KEY"])}
