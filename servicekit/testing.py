"""Helpers for services' own tests (never imported by production code)."""

from __future__ import annotations

import io

from flask import Flask
from openpyxl import Workbook

from .identity import HEADER, Identity, sign


def as_caller(app: Flask, role: str, subject: str = "tester", **scope) -> dict:
    """Headers carrying an identity signed the way the gateway signs it."""
    identity = Identity(subject=subject, role=role, **scope)
    return {HEADER: sign(identity, app.config["IDENTITY_SIGNING_KEY"])}


def xlsx(rows: list[list]) -> bytes:
    """A one-sheet workbook of these rows, as a spreadsheet upload would carry it."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
