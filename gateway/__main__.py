"""`python -m gateway migrate | create-user | create-client`: the gateway's operator commands."""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from servicekit.logging import configure_logging
from servicekit.migrations import upgrade
from servicekit.service import Runtime

from . import accounts
from .config import load_auth_settings
from .guard import Guard
from .keys import Keys
from .service import SERVICE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=SERVICE.title)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the gateway's migrations and make the bootstrap admin if set")
    user = commands.add_parser("create-user", help="make a user (password from GATEWAY_NEW_PASSWORD or a prompt)")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=accounts.USER_ROLES)
    for name in accounts.ALL_SCOPE_FIELDS:
        user.add_argument(f"--{name.replace('_', '-')}", dest=name)
    client = commands.add_parser("create-client", help="make an institution system's API key (secret printed once)")
    client.add_argument("name")
    client.add_argument("--institution-id", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    runtime = Runtime(SERVICE)
    configure_logging("gateway", runtime.settings.log_level)
    guard = Guard(load_auth_settings(os.environ), runtime, Keys.load(runtime.settings.var_dir))
    try:
        if args.command == "migrate":
            upgrade(runtime)
            guard.ensure_bootstrap_admin()
            print("gateway: database migrated")
        elif args.command == "create-user":
            password = os.environ.get("GATEWAY_NEW_PASSWORD") or getpass.getpass("Password: ")
            scope = {name: getattr(args, name) for name in accounts.ALL_SCOPE_FIELDS}
            with guard.transaction() as session:
                user = accounts.create_user(session, username=args.username, password=password, role=args.role,
                                            created_by="cli", **scope)
            print(f"user {user.username} ({user.role}) created")
        else:
            with guard.transaction() as session:
                made = accounts.create_client(session, name=args.name, institution_id=args.institution_id,
                                              created_by="cli", secret_of=guard.keys.client_secret)
            print(f"key_id={made.client.key_id}\nsecret={made.secret}")
    except accounts.AccountError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


raise SystemExit(main())
