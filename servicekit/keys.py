"""Keys and credentials: one purpose each, made once per machine locally, refused when unsafe in production.

Every key has one purpose and one environment variable (the README's operator section lists them):

    GATEWAY_ACCESS_TOKEN_KEY   gateway only: signs its access tokens (HS256)
    GATEWAY_CLIENT_SECRET_KEY  gateway only: derives each machine client's HMAC secret from its key id
    IDENTITY_PRIVATE_KEY       gateway only: Ed25519 key signing the identity header (servicekit.identity)
    IDENTITY_PUBLIC_KEYS       services: the public keys (old and new while rotating) they accept it from
    EMPLOYEE_ID_KEY            gateway and enrollment: the employees' pseudonymous ids (servicekit.pseudonym)
    SURVEY_KEY_ENCRYPTION_KEY  evaluation only: encrypts each survey's private key at rest
    RESIDENT_ID_ENCRYPTION_KEY enrollment only: encrypts resident ID numbers at rest (servicekit.encrypted)

`DEPLOYMENT` is `local` (the default: a key not set is made once in its own file under
var/keys/, shared by the processes of this one machine) or `production`: then a process
refuses to start when a key it needs is missing or shorter than 32 bytes, when two of the
keys it sees are the same, when a retired variable (IDENTITY_SIGNING_KEY, GATEWAY_SECRET_KEY)
is still set, or when a database or broker URL carries no password or a development default one.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LOCAL, PRODUCTION = "local", "production"
DEPLOYMENTS = (LOCAL, PRODUCTION)
MIN_SECRET_BYTES = 32

# Secrets (symmetric keys): variable -> the file it is made in locally (var/keys/<name>.key).
SECRETS = {
    "GATEWAY_ACCESS_TOKEN_KEY": "gateway-access-token",
    "GATEWAY_CLIENT_SECRET_KEY": "gateway-client-secret",
    "EMPLOYEE_ID_KEY": "employee-id",
    "SURVEY_KEY_ENCRYPTION_KEY": "survey-key-encryption",
    "RESIDENT_ID_ENCRYPTION_KEY": "resident-id-encryption",
}
IDENTITY_PRIVATE_KEY = "IDENTITY_PRIVATE_KEY"
IDENTITY_PUBLIC_KEYS = "IDENTITY_PUBLIC_KEYS"
# Keys whose value must not be another's (the public keys are public, not in the list); the portal's own
# (PORTAL_SECRET_KEY, portal.config) is checked too where a process sees it beside others.
PURPOSES = (*SECRETS, IDENTITY_PRIVATE_KEY, "PORTAL_SECRET_KEY")
# Variables of the old scheme: one key shared by every process, the gateway's derived from it.
RETIRED = {
    "IDENTITY_SIGNING_KEY": "the identity header is now signed with IDENTITY_PRIVATE_KEY (gateway) "
    "and checked with IDENTITY_PUBLIC_KEYS (services)",
    "GATEWAY_SECRET_KEY": "use GATEWAY_ACCESS_TOKEN_KEY and GATEWAY_CLIENT_SECRET_KEY",
}
# Where an earlier version kept a key locally (var/<name>.key), moved into var/keys/ at first use: employees'
# ids, the surveys' encrypted keys and (from the old shared master) the machine clients' secrets stay the same.
LEGACY_FILES = {"GATEWAY_CLIENT_SECRET_KEY": "identity-signing"}
# Passwords of the local development set-up (compose's defaults, RabbitMQ's guest).
DEFAULT_PASSWORDS = frozenset({"upskilling", "guest", "postgres", "password", "changeme"})
# Connections that must carry a password of their own (a service's database and broker user).
CREDENTIAL_SCHEMES = ("postgresql", "postgres", "amqp", "amqps")


class KeyConfigurationError(RuntimeError):
    """A key or credential that production mode refuses; the process must not start."""


def deployment(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get("DEPLOYMENT", "").strip().lower() or LOCAL
    if value not in DEPLOYMENTS:
        raise KeyConfigurationError(f"DEPLOYMENT must be one of {', '.join(DEPLOYMENTS)}, not {value!r}")
    return value


def production(environ: Mapping[str, str] | None = None) -> bool:
    return deployment(environ) == PRODUCTION


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Every process calls it at start: in production, the problems of what it sees stop it (one message)."""
    environ = os.environ if environ is None else environ
    if not production(environ):
        return
    problems = [f"{name} is retired: {why}" for name, why in RETIRED.items() if environ.get(name, "").strip()]
    holders: dict[str, str] = {}
    for name in PURPOSES:
        value = environ.get(name, "").strip()
        if not value:
            continue
        if name in SECRETS and len(value.encode()) < MIN_SECRET_BYTES:
            problems.append(f"{name} is shorter than {MIN_SECRET_BYTES} bytes")
        if value in holders:
            problems.append(f"{name} holds the same key as {holders[value]}: one key, one purpose")
        holders.setdefault(value, name)
    for name, value in sorted(environ.items()):
        if name.endswith(("_URL", "_URLS")) and (problem := _url_problem(name, value)):
            problems.append(problem)
    if problems:
        raise KeyConfigurationError("DEPLOYMENT=production refuses to start: " + "; ".join(problems))


