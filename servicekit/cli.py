"""`python -m services.<name> <command>`: the operator's commands for one service."""

from __future__ import annotations

import argparse
import json
import sys

from alembic import command as alembic_command
from kombu import Connection

from .bus import deadletters
from .bus.topology import declare
from .logging import configure_logging
from .migrations import alembic_config, upgrade
from .service import Runtime, Service


def _parser(service: Service) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service.name}", description=service.title)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations and declare the service's queues")
    commands.add_parser("worker", help="run the event consumer and the outbox relay")
    revision = commands.add_parser("revision", help="create a migration (alembic revision)")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--autogenerate", action="store_true")
    dead = commands.add_parser("deadletters", help="list, show, replay or drop dead letters")
    dead_commands = dead.add_subparsers(dest="action", required=True)
    listing = dead_commands.add_parser("list")
    listing.add_argument("--json", action="store_true")
    show = dead_commands.add_parser("show")
    show.add_argument("id")
    replay = dead_commands.add_parser("replay")
    replay.add_argument("ids", nargs="*")
    replay.add_argument("--all", action="store_true")
    drop = dead_commands.add_parser("drop")
    drop.add_argument("ids", nargs="+")
    for name, command in service.commands.items():
        command.arguments(commands.add_parser(name, help=command.help, description=command.help))
    return parser


def main(service: Service, argv: list[str] | None = None) -> int:
    args = _parser(service).parse_args(argv)
    runtime = Runtime(service)
    configure_logging(service.name, runtime.settings.log_level)
    bus = runtime.settings.bus
    if args.command in service.commands:
        return service.commands[args.command].run(runtime, args)
    if args.command == "migrate":
        upgrade(runtime)
        with Connection(bus.url, transport_options=bus.transport_options) as connection:
            declare(connection, bus, service.name, service.handlers)
        print(f"{service.name}: database migrated, queues declared")
    elif args.command == "worker":
        from .worker import run_worker

        if runtime.settings.migrate_on_start:
            upgrade(runtime)
        run_worker(runtime)
    elif args.command == "revision":
        alembic_command.revision(alembic_config(runtime), message=args.message, autogenerate=args.autogenerate)
    elif args.command == "deadletters":
        return _dead_letters(runtime, args)
    return 0


def _dead_letters(runtime: Runtime, args) -> int:
    bus, name = runtime.settings.bus, runtime.service.name
    if args.action == "list":
        letters = deadletters.list_dead_letters(bus, name)
        if args.json:
            print(json.dumps([letter.summary() for letter in letters], ensure_ascii=False))
        else:
            print(f"{len(letters)} dead letter(s) in {bus.dead_letter_queue(name)}")
            for letter in letters:
                print(
                    f"{letter.dead_id}  {letter.event_type or '?'}  attempts={letter.attempts}  "
                    f"{letter.dead_at}  {letter.reason}"
                )
        return 0
    if args.action == "show":
        match = [l for l in deadletters.list_dead_letters(bus, name) if l.dead_id == args.id]
        if not match:
            print(f"no dead letter {args.id}", file=sys.stderr)
            return 1
        letter = match[0]
        print(json.dumps(letter.summary(), ensure_ascii=False, indent=2))
        print(deadletters.pretty_body(letter))
        return 0
    if args.action == "replay":
        if not args.all and not args.ids:
            print("name the dead letters to replay, or --all", file=sys.stderr)
            return 2
        done = deadletters.replay(bus, name, None if args.all else set(args.ids))
    else:
        done = deadletters.drop(bus, name, set(args.ids))
    print(f"{args.action}: {len(done)} dead letter(s) {' '.join(done)}".rstrip())
    return 0
