"""`python -m gateway COMMAND`: the gateway's operator commands (migrate, users, machine clients).

Users are named by username here. Passwords and resident ID numbers are read from the
environment (GATEWAY_NEW_PASSWORD, GATEWAY_NEW_RESIDENT_ID) or a prompt that does not
echo, never from the command line, where `ps` and shell histories would show them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from servicekit.audit import SYSTEM, Actor
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
    _role_arguments(user)
    listing = commands.add_parser("list-users", help="users, one a line: id, username, role, scope, active")
    listing.add_argument("--role", choices=accounts.USER_ROLES)
    for name in accounts.ALL_SCOPE_FIELDS:
        listing.add_argument(f"--{name.replace('_', '-')}", dest=name)
    for command, what in (
        ("disable-user", "no more logins; refresh tokens revoked"),
        ("enable-user", "allow logins again"),
        ("reset-password", "new password (GATEWAY_NEW_PASSWORD or a prompt); refresh tokens revoked"),
    ):
        commands.add_parser(command, help=what).add_argument("username")
    change = commands.add_parser("change-role", help="replace a user's role and scope, checked as at creation")
    change.add_argument("username")
    _role_arguments(change)
    client = commands.add_parser("create-client", help="make an institution system's API key (secret printed once)")
    client.add_argument("name")
    client.add_argument("--institution-id", required=True)
    return parser


def _role_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=accounts.USER_ROLES)
    for name in accounts.ALL_SCOPE_FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name)
    parser.add_argument(
        "--resident-id",
        action="store_true",
        help="employee: link to the person by resident ID number (GATEWAY_NEW_RESIDENT_ID or a prompt)",
    )


def _role(args) -> dict:
    resident_id = None
    if args.resident_id:
        resident_id = os.environ.get("GATEWAY_NEW_RESIDENT_ID") or getpass.getpass("Resident ID number: ")
    return {"role": args.role, "resident_id": resident_id} | {
        name: getattr(args, name) for name in accounts.ALL_SCOPE_FIELDS
    }


def _password() -> str:
    return os.environ.get("GATEWAY_NEW_PASSWORD") or getpass.getpass("Password: ")


def _existing(session, username: str):
    user = accounts.find_user(session, username)
    if user is None:
        raise accounts.AccountError({"username": "no such user"})
    return user


CLI = Actor("cli", SYSTEM)  # an operator on the gateway's machine


def _users(guard: Guard, args) -> int:
    """The user commands: each one transaction, audited like the API's (by_user_id "cli")."""
    with guard.transaction() as session:
        if args.command == "list-users":
            filters = {name: getattr(args, name) for name in ("role", *accounts.ALL_SCOPE_FIELDS)}
            for user in accounts.list_users(session, **filters):
                scope = " ".join(
                    f"{name}={getattr(user, name)}" for name in accounts.ALL_SCOPE_FIELDS if getattr(user, name)
                )
                print(f"{user.id} {user.username} {user.role} {scope} {'active' if user.active else 'disabled'}")
            return 0
        if args.command == "create-user":
            user = accounts.create_user(
                session,
                username=args.username,
                password=_password(),
                created_by="cli",
                employee_key=guard.employee_key,
                **_role(args),
            )
            action, before = "user created", None
            session.flush()
        else:
            user = _existing(session, args.username)
            before = accounts.user_state(user)
            if args.command == "change-role":
                accounts.change_role(session, user, employee_key=guard.employee_key, **_role(args))
                action = "role changed"
            elif args.command == "reset-password":
                accounts.reset_password(session, user, _password())
                action = "password reset"
            else:
                accounts.set_active(session, user, args.command == "enable-user")
                action = "user enabled" if user.active else "user disabled"
        accounts.record(session, action, user, before, CLI)
    accounts.audit(action, user, by="cli")
    print(f"{action}: {user.username} ({user.role})")
    return 0


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
        elif args.command == "create-client":
            with guard.transaction() as session:
                made = accounts.create_client(
                    session,
                    name=args.name,
                    institution_id=args.institution_id,
                    created_by="cli",
                    secret_of=guard.keys.client_secret,
                )
                accounts.record_client(session, made.client, CLI)
            print(f"key_id={made.client.key_id}\nsecret={made.secret}")
        else:
            return _users(guard, args)
    except accounts.AccountError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


raise SystemExit(main())
