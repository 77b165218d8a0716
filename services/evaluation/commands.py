"""Evaluation's own commands, beside servicekit's (migrate, worker, deadletters, revision).

ingress                      consume exam-result batches from institutions' AMQP ingress
ingress-user INSTITUTION_ID  create or reset that institution's RabbitMQ user (prints its password once);
                             runs `rabbitmqctl` (or the command in RABBITMQCTL) against the broker's vhost
"""

from __future__ import annotations

import os
import shlex

from servicekit import Runtime
from servicekit.service import Command


def _ingress(runtime: Runtime, args) -> int:
    from . import ingress

    ingress.run_ingress(runtime)
    return 0


def _ingress_user(runtime: Runtime, args) -> int:
    from . import ingress

    password = ingress.grant(runtime, args.institution_id, shlex.split(os.environ.get("RABBITMQCTL", "rabbitmqctl")))
    print(
        f"user {ingress.user_name(runtime, args.institution_id)}\npassword {password}\n"
        f"exchange {ingress.exchange_name(runtime)}\nrouting_key {ingress.ROUTING_PREFIX}{args.institution_id}"
    )
    return 0


COMMANDS = {
    "ingress": Command(help="consume exam-result batches from institutions' AMQP ingress", run=_ingress),
    "ingress-user": Command(
        help="create or reset an institution's RabbitMQ user for the ingress (prints its password once)",
        run=_ingress_user,
        arguments=lambda parser: parser.add_argument("institution_id"),
    ),
}