def check_url(name: str, url: str) -> None:
    """In production, a connection URL (set or defaulted) without a password or with a default one stops the process."""
    if production() and (problem := _url_problem(name, url)):
        raise KeyConfigurationError(f"DEPLOYMENT=production refuses to start: {problem}")


def _url_problem(name: str, value: str) -> str | None:
    for url in value.split(","):
        try:
            parts = urlsplit(url.strip())
            password = parts.password
        except ValueError:
            continue
        if password is not None and unquote(password) in DEFAULT_PASSWORDS:
            return f"{name} uses the development default password {unquote(password)!r}"
        if password is None and parts.scheme.split("+")[0] in CREDENTIAL_SCHEMES:
            return f"{name} carries no password (each service has its own: README, Credentials per service)"
    return None


def secret(var_dir: Path, variable: str) -> bytes:
    """The secret of one purpose: from its variable; locally, unset, made once in var/keys/<name>.key."""
    configured = os.environ.get(variable, "").strip()
    if production():
        if not configured:
            raise KeyConfigurationError(f"DEPLOYMENT=production needs {variable} (keys are not made in production)")
        if len(configured.encode()) < MIN_SECRET_BYTES:
            raise KeyConfigurationError(f"{variable} is shorter than {MIN_SECRET_BYTES} bytes")
    if configured:
        return configured.encode()
    name = SECRETS[variable]
    legacy = var_dir / f"{LEGACY_FILES.get(variable, name)}.key"
    return _made_once(var_dir, name, ".key", lambda: secrets.token_urlsafe(48), legacy=legacy).encode()


def _made_once(var_dir: Path, name: str, suffix: str, make: Callable[[], str], legacy: Path | None = None) -> str:
    """var/keys/<name><suffix>, written once by whichever process of the machine comes first.

    `legacy`: where an earlier version kept the same key (var/<name>.key): moved, never remade,
    since employees' ids and the surveys' encrypted keys depend on it.
    """
    folder = var_dir / "keys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}{suffix}"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            if legacy is not None and legacy.exists():
                legacy.replace(path)
            else:
                path.touch(mode=0o600)
                path.write_text(make())
    return path.read_text().strip()


# ------------------------------------------------------------------ the identity header's key pair


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_text(key: Ed25519PublicKey) -> str:
    return _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def private_text(key: Ed25519PrivateKey) -> str:
    return _b64(
        key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    )


def key_id(key: Ed25519PublicKey) -> str:
    """The `kid` of a public key: its fingerprint, so no list of ids needs keeping."""
    return _b64(hashlib.sha256(public_text(key).encode()).digest()[:12])


def _private_from_text(variable: str, text: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(_unb64(text))
    except ValueError:
        raise KeyConfigurationError(f"{variable} is not a base64url Ed25519 private key (32 bytes)") from None


def _public_from_text(variable: str, text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(_unb64(text))
    except ValueError:
        raise KeyConfigurationError(f"{variable} holds something that is not a base64url Ed25519 public key") from None


def _local_pair(var_dir: Path) -> tuple[str, str]:
    """This machine's identity key pair, made once: (private, public) as base64url text."""
    made: list[Ed25519PrivateKey] = []

    def make_private() -> str:
        made.append(Ed25519PrivateKey.generate())
        return private_text(made[0])

    private = _made_once(var_dir, "identity-private", ".key", make_private)
    public = public_text(_private_from_text("var/keys/identity-private.key", private).public_key())
    _made_once(var_dir, "identity-public", ".key", lambda: public)
    return private, public


def identity_private_key(var_dir: Path) -> Ed25519PrivateKey:
    """The gateway's: signs the identity header. Nothing else holds it."""
    configured = os.environ.get(IDENTITY_PRIVATE_KEY, "").strip()
    if not configured and production():
        raise KeyConfigurationError(f"DEPLOYMENT=production needs {IDENTITY_PRIVATE_KEY}")
    return _private_from_text(IDENTITY_PRIVATE_KEY, configured or _local_pair(var_dir)[0])


def identity_public_keys(var_dir: Path) -> dict[str, Ed25519PublicKey]:
    """The services': every public key the identity header is accepted from, by key id (two while rotating)."""
    configured = os.environ.get(IDENTITY_PUBLIC_KEYS, "").strip()
    if not configured and production():
        raise KeyConfigurationError(f"DEPLOYMENT=production needs {IDENTITY_PUBLIC_KEYS}")
    if not configured:
        _local_pair(var_dir)
        configured = (var_dir / "keys" / "identity-public.key").read_text().strip()
    keys = [_public_from_text(IDENTITY_PUBLIC_KEYS, part.strip()) for part in configured.split(",") if part.strip()]
    return {key_id(key): key for key in keys}


def main(argv: list[str] | None = None) -> int:
    """`python -m servicekit.keys identity|secret`: a new key to configure (printed, never stored)."""
    what = (argv if argv is not None else sys.argv[1:]) or ["secret"]
    if what[0] == "identity":
        key = Ed25519PrivateKey.generate()
        print(f"IDENTITY_PRIVATE_KEY={private_text(key)}")
        print(f"IDENTITY_PUBLIC_KEY={public_text(key.public_key())}  # kid {key_id(key.public_key())}")
    elif what[0] == "secret":
        print(secrets.token_urlsafe(48))
    else:
        print("usage: python -m servicekit.keys identity|secret", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
