"""Keys of one purpose each: made once per machine locally; in production, a process with an unsafe one does not start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from servicekit import keys
from servicekit.keys import KeyConfigurationError, check_environment
from tests.support.processes import REPO

GOOD = {
    "DEPLOYMENT": "production",
    "GATEWAY_ACCESS_TOKEN_KEY": "a" * 40,
    "GATEWAY_CLIENT_SECRET_KEY": "b" * 40,
    "EMPLOYEE_ID_KEY": "c" * 40,
    "SURVEY_KEY_ENCRYPTION_KEY": "d" * 40,
    "RESIDENT_ID_ENCRYPTION_KEY": "f" * 40,
    "QUOTA_DATABASE_URL": "postgresql+psycopg://quota:s3cret-of-quota@db:5432/quota",
    "BROKER_URL": "amqp://quota:another-s3cret@rabbitmq:5672/upskilling",
}
ALL_KEYS = ("IDENTITY_SIGNING_KEY", "GATEWAY_SECRET_KEY", *keys.SECRETS, keys.IDENTITY_PRIVATE_KEY)


@pytest.fixture
def no_keys(monkeypatch):
    for name in (*ALL_KEYS, keys.IDENTITY_PUBLIC_KEYS, "DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_retired_short_reused_keys_and_default_passwords():
    check_environment(GOOD)  # nothing to refuse
    check_environment({"IDENTITY_SIGNING_KEY": "x", "BROKER_URL": "amqp://guest:guest@localhost//"})  # local: all fine
    for change, refused in (
        ({"IDENTITY_SIGNING_KEY": "e" * 40}, "IDENTITY_SIGNING_KEY is retired"),
        ({"GATEWAY_SECRET_KEY": "e" * 40}, "GATEWAY_SECRET_KEY is retired"),
        ({"EMPLOYEE_ID_KEY": "short"}, "EMPLOYEE_ID_KEY is shorter than 32 bytes"),
        ({"GATEWAY_CLIENT_SECRET_KEY": "a" * 40}, "GATEWAY_CLIENT_SECRET_KEY holds the same key as GATEWAY_ACCESS"),
        ({"SURVEY_KEY_ENCRYPTION_KEY": "c" * 40}, "SURVEY_KEY_ENCRYPTION_KEY holds the same key as EMPLOYEE_ID_KEY"),
        (
            {"QUOTA_DATABASE_URL": "postgresql+psycopg://upskilling:upskilling@db:5432/quota"},
            "QUOTA_DATABASE_URL uses the development default password 'upskilling'",
        ),
        ({"BROKER_URL": "amqp://upskilling:upskilling@rabbitmq:5672/upskilling"}, "BROKER_URL uses the development"),
        ({"RESIDENT_ID_ENCRYPTION_KEY": "d" * 40}, "RESIDENT_ID_ENCRYPTION_KEY holds the same key as SURVEY_KEY"),
        ({"QUOTA_DATABASE_URL": "postgresql+psycopg://quota@db:5432/quota"}, "QUOTA_DATABASE_URL carries no password"),
        ({"DEPLOYMENT": "staging"}, "DEPLOYMENT must be one of"),
    ):
        with pytest.raises(KeyConfigurationError, match=refused):
            check_environment(GOOD | change)


def test_locally_each_key_is_made_once_in_its_own_file(tmp_path, no_keys):
    made = {name: keys.secret(tmp_path, name) for name in keys.SECRETS}
    assert len(set(made.values())) == len(made) and all(len(value) >= 48 for value in made.values())
    assert made == {name: keys.secret(tmp_path, name) for name in keys.SECRETS}
    for name, file in keys.SECRETS.items():
        path = tmp_path / "keys" / f"{file}.key"
        assert path.read_bytes().strip() == made[name] and path.stat().st_mode & 0o777 == 0o600
    private = keys.identity_private_key(tmp_path)
    public = keys.identity_public_keys(tmp_path)
    assert list(public) == [keys.key_id(private.public_key())]
    # The services read the public half only; the private one is in a file of its own.
    assert keys.private_text(private) not in (tmp_path / "keys" / "identity-public.key").read_text()


def test_a_key_of_the_old_layout_is_moved_not_remade(tmp_path, no_keys):
    """Employees' ids and the surveys' encrypted keys depend on their keys: an upgrade keeps them."""
    (tmp_path / "employee-id.key").write_text("the employee key made before")
    (tmp_path / "identity-signing.key").write_text("the old shared master")
    assert keys.secret(tmp_path, "EMPLOYEE_ID_KEY") == b"the employee key made before"
    assert keys.secret(tmp_path, "GATEWAY_CLIENT_SECRET_KEY") == b"the old shared master"
    assert not (tmp_path / "employee-id.key").exists()


def test_production_makes_no_key_and_refuses_a_missing_one(tmp_path, no_keys, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT", "production")
    for load in (
        lambda: keys.secret(tmp_path, "EMPLOYEE_ID_KEY"),
        lambda: keys.identity_private_key(tmp_path),
        lambda: keys.identity_public_keys(tmp_path),
    ):
        with pytest.raises(KeyConfigurationError, match="DEPLOYMENT=production needs"):
            load()
    monkeypatch.setenv("EMPLOYEE_ID_KEY", "too short")
    with pytest.raises(KeyConfigurationError, match="shorter"):
        keys.secret(tmp_path, "EMPLOYEE_ID_KEY")
    assert not (tmp_path / "keys").exists()


def test_the_public_keys_accept_old_and_new_while_rotating(tmp_path, no_keys, monkeypatch):
    old, new = (keys.Ed25519PrivateKey.generate() for _ in range(2))
    monkeypatch.setenv(
        "IDENTITY_PUBLIC_KEYS", f"{keys.public_text(old.public_key())}, {keys.public_text(new.public_key())}"
    )
    assert set(keys.identity_public_keys(tmp_path)) == {keys.key_id(old.public_key()), keys.key_id(new.public_key())}
    monkeypatch.setenv("IDENTITY_PUBLIC_KEYS", "not a key")
    with pytest.raises(KeyConfigurationError, match="not a base64url Ed25519 public key"):
        keys.identity_public_keys(tmp_path)


def _start(command: list[str], env: dict) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ALL_KEYS and not k.endswith("_URL")} | env
    return subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("command", "env", "refused"),
    [
        # The gateway without its keys (a service's or a retired one will not do).
        (["-m", "gateway", "migrate"], {"IDENTITY_SIGNING_KEY": "x" * 40}, "IDENTITY_SIGNING_KEY is retired"),
        (["-m", "gateway", "migrate"], {}, "needs GATEWAY_ACCESS_TOKEN_KEY"),
        # A service whose database URL keeps compose's default password.
        (
            ["-m", "services.quota", "migrate"],
            {"QUOTA_DATABASE_URL": "postgresql+psycopg://upskilling:upskilling@127.0.0.1:9/quota"},
            "default password 'upskilling'",
        ),
        (["-m", "services.evaluation", "migrate"], {}, "needs SURVEY_KEY_ENCRYPTION_KEY"),
    ],
)
def test_a_process_in_production_mode_refuses_to_start(tmp_path, command, env, refused):
    started = _start([sys.executable, *command], {"DEPLOYMENT": "production", "VAR_DIR": str(tmp_path)} | env)
    assert started.returncode != 0 and refused in started.stderr
    assert not (tmp_path / "keys").exists()
