"""The gateway's pure rules: the route table, the circuit breaker, request signatures, account scopes."""

from __future__ import annotations

import pytest

from gateway import signatures
from gateway.accounts import scope_errors
from gateway.breaker import CircuitBreaker
from gateway.policy import PUBLIC, allowed_roles, path_matches


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/**", "/", True),
        ("/**", "/a/b/c", True),
        ("/public/**", "/public", True),
        ("/public/**", "/public/certificates/1", True),
        ("/public/**", "/publicity", False),
        ("/public/**", "/other/public", False),
        ("/a/*/c", "/a/b/c", True),
        ("/a/*/c", "/a/b/c/d", False),
        ("/a/*", "/a/", False),
        ("/a", "/a", True),
    ],
)
def test_path_patterns(pattern, path, expected):
    assert path_matches(pattern, path) is expected


@pytest.mark.parametrize(
    "service, method, path, role, allowed",
    [
        ("evaluation", "GET", "/public/certificates/GZ1", None, True),
        ("evaluation", "POST", "/public/surveys/s1/answers", None, True),
        ("evaluation", "POST", "/public/certificates/GZ1", None, False),
        ("enrollment", "GET", "/public/rosters", None, True),
        ("enrollment", "POST", "/public/rosters", None, False),
        ("quota", "GET", "/allocations", "auditor", True),
        ("quota", "POST", "/campaigns", "auditor", False),
        ("finance", "DELETE", "/x", "auditor", False),
        ("quota", "POST", "/campaigns", "federation_admin", True),
        ("quota", "POST", "/campaigns", "employee", False),
        ("quota", "GET", "/anything", "institution_system", False),
        ("evaluation", "POST", "/results", "institution_system", True),
        ("enrollment", "POST", "/nominations", "grassroots_officer", True),
        ("enrollment", "GET", "/enrolments/e1/class", "employee", True),
        ("enrollment", "GET", "/enrolments/e1/class", "institution_system", False),
        ("enrollment", "GET", "/enrolments/e1/class", "grassroots_officer", False),
        ("finance", "POST", "/payments", "institution_operator", True),
        ("finance", "POST", "/enrolments/e1/payments", "institution_system", True),
        ("finance", "POST", "/enrolments/e1/payments", "unit_officer", False),
        ("finance", "POST", "/enrolments/e1/charges", "institution_system", True),
        ("finance", "GET", "/payments", "institution_system", True),
        ("finance", "POST", "/transfers", "institution_system", False),
        ("finance", "GET", "/reports/funds", "institution_system", False),
        ("evaluation", "POST", "/surveys/1/answers", "employee", True),
        ("quota", "TRACE", "/x", "federation_admin", False),  # matches no rule
        ("payroll", "GET", "/x", "federation_admin", False),
    ],
)
def test_route_table(service, method, path, role, allowed):
    roles = allowed_roles(service, method, path)
    assert (roles == PUBLIC if role is None else role in roles) is allowed


def test_the_auditor_is_in_no_write_rule():
    from gateway.policy import RULES, WRITES

    assert all("auditor" not in rule.roles for rule in RULES if rule.methods & WRITES)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_breaker_opens_after_consecutive_failures_and_admits_one_trial_after_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown=10, clock=clock)
    for _ in range(2):
        breaker.failed()
    breaker.succeeded()  # not consecutive any more
    for _ in range(2):
        breaker.failed()
    assert breaker.allows() and not breaker.is_open
    breaker.failed()
    assert breaker.is_open and not breaker.allows()
    clock.now += 10
    assert breaker.allows()  # the trial
    assert not breaker.allows()  # only one
    breaker.failed()
    assert not breaker.allows()
    clock.now += 10
    assert breaker.allows()
    breaker.succeeded()
    assert not breaker.is_open and breaker.allows() and breaker.allows()


def test_signature_covers_method_target_timestamp_nonce_and_body():
    base = ("secret", "POST", "/api/evaluation/results?batch=1", "1700000000", "nonce-123", b"{}")
    reference = signatures.signature(*base)
    for index, changed in [
        (0, "other"),
        (1, "PUT"),
        (2, "/api/evaluation/results?batch=2"),
        (3, "1700000001"),
        (4, "nonce-124"),
        (5, b"{ }"),
    ]:
        variant = list(base)
        variant[index] = changed
        assert signatures.signature(*variant) != reference
    assert signatures.canonical(*base[1:]).decode().split("\n")[-1] == (
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({}, "missing"),
        ({"X-Api-Key": "k", "X-Timestamp": "x", "X-Nonce": "abcdefgh", "X-Signature": "s"}, "Unix seconds"),
        ({"X-Api-Key": "k", "X-Timestamp": "1000", "X-Nonce": "short", "X-Signature": "s"}, "X-Nonce"),
        ({"X-Api-Key": "k", "X-Timestamp": "1000", "X-Nonce": "abcdefgh", "X-Signature": "s"}, "five minutes"),
    ],
)
def test_unusable_signing_headers(headers, reason):
    assert reason in signatures.problem_with({name.lower(): value for name, value in headers.items()}, now=2000)


def test_scopes_by_role():
    assert scope_errors("federation_admin", {}) == {}
    assert scope_errors("unit_officer", {"unit_id": "u"}) == {}
    assert scope_errors("grassroots_officer", {"grassroots_union_id": "g", "unit_id": "u"}) == {}
    assert scope_errors("employee", {}) == {"employee_id": "required for the role employee"}
    assert scope_errors("auditor", {"unit_id": "u"}) == {"unit_id": "not part of the role auditor"}
    assert "role" in scope_errors("institution_system", {"institution_id": "i"})
