"""Evaluation service (考核评估): exam results, retakes, certificates, anonymous surveys, inspections, institution scores.

Besides servicekit's commands (migrate, worker, deadletters, revision):
  ingress                      consume exam-result batches from institutions' AMQP ingress
  ingress-user INSTITUTION_ID  create or reset that institution's RabbitMQ user (prints its password once);
                               runs `rabbitmqctl` (or the command in RABBITMQCTL) against the broker's vhost
"""
import os
import shlex
import sys

from servicekit.cli import main
from servicekit.logging import configure_logging
from servicekit.service import Runtime

from .service import SERVICE


def _ingress(argv: list[str]) -> int:
    from . import ingress

    runtime = Runtime(SERVICE)
    configure_logging(SERVICE.name, runtime.settings.log_level)
    if argv[0] == "ingress":
        ingress.run_ingress(runtime)
        return 0
    if len(argv) != 2:
        print("usage: python -m services.evaluation ingress-user INSTITUTION_ID", file=sys.stderr)
        return 2
    password = ingress.grant(runtime, argv[1], shlex.split(os.environ.get("RABBITMQCTL", "rabbitmqctl")))
    print(f"user {ingress.user_name(runtime, argv[1])}\npassword {password}\n"
          f"exchange {ingress.exchange_name(runtime)}\nrouting_key {ingress.ROUTING_PREFIX}{argv[1]}")
    return 0


if sys.argv[1:2] in (["ingress"], ["ingress-user"]):
    raise SystemExit(_ingress(sys.argv[1:]))
raise SystemExit(main(SERVICE))
