"""Which roles may call which route: the gateway's first line (each service checks again, and scopes).

The table is read top-down and the first rule whose service, method and path
match decides. Every service ends with catch-alls, so a route a service adds
later is open for reading to the roles that may read that service, and for
writing only to the roles that may write to it at all; what matches no rule
(an unknown method, a service without rules) is refused. The auditor writes
nowhere: it is in no write rule, by design. Tighter rules for particular
routes go above the catch-alls.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.identity import (
    AUDITOR,
    EMPLOYEE,
    FEDERATION_ADMIN,
    GRASSROOTS_OFFICER,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    UNIT_OFFICER,
)

READS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC = frozenset({"public"})  # no authentication at all

SERVICES = ("quota", "enrollment", "finance", "evaluation")
PEOPLE = frozenset({FEDERATION_ADMIN, AUDITOR, UNIT_OFFICER, GRASSROOTS_OFFICER, INSTITUTION_OPERATOR, EMPLOYEE})


@dataclass(frozen=True)
class Rule:
    service: str
    methods: frozenset[str]
    pattern: str  # path below /api/<service>: "*" is one segment, a final "**" any rest
    roles: frozenset[str]

    def matches(self, service: str, method: str, path: str) -> bool:
        return service == self.service and method in self.methods and path_matches(self.pattern, path)


RULES = (
    # Anyone may check that a certificate is genuine (evaluation publishes the route).
    Rule("evaluation", READS, "/public/**", PUBLIC),
    # Survey answers carry a blind-signed token instead of an identity: anonymity needs no login.
    Rule("evaluation", frozenset({"POST"}), "/public/surveys/*/answers", PUBLIC),
    # Published rosters (names with masked ID numbers), as on the federation's website.
    Rule("enrollment", READS, "/public/**", PUBLIC),
    # Each service's audit trail: the federation admin and the auditor only (read, never written by any API).
    *(Rule(service, READS, "/audit", frozenset({FEDERATION_ADMIN, AUDITOR})) for service in SERVICES),
    # Campaigns, funds and allocations are the federation's; units read their own.
    Rule("quota", READS, "/**", PEOPLE),
    Rule("quota", WRITES, "/**", frozenset({FEDERATION_ADMIN, UNIT_OFFICER})),
    # The class of an employee's own enrolment, as the employee sees it (officers and institutions read classes
    # through /classes, with their rosters).
    Rule("enrollment", READS, "/enrolments/*/class", frozenset({EMPLOYEE})),
    # Nominations (unions), registration and rosters (institutions), consent (employees).
    Rule("enrollment", READS, "/**", PEOPLE | {INSTITUTION_SYSTEM}),
    Rule(
        "enrollment",
        WRITES,
        "/**",
        frozenset({FEDERATION_ADMIN, UNIT_OFFICER, GRASSROOTS_OFFICER, INSTITUTION_OPERATOR, EMPLOYEE}),
    ),
    # Institution systems record the payments their institution received (machine clients, idempotent) and
    # read their own students' payments and breakdowns (finance scopes them to their institution).
    *(
        Rule(
            "finance",
            frozenset({"POST"}),
            f"/enrolments/*/{money}",
            frozenset({INSTITUTION_OPERATOR, INSTITUTION_SYSTEM}),
        )
        for money in ("payments", "charges")
    ),
    Rule("finance", READS, "/payments", PEOPLE | {INSTITUTION_SYSTEM}),
    Rule("finance", READS, "/breakdowns", PEOPLE | {INSTITUTION_SYSTEM}),
    Rule("finance", READS, "/enrolments/*/breakdown", PEOPLE | {INSTITUTION_SYSTEM}),
    # Policies and share payments (units), payments received (institutions), transfers (federation).
    Rule("finance", READS, "/**", PEOPLE),
    Rule("finance", WRITES, "/**", frozenset({FEDERATION_ADMIN, UNIT_OFFICER, INSTITUTION_OPERATOR})),
    # Results and certificates (institutions and their systems), surveys (employees), sanctions (federation).
    Rule("evaluation", READS, "/**", PEOPLE | {INSTITUTION_SYSTEM}),
    Rule(
        "evaluation", WRITES, "/**", frozenset({FEDERATION_ADMIN, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, EMPLOYEE})
    ),
)


def path_matches(pattern: str, path: str) -> bool:
    wanted, actual = pattern.strip("/").split("/"), path.strip("/").split("/")
    for index, part in enumerate(wanted):
        if part == "**" and index == len(wanted) - 1:
            return True
        if index >= len(actual) or (part != "*" and part != actual[index]) or not actual[index]:
            return False
    return len(actual) == len(wanted)


def allowed_roles(service: str, method: str, path: str, rules=RULES) -> frozenset[str]:
    """The roles the first matching rule admits (PUBLIC for open routes); nobody when none matches."""
    for rule in rules:
        if rule.matches(service, method, path):
            return rule.roles
    return frozenset()
