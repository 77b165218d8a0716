"""The portal's client of the gateway's REST API, for the logged-in person of the current request.

The tokens live in the server-side session: an access token that has expired (or that the gateway refuses with
401) is replaced once through POST /auth/refresh; a refused refresh ends the session (log in again). Every
answer outside 2xx becomes a `Problem` with the gateway's problem+json (already in the caller's language),
its per-field errors and Retry-After.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import copy_current_request_context, current_app, session
from flask_babel import gettext as _

from .i18n import api_language

T = TypeVar("T")
MAX_PARALLEL = 6  # reads of one page at once (the gateway's rate limit counts each)
_http = requests.Session()  # pooled connections to the gateway, shared by the threads


class Problem(Exception):
    """A problem+json answer of the gateway (or the gateway unreachable: status 503)."""

    def __init__(self, status: int, body: dict | None = None, retry_after: str | None = None):
        body = body if isinstance(body, dict) else {}
        self.status, self.body, self.retry_after = status, body, retry_after
        self.title = body.get("title") or ""
        self.detail = body.get("detail") or self.title
        self.errors = body.get("errors") or {}
        super().__init__(f"{status}: {self.detail}")

    def field_errors(self) -> dict[str, str]:
        """Messages by field name (a list of messages joined), for showing next to the fields."""
        found = {}
        if isinstance(self.errors, dict):
            for name, messages in self.errors.items():
                if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
                    found[name] = "；".join(messages)
                elif isinstance(messages, str):
                    found[name] = messages
        return found

    def rows(self) -> list[dict]:
        """Per-row errors of an import: [{"row": n, "errors": {...}}] in whichever shape the service gave."""
        rows = self.errors.get("rows") if isinstance(self.errors, dict) else None
        if isinstance(rows, dict):
            return [{"row": number, "errors": errors} for number, errors in rows.items()]
        if isinstance(rows, list):
            return rows
        return []


class LoginRequired(Exception):
    """No login, or the login ended (refresh refused): the person logs in again."""


@dataclass
class Page:
    """One page of a list: its items, the query of the next page (from Link rel=next) and the total if counted."""

    items: list
    next_query: dict = field(default_factory=dict)
    total: int | None = None


def _settings():
    return current_app.config["PORTAL"]


def _send(method: str, path: str, *, token: str | None, json=None, params=None, files=None, data=None, headers=None):
    base = {
        "Accept-Language": api_language(),
        "X-Request-ID": f"portal-{uuid.uuid4().hex[:16]}",
    }
    if method == "POST":
        base["Idempotency-Key"] = f"portal-{uuid.uuid4()}"
    if token:
        base["Authorization"] = f"Bearer {token}"
    try:
        return _http.request(
            method,
            _settings().gateway_url + path,
            json=json,
            params=params,
            files=files,
            data=data,
            headers={**base, **(headers or {})},
            timeout=_settings().timeout,
        )
    except requests.RequestException:
        raise Problem(503, {"detail": ""}, retry_after="30") from None


def _raise_for(response: requests.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    raise Problem(response.status_code, body, response.headers.get("Retry-After"))


def login(username: str, password: str) -> dict:
    response = _send("POST", "/auth/token", token=None, json={"username": username, "password": password})
    _raise_for(response)
    tokens = response.json()
    session.clear()
    session["_rotate"] = True
    _keep(tokens)
    session["identity"] = tokens["identity"]
    session["username"] = username
    session["previous_login_at"] = tokens.get("previous_login_at")  # what changed since: the 工作台 says
    return tokens


def _keep(tokens: dict) -> None:
    session["access"] = tokens["access_token"]
    session["refresh"] = tokens["refresh_token"]
    session["expires_at"] = time.time() + tokens["expires_in"] - 10


def _refresh() -> None:
    refresh_token = session.get("refresh")
    if not refresh_token:
        raise LoginRequired
    response = _send("POST", "/auth/refresh", token=None, json={"refresh_token": refresh_token})
    if response.status_code in (400, 401, 422):
        session.clear()
        raise LoginRequired
    _raise_for(response)
    tokens = response.json()
    _keep(tokens)
    session["identity"] = tokens["identity"]


def logout() -> None:
    """Revoke the login at the gateway (its refresh tokens), then forget the session."""
    refresh_token = session.get("refresh")
    if refresh_token:
        try:
            _send("POST", "/auth/logout", token=None, json={"refresh_token": refresh_token})
        except Problem:
            pass  # the gateway unreachable: the session ends here anyway, the tokens expire
    session.clear()


def identity() -> dict | None:
    return session.get("identity")


def call(method: str, path: str, anonymous: bool = False, **kwargs) -> requests.Response:
    """The gateway's answer (2xx) to the logged-in person's request (`anonymous`: to nobody's, a public route
    called without any token); Problem otherwise."""
    if anonymous:
        response = _send(method, path, token=None, **kwargs)
        _raise_for(response)
        return response
    if "access" not in session:
        raise LoginRequired
    if time.time() >= session.get("expires_at", 0):
        _refresh()
    response = _send(method, path, token=session["access"], **kwargs)
    if response.status_code == 401:
        _refresh()
        response = _send(method, path, token=session["access"], **kwargs)
        if response.status_code == 401:
            session.clear()
            raise LoginRequired
    _raise_for(response)
    return response


def maybe(read, default=None):
    """`read()`'s answer, or `default` when the gateway answers 403 or 404 (not this caller's, or not there yet)."""
    try:
        return read()
    except Problem as error:
        if error.status in (403, 404):
            return default
        raise


def get(path: str, **params):
    return call("GET", path, params={k: v for k, v in params.items() if v not in (None, "")}).json()


def post(path: str, body: dict | None = None, **kwargs):
    response = call("POST", path, json={} if body is None and "files" not in kwargs else body, **kwargs)
    return response.json() if response.content else None


def put(path: str, body: dict):
    response = call("PUT", path, json=body)
    return response.json() if response.content else None


def page(path: str, limit: int = 50, cursor: str | None = None, anonymous: bool = False, **params) -> Page:
    """One page of a list endpoint: `limit`/`cursor` as the lists convention has them, the next page from the
    Link header (rel="next", relative: only its query matters) and X-Total-Count when given (`anonymous`: a
    public list, asked without any token)."""
    params = {k: v for k, v in params.items() if v not in (None, "")}
    params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
    response = call("GET", path, anonymous, params=params)  # every list pages: none is read whole
    items = response.json()
    following = response.links.get("next", {}).get("url")
    next_query = dict(parse_qsl(urlsplit(following).query)) if following else {}
    total = response.headers.get("X-Total-Count")
    return Page(items, next_query, int(total) if total and total.isdigit() else None)


EVERY_LIMIT = 500  # the lists' largest page (servicekit.paging.MAX_LIMIT): a small set comes in one call
EVERY_PAGES = 20  # 10,000 rows: a set beyond that is no lookup to read whole (search it, page it)


def every(path: str, **params) -> list:
    """Every row of a list that is small by nature (the contracted institutions, the catalogue's programmes, a
    campaign's accounts): its pages followed, 500 rows each, so the 51st row is not silently missing."""
    rows, cursor = [], None
    for _page in range(EVERY_PAGES):
        found = page(path, limit=EVERY_LIMIT, cursor=cursor, **params)
        rows += found.items
        cursor = found.next_query.get("cursor")
        if not cursor:
            return rows
    raise Problem(500, {"detail": _("列表超过 %(n)s 行，无法全部列出，请按名称查找。", n=EVERY_LIMIT * EVERY_PAGES)})


def count(path: str, **filters) -> int:
    """How many rows of a list match `filters`: the list's X-Total-Count asked with limit=0 (count only, no row read)."""
    response = call("GET", path, params={**{k: v for k, v in filters.items() if v not in (None, "")}, "limit": 0})
    return int(response.headers.get("X-Total-Count", "0"))


def concurrently(*reads: Callable[[], T]) -> list[T]:
    """Several independent reads of the gateway at once (each a function of no argument), their answers in order; a
    page that needs many small answers (counts, reports) then waits for the slowest, not for their sum. The first
    Problem raised is raised here. An expired access token is refreshed once, before the threads start."""
    if len(reads) < 2:
        return [read() for read in reads]
    if "access" in session and time.time() >= session.get("expires_at", 0):
        _refresh()
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(reads))) as pool:
        futures = [pool.submit(copy_current_request_context(read)) for read in reads]
        return [future.result() for future in futures]
