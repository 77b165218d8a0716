"""Helpers for services' own tests (never imported by production code)."""

from __future__ import annotations

import io
import json
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from openpyxl import Workbook

from .identity import HEADER, Identity, sign
from .keys import key_id

CALLER = "X-Test-Caller"  # what as_caller's headers carry; the test's signer turns it into the real header
SIGNER = "testing.identity_signer"


def as_caller(app: Flask, role: str, subject: str = "tester", **scope) -> dict:
    """Headers that reach `app` with an identity signed the way the gateway signs it, for the request they go with.

    The identity header is bound to the request (method, path, request id), which these headers do not know
    yet: the test's own signer, wrapped around the app here (tests only), signs it as the request comes in,
    with a key of the test's that the app is told to accept.
    """
    identity = Identity(subject=subject, role=role, **scope)
    _install_signer(app)
    return {CALLER: json.dumps({k: v for k, v in vars(identity).items() if v is not None})}


def _install_signer(app: Flask) -> None:
    if SIGNER in app.extensions:
        return
    key = Ed25519PrivateKey.generate()
    app.config["IDENTITY_PUBLIC_KEYS"] = {
        **app.config["IDENTITY_PUBLIC_KEYS"],
        key_id(key.public_key()): key.public_key(),
    }
    app.extensions[SIGNER] = key
    inner = app.wsgi_app

    def signing(environ, start_response):
        caller = environ.pop("HTTP_" + CALLER.upper().replace("-", "_"), None)
        if caller:
            request_id = environ.setdefault("HTTP_X_REQUEST_ID", str(uuid.uuid4()))
            environ["HTTP_" + HEADER.upper().replace("-", "_")] = sign(
                Identity(**json.loads(caller)),
                key,
                audience=app.config["IDENTITY_AUDIENCE"],
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"),
                request_id=request_id,
            )
        return inner(environ, start_response)

    app.wsgi_app = signing  # type: ignore[method-assign]


def xlsx(rows: list[list]) -> bytes:
    """A one-sheet workbook of these rows, as a spreadsheet upload would carry it."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
