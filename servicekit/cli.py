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
    for name, help_text in (
        ("deadletters", "list, show, replay or drop dead letters"),
        ("unroutable", "list, show, replay (once a queue is bound to their type) or drop unroutable events"),
    ):
        parked = commands.add_parser(name, help=help_text)
        actions = parked.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list")
        listing.add_argument("--json", action="store_true")
        show = actions.add_parser("show")
        show.add_argument("id")
        replay = actions.add_parser("replay")
        replay.add_argument("ids", nargs="*")
        replay.add_argument("--all", action="store_true")
        drop = actions.add_parser("drop")
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
        return _parked(runtime, deadletters.dead_letters(bus, service.name), args)
    elif args.command == "unroutable":
        return _parked(runtime, deadletters.unroutable(bus), args)
    return 0


def _parked(runtime: Runtime, parking: deadletters.Parking, args) -> int:
    bus = runtime.settings.bus
    if args.action == "list":
        letters = deadletters.list_dead_letters(bus, parking)
        if args.json:
            print(json.dumps([letter.summary() for letter in letters], ensure_ascii=False))
        else:
            print(f"{len(letters)} message(s) in {parking.queue.name}")
            for letter in letters:
                print(
                    f"{letter.dead_id}  {letter.event_type or '?'}  attempts={letter.attempts}  "
                    f"{letter.dead_at}  {letter.reason}"
                )
        return 0
    if args.action == "show":
        match = [l for l in deadletters.list_dead_letters(bus, parking) if l.dead_id == args.id]
        if not match:
            print(f"no message {args.id} in {parking.queue.name}", file=sys.stderr)
            return 1
        letter = match[0]
        print(json.dumps(letter.summary(), ensure_ascii=False, indent=2))
        print(deadletters.pretty_body(letter))
        return 0
    if args.action == "replay":
        if not args.all and not args.ids:
            print("name the messages to replay, or --all", file=sys.stderr)
            return 2
        done = deadletters.replay(bus, parking, None if args.all else set(args.ids), show_progress=True)
    else:
        done = deadletters.drop(bus, parking, set(args.ids))
    print(f"{args.action}: {len(done)} message(s) {' '.join(done)}".rstrip())
    return 0
