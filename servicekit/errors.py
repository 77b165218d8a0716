"""RFC 9457 problem details with stable codes and Chinese/English titles."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, current_app, json, request
from marshmallow import Schema, fields
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from .db import database_unavailable, outage_reason
from .i18n import localise_errors, translate
from .personal import scrub
from .refusals import REFUSALS, Conflict, DomainError, Forbidden, Gone, Invalid, Malformed, NotFound, Unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://upskilling.gzftu.example/problems/"


@dataclass(frozen=True)
class ProblemType:
    code: str
    status: int
    title_en: str
    title_zh: str


_TYPES: dict[str, ProblemType] = {}


def define_problem(code: str, status: int, title_en: str, title_zh: str) -> ProblemType:
    """Register a problem code once; services define their domain problems with it."""
    problem = ProblemType(code, status, title_en, title_zh)
    if _TYPES.setdefault(code, problem) != problem:
        raise ValueError(f"problem code {code!r} is already defined differently")
    return problem


BAD_REQUEST = define_problem("bad_request", 400, "Bad request", "请求有误")
UNAUTHORIZED = define_problem("unauthorized", 401, "Authentication required", "需要登录认证")
FORBIDDEN = define_problem("forbidden", 403, "Not allowed", "无权执行此操作")
NOT_FOUND = define_problem("not_found", 404, "Not found", "未找到")
METHOD_NOT_ALLOWED = define_problem("method_not_allowed", 405, "Method not allowed", "不支持该请求方法")
NOT_ACCEPTABLE = define_problem("not_acceptable", 406, "Not acceptable", "无法提供所要求的格式")
CONFLICT = define_problem("conflict", 409, "Conflict with the current state", "与当前状态冲突")
PRECONDITION_FAILED = define_problem("precondition_failed", 412, "Precondition failed", "前置条件不满足")
PAYLOAD_TOO_LARGE = define_problem("payload_too_large", 413, "Request body too large", "请求内容过大")
UNSUPPORTED_MEDIA_TYPE = define_problem("unsupported_media_type", 415, "Unsupported media type", "不支持的内容类型")
VALIDATION_FAILED = define_problem("validation_failed", 422, "Invalid input", "输入数据校验未通过")
PRECONDITION_REQUIRED = define_problem("precondition_required", 428, "Precondition required", "缺少前置条件")
TOO_MANY_REQUESTS = define_problem("too_many_requests", 429, "Too many requests", "请求过于频繁")
INTERNAL_ERROR = define_problem("internal_error", 500, "Internal error", "系统内部错误")
BAD_GATEWAY = define_problem("bad_gateway", 502, "Upstream service failed", "上游服务出错")
SERVICE_UNAVAILABLE = define_problem("service_unavailable", 503, "Service unavailable", "服务暂不可用")
GATEWAY_TIMEOUT = define_problem("gateway_timeout", 504, "Upstream service timed out", "上游服务超时")
UNAVAILABLE = define_problem(
    "unavailable",
    503,
    "Temporarily unavailable: the database is unreachable, try again shortly",
    "数据库暂时无法访问，请稍后重试",
)
# What a 503 for an outage asks the caller to wait before trying again (a database restart takes seconds).
RETRY_AFTER_SECONDS = 5

_BY_STATUS = {p.status: p for p in _TYPES.values()}


class ProblemSchema(Schema):
    """How every error is documented in the OpenAPI (served as application/problem+json)."""

    type = fields.String(metadata={"description": "URI naming the problem type"})
    title = fields.String(metadata={"description": "Short title, Chinese or English by Accept-Language"})
    status = fields.Integer()
    code = fields.String(metadata={"description": "Stable machine-readable code"})
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "Per-field (or per-row) messages"})


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        problem: ProblemType,
        detail: str | None = None,
        *,
        errors: dict | list | None = None,
        headers: dict | None = None,
        **extra,
    ):
        super().__init__(detail or problem.title_en)
        self.problem, self.detail, self.errors = problem, detail, errors
        self.headers, self.extra = headers or {}, extra


def prefers_chinese() -> bool:
    return chinese_preferred(request.headers.get("Accept-Language"))


def chinese_preferred(accept_language: str | None) -> bool:
    """Chinese unless the Accept-Language header prefers English (the programme's users read Chinese)."""
    best = parse_accept_header(accept_language, LanguageAccept).best_match(["zh", "zh-CN", "en"], default="zh")
    return best.startswith("zh")


def problem_document(
    problem: ProblemType, detail: str | None = None, *, zh: bool, instance: str, errors=None, **extra
) -> dict:
    """The problem's JSON body, apart from any web framework (the gateway's proxy answers without Flask).

    `detail` and the messages in `errors` are translated here, in the caller's language (servicekit.i18n)."""
    title = problem.title_zh if zh else problem.title_en
    body = {
        "type": TYPE_BASE + problem.code,
        "title": title,
        "status": problem.status,
        "code": problem.code,
        "detail": scrub(translate(detail, zh)) if detail else title,
        "instance": instance,
    }
    if errors:
        body["errors"] = localise_errors(errors, zh)
    return body | extra


def problem_response(
    problem: ProblemType, detail: str | None = None, *, errors=None, headers=None, **extra
) -> Response:
    zh = prefers_chinese()
    body = problem_document(problem, detail, zh=zh, instance=request.path, errors=errors, **extra)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=problem.status, mimetype=PROBLEM_JSON, headers=headers or {}
    )
    response.headers["Content-Language"] = "zh-CN" if zh else "en"
    return response


