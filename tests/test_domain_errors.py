"""Use cases raise domain errors (servicekit.refusals); only the HTTP layer turns them into problem+json.

The import-linter contract `domain-errors` (pyproject.toml) forbids importing servicekit.errors from a
service's use-case modules; this test also catches `from servicekit import Problem` (which names the
package) and shows the one mapping answers a refusal as the problem document clients always got."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from flask import Flask

from servicekit.errors import (
    CONFLICT,
    FORBIDDEN,
    NOT_FOUND,
    SERVICE_UNAVAILABLE,
    VALIDATION_FAILED,
    domain_problem,
    install_domain_errors,
    install_error_handlers,
    problem_type,
)
from servicekit.refusals import REFUSALS, Conflict, Forbidden, Invalid, NotFound, Unavailable, refusal

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("quota", "enrollment", "finance", "evaluation")
# servicekit.errors' names: the problem, the problem types (each an HTTP status) and their registration.
HTTP_NAMES = {"Problem", "ProblemType", "define_problem", "problem_response", "problem_document"}
# Entrypoints besides api/: the AMQP ingress of exam results answers servicekit's own Problem (a value
# beyond its column) the way the HTTP API does.
ADAPTERS = {Path("services/evaluation/ingress.py")}


def use_case_modules() -> list[Path]:
    found = []
    for svc in SERVICES:
        for path in sorted((ROOT / "services" / svc).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if {"api", "tests", "migrations"} & set(relative.parts[2:-1]) or relative in ADAPTERS:
                continue
            found.append(path)
    return found


def http_imports(text: str, name: str) -> list[str]:
    """The imports of servicekit.errors, and of its names through the servicekit package."""
    found = []
    for node in ast.walk(ast.parse(text, name)):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if module == "servicekit.errors":
                found.append(f"{name}:{node.lineno} from {module} import ...")
            elif module == "servicekit" and HTTP_NAMES & {alias.name for alias in node.names}:
                found.append(f"{name}:{node.lineno} from servicekit import Problem")
        elif isinstance(node, ast.Import) and any(alias.name == "servicekit.errors" for alias in node.names):
            found.append(f"{name}:{node.lineno} import servicekit.errors")
    return found


def test_use_cases_import_no_problem_and_no_status():
    modules = use_case_modules()
    assert len(modules) > 40 and any(p.name == "allocations.py" for p in modules)
    found = [problem for path in modules for problem in http_imports(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


def test_the_check_sees_a_use_case_that_raises_a_problem():
    use_case = "from servicekit import Problem, unit_of_work\nfrom servicekit.errors import NOT_FOUND\nimport servicekit.errors\n"
    assert len(http_imports(use_case, "services/quota/use_case.py")) == 3
    assert http_imports("from servicekit import unit_of_work\nfrom servicekit.refusals import NotFound\n", "x.py") == []


def _every_refusal() -> dict:
    for svc in SERVICES:
        package = importlib.import_module(f"services.{svc}")
        for info in pkgutil.walk_packages(package.__path__, f"services.{svc}."):
            if not {"tests", "migrations", "__main__", "wsgi"} & set(info.name.split(".")):
                importlib.import_module(info.name)
    return REFUSALS


def test_every_refusal_keeps_its_code_titles_and_a_status_of_its_meaning():
    refusals = _every_refusal()
    assert len(refusals) > 50
    statuses = {NotFound: 404, Conflict: 409, Invalid: 422, Forbidden: 403, Unavailable: 503}
    for code, error in refusals.items():
        problem = problem_type(error)
        assert (problem.code, problem.title_en, problem.title_zh) == (code, error.title_en, error.title_zh)
        for meaning, status in statuses.items():
            if issubclass(error, meaning):
                assert problem.status == status, code
    # The generic meanings are servicekit.errors' problems, unchanged.
    assert problem_type(NotFound) == NOT_FOUND and problem_type(Conflict) == CONFLICT
    assert problem_type(Invalid) == VALIDATION_FAILED and problem_type(Forbidden) == FORBIDDEN
    assert problem_type(Unavailable) == SERVICE_UNAVAILABLE


SEATS_SHORT = refusal(Conflict, "test_seats_short", "Not enough seats", "名额不足")


class Retired(Exception):
    """A plain exception of a service's pure rules, mapped by Service.domain_errors."""


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    install_error_handlers(app)
    install_domain_errors(app, {Retired: SEATS_SHORT})

    @app.get("/short")
    def short():
        raise SEATS_SHORT("Unit {unit_id} has {available} seats left.", errors={"seats": ["Too many."]}, available=3)

    @app.get("/missing")
    def missing():
        raise NotFound()

    @app.get("/busy")
    def busy():
        raise Unavailable(retry_after=1)

    @app.get("/retired")
    def retired():
        raise Retired("Retired in 2025.")

    return app


def test_the_http_layer_answers_a_refusal_as_problem_json(app):
    client = app.test_client()
    answer = client.get("/short", headers={"Accept-Language": "en"})
    assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["code"] == "test_seats_short" and body["title"] == "Not enough seats"
    assert body["type"].endswith("/test_seats_short") and body["instance"] == "/short"
    assert body["errors"] == {"seats": ["Too many."]} and body["available"] == 3
    assert client.get("/short").get_json()["title"] == "名额不足"
    missing = client.get("/missing", headers={"Accept-Language": "en"})
    assert (missing.status_code, missing.get_json()["code"], missing.get_json()["detail"]) == (
        404,
        "not_found",
        "Not found",
    )
    busy = client.get("/busy")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    retired = client.get("/retired", headers={"Accept-Language": "en"})
    assert (retired.status_code, retired.get_json()["code"], retired.get_json()["detail"]) == (
        409,
        "test_seats_short",
        "Retired in 2025.",
    )


def test_bulk_actions_see_a_refusal_as_the_problem_it_stands_for(app):
    with app.test_request_context("/"):
        problem = domain_problem(SEATS_SHORT("None left.", available=0))
        assert problem is not None and problem.problem.status == 409 and problem.extra == {"available": 0}
        assert domain_problem(ValueError("not a domain error")) is None
