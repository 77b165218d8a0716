"""API fuzzing with schemathesis: every operation of an OpenAPI document, a fixed seeded budget, every failure.

`fuzz(schema, headers, examples)` loads every operation (a load error is a
failure), sends `examples` generated requests to each (half fitting the schema,
half not), and checks that no answer is a server error and that each answer
fits the schema documented for its status. It returns a report instead of
stopping at the first failure, so one run shows everything that is wrong.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance]
SEED = 20131101  # the campaign's first day of registration


@dataclass
class Report:
    operations: int = 0
    load_errors: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    by_operation: dict[str, Counter] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def only(self, status: int) -> list[str]:
        """The operations that answered nothing but `status`."""
        return sorted(label for label, counts in self.by_operation.items() if set(counts) == {status})

    @property
    def ok(self) -> bool:
        return not self.load_errors and not self.failures

    def __str__(self) -> str:
        lines = [
            f"{self.operations} operations loaded, {len(self.load_errors)} load errors, "
            f"{self.requests} requests in {self.seconds:.1f} s, statuses {dict(sorted(self.statuses.items()))}"
        ]
        lines += [f"LOAD ERROR {error}" for error in self.load_errors]
        for operation, messages in sorted(self.failures.items()):
            lines += [f"FAIL {operation}: {message}" for message in messages[:3]]
        return "\n".join(lines)


def fuzz(schema, headers: Callable[[], dict], examples: int, call: Callable | None = None) -> Report:
    """Run the budget over every operation of `schema` (schemathesis' loaded OpenAPI document)."""
    report, started = Report(), time.perf_counter()
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception as exc:
            report.load_errors.append(str(exc).splitlines()[0])
            continue
        report.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode, headers, max(1, examples // 2), report, call)
    report.seconds = time.perf_counter() - started
    return report


def _run(operation, mode, headers, examples: int, report: Report, call) -> None:
    label = operation.label

    @seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is reported as met
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def attempt(case):
        sent = headers()
        response = call(case, sent) if call else case.call(headers=sent)
        report.requests += 1
        report.statuses[response.status_code] += 1
        report.by_operation.setdefault(label, Counter())[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=sent)
        except FailureGroup as group:
            _record(
                report, label, [f"{type(f).__name__}: {f.title}: {_brief(case, response)}" for f in group.exceptions]
            )
        except AssertionError as exc:
            _record(report, label, [f"{str(exc).splitlines()[0]}: {_brief(case, response)}"])

    try:
        attempt()
    except hypothesis.errors.Unsatisfiable:
        pass  # fewer distinct inputs exist than the budget: all were tried
    except Exception as exc:
        _record(report, label, [f"generation: {type(exc).__name__}: {str(exc)[:300]}"])


def _record(report: Report, label: str, messages: list[str]) -> None:
    known = report.failures.setdefault(label, [])
    known += [m for m in messages if m not in known]


def _brief(case, response) -> str:
    body = response.text if hasattr(response, "text") else ""
    return (
        f"{response.status_code} for path={case.path_parameters} query={case.query} "
        f"body={str(case.body)[:200]!r} -> {body[:300]!r}"
    )