def http_exception_problem(exc: HTTPException) -> Response:
    """Turn werkzeug/webargs/flask-smorest HTTP errors into problem documents."""
    problem = _BY_STATUS.get(exc.code or 500, BAD_REQUEST if (exc.code or 500) < 500 else INTERNAL_ERROR)
    data = getattr(exc, "data", None) or {}
    errors = data.get("messages")
    if isinstance(errors, dict) and len(errors) == 1:
        # webargs nests messages under the location ("json", "query"...).
        ((location, messages),) = errors.items()
        errors = messages if location in {"json", "query", "form", "files", "headers", "path"} else errors
    detail = data.get("message") or exc.description
    headers = dict(getattr(exc, "headers", None) or data.get("headers") or {})
    headers.pop("Content-Type", None)
    if errors and problem is BAD_REQUEST:
        problem = VALIDATION_FAILED
    return problem_response(problem, None if errors else detail, errors=errors, headers=headers)


# The one mapping from the domain's errors (servicekit.refusals, by meaning) to HTTP: the meaning decides the
# status; the code, titles, detail, errors and extra members are the error's own.
STATUS: dict[type[DomainError], int] = {
    Invalid: 422,
    Malformed: 400,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Gone: 410,
    Unavailable: 503,
}


def problem_type(error: type[DomainError]) -> ProblemType:
    """The problem type a domain error class answers with (registered once, like define_problem's)."""
    status = next(STATUS[meaning] for meaning in error.__mro__ if meaning in STATUS)
    return define_problem(error.code, status, error.title_en, error.title_zh)


def refusal_problem(exc: DomainError) -> Problem:
    """The problem a domain error stands for."""
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) and exc.retry_after else None
    return Problem(problem_type(type(exc)), exc.detail, errors=exc.errors, headers=headers, **exc.extra)


DOMAIN_ERRORS = "DOMAIN_ERRORS"


def domain_problem(exc: Exception) -> Problem | None:
    """The problem a domain error stands for (per-item refusals of bulk actions), or None: one of
    servicekit.refusals, or a plain exception this app's service maps (Service.domain_errors)."""
    if isinstance(exc, DomainError):
        return refusal_problem(exc)
    for error, refused in current_app.config.get(DOMAIN_ERRORS, {}).items():
        if isinstance(exc, error):
            return Problem(problem_type(refused), str(exc) or None, errors=getattr(exc, "errors", None))
    return None


def install_domain_errors(app: Flask, domain_errors: dict[type[Exception], type[DomainError]]) -> None:
    """Only here, at the HTTP layer, do the use cases' domain errors become problem+json: servicekit.refusals'
    (every refusal's problem type registered now, so a code defined twice differently stops the start), and the
    plain exceptions of a service's pure rules, each answered as the refusal it is mapped to."""
    for made in REFUSALS.values():
        problem_type(made)
    app.config[DOMAIN_ERRORS] = domain_errors

    @app.errorhandler(DomainError)
    def _refused(exc: DomainError):
        problem = refusal_problem(exc)
        return problem_response(
            problem.problem, problem.detail, errors=problem.errors, headers=problem.headers, **problem.extra
        )

    for plain, refused in domain_errors.items():

        def _answer(exc: Exception, problem: ProblemType = problem_type(refused)):
            return problem_response(problem, str(exc) or None, errors=getattr(exc, "errors", None))

        app.register_error_handler(plain, _answer)


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc.problem, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return http_exception_problem(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_unavailable(exc):
            return unavailable_response(exc)
        log.exception("unhandled error")
        return problem_response(INTERNAL_ERROR)


def unavailable_problem(exc: BaseException) -> Problem:
    """503 `unavailable` with Retry-After for a database outage, logged without the statement or its values."""
    log.warning("database unavailable", extra={"reason": outage_reason(exc)})
    return Problem(UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def unavailable_response(exc: BaseException) -> Response:
    problem = unavailable_problem(exc)
    return problem_response(problem.problem, headers=problem.headers)
