"""Tokens of an external identity provider, trusted through its JWKS (served here by a local server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from flask import Flask, jsonify

from gateway.config import load_settings
from tests.support.wsgi_server import Server

from .conftest import gateway_app
from .upstream import service_app

rsa = pytest.importorskip(
    "cryptography.hazmat.primitives.asymmetric.rsa",
    reason="RS256 needs the cryptography package (see requirements/runtime.in)",
)
from cryptography.hazmat.primitives import serialization  # noqa: E402

ISSUER = "https://idp.gzftu.example"
AUDIENCE = "upskilling-portal"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def idp_key():
    return new_key()


@pytest.fixture(scope="module")
def jwks(idp_key):
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(idp_key.public_key()))
    app = Flask("idp")
    app.config["fetches"] = 0

    @app.get("/.well-known/jwks.json")
    def keys():
        app.config["fetches"] += 1
        return jsonify(keys=[public | {"kid": "k1", "use": "sig", "alg": "RS256"}])

    server = Server(app)
    yield server
    server.stop()


@pytest.fixture
def gateway(sqlite_runtime, jwks):
    service = Server(service_app(sqlite_runtime.settings.var_dir))
    env = {
        "GATEWAY_JWKS_URL": f"{jwks.url}/.well-known/jwks.json",
        "GATEWAY_EXTERNAL_ISSUER": ISSUER,
        "GATEWAY_EXTERNAL_AUDIENCE": AUDIENCE,
        "GATEWAY_EXTERNAL_ROLE_CLAIM": "upskilling_role",
    }
    yield gateway_app(sqlite_runtime, env, quota=service.url).test_client()
    service.stop()


def external_token(key, kid="k1", algorithm="RS256", **claims):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "4401-zhang",
        "iat": now,
        "exp": now + 300,
        "upskilling_role": "unit_officer",
        "unit_id": "unit-haizhu",
    } | claims
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def hs256_by_hand(claims: dict, secret: bytes) -> str:
    """What an attacker would send (PyJWT itself refuses to make it)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = part(b'{"alg":"HS256","kid":"k1","typ":"JWT"}') + "." + part(json.dumps(claims).encode())
    return signing_input + "." + part(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def call(gateway, token):
    return gateway.get("/api/quota/whoami", headers={"Authorization": f"Bearer {token}"})


def test_a_token_of_the_trusted_provider_is_mapped_to_an_identity(gateway, idp_key):
    response = call(gateway, external_token(idp_key))
    assert response.status_code == 200, response.get_json()
    seen = response.get_json()
    assert (seen["subject"], seen["role"], seen["unit_id"]) == ("ext:4401-zhang", "unit_officer", "unit-haizhu")


@pytest.mark.parametrize(
    "case",
    [
        "other key",
        "expired",
        "wrong audience",
        "no audience",
        "machine role",
        "no scope",
        "unknown role",
        "key confusion",
        "federation admin",
        "auditor",
    ],
)
def test_bad_provider_tokens_are_refused(gateway, idp_key, case):
    now = int(time.time())
    if case == "key confusion":  # HS256 "signed" with the provider's public key
        pem = idp_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        token = hs256_by_hand(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "upskilling_role": "federation_admin"}, pem
        )
    else:
        token = {
            "other key": lambda: external_token(new_key()),
            "expired": lambda: external_token(idp_key, exp=now - 60, iat=now - 400),
            "wrong audience": lambda: external_token(idp_key, aud="someone-else"),
            "no audience": lambda: external_token(idp_key, aud=None),
            # The federation's roles only when the operator maps them (GATEWAY_EXTERNAL_ROLES): not by default.
            "federation admin": lambda: external_token(idp_key, upskilling_role="federation_admin", unit_id=None),
            "auditor": lambda: external_token(idp_key, upskilling_role="auditor", unit_id=None),
            "machine role": lambda: external_token(idp_key, upskilling_role="institution_system", institution_id="i"),
            "no scope": lambda: external_token(idp_key, unit_id=None),
            "unknown role": lambda: external_token(idp_key, upskilling_role="superuser"),
        }[case]()
    response = call(gateway, token)
    assert response.status_code == 401, response.get_json()
    assert response.mimetype == "application/problem+json"


def test_a_token_of_another_issuer_is_not_sent_to_the_provider(gateway, idp_key, jwks):
    fetches = jwks.app.config["fetches"]
    response = call(gateway, external_token(idp_key, iss="https://elsewhere.example"))
    assert response.status_code == 401
    assert jwks.app.config["fetches"] == fetches


def test_roles_are_mapped_by_configuration_and_only_those(sqlite_runtime, jwks, idp_key):
    service = Server(service_app(sqlite_runtime.settings.var_dir))
    env = {
        "GATEWAY_JWKS_URL": f"{jwks.url}/.well-known/jwks.json",
        "GATEWAY_EXTERNAL_ISSUER": ISSUER,
        "GATEWAY_EXTERNAL_AUDIENCE": AUDIENCE,
        "GATEWAY_EXTERNAL_ROLE_CLAIM": "groups",
        "GATEWAY_EXTERNAL_ROLES": "hr-officer=unit_officer, ftu-it-admins=federation_admin",
    }
    try:
        gateway = gateway_app(sqlite_runtime, env, quota=service.url).test_client()
        officer = call(gateway, external_token(idp_key, groups="hr-officer"))
        assert officer.status_code == 200 and officer.get_json()["role"] == "unit_officer"
        admin = call(gateway, external_token(idp_key, groups="ftu-it-admins", unit_id=None))
        assert admin.status_code == 200 and admin.get_json()["role"] == "federation_admin"
        for unmapped in ("unit_officer", "federation_admin", ["ftu-it-admins"]):
            assert call(gateway, external_token(idp_key, groups=unmapped)).status_code == 401
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"GATEWAY_EXTERNAL_AUDIENCE": ""}, "needs GATEWAY_EXTERNAL_AUDIENCE"),
        ({"GATEWAY_EXTERNAL_ISSUER": ""}, "needs GATEWAY_EXTERNAL_ISSUER"),
        ({"GATEWAY_EXTERNAL_ROLES": "x=superuser"}, "GATEWAY_EXTERNAL_ROLES"),
        ({"GATEWAY_EXTERNAL_ROLES": "x=institution_system"}, "GATEWAY_EXTERNAL_ROLES"),
    ],
)
def test_a_provider_without_audience_or_with_a_bad_role_map_stops_the_start(change, refused):
    env = {
        "GATEWAY_JWKS_URL": "https://idp.gzftu.example/jwks.json",
        "GATEWAY_EXTERNAL_ISSUER": ISSUER,
        "GATEWAY_EXTERNAL_AUDIENCE": AUDIENCE,
    } | change
    with pytest.raises(ValueError, match=refused):
        load_settings(env)
