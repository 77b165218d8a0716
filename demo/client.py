"""A small client of the gateway's REST API: logins per user, signed machine requests, clear failures."""

from __future__ import annotations

import json
import time
import uuid

import requests
from requests.adapters import HTTPAdapter, Retry

from gateway.signatures import signed_headers


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, response: requests.Response):
        self.status, self.body = response.status_code, _body(response)
        super().__init__(f"{method} {path} -> {self.status}: {json.dumps(self.body, ensure_ascii=False)[:800]}")


def _body(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return response.text


def _session() -> requests.Session:
    """A session that sends again what met a kept-alive connection the gateway had just closed (it keeps one
    5 s): only idempotent methods (urllib3's default), a few times. Answers with a Retry-After are left to
    `Gateway.call` (urllib3 would otherwise raise on a read's first 429 instead of answering it)."""
    session = requests.Session()
    retry = Retry(total=3, connect=3, read=3, status=0, backoff_factor=0.05, respect_retry_after_header=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Gateway:
    """One caller of the gateway: a logged-in user, a machine client, or anonymous."""

    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = session or _session()
        self.token: str | None = None
        self.machine: tuple[str, str] | None = None

    def login(self, username: str, password: str) -> Gateway:
        caller = Gateway(self.base_url, self.http)
        caller.token = caller.call("POST", "/auth/token", {"username": username, "password": password})["access_token"]
        return caller

    def as_machine(self, key_id: str, secret: str) -> Gateway:
        caller = Gateway(self.base_url, self.http)
        caller.machine = (key_id, secret)
        return caller

    def call(
        self,
        method: str,
        path: str,
        body=None,
        *,
        ok=(200, 201, 202, 204),
        headers: dict | None = None,
        params: dict | None = None,
        raw: bool = False,
    ):
        """The answer's JSON (or the response when `raw`); an ApiError for any status outside `ok`.

        A POST carries an Idempotency-Key (money-moving ones need it): the caller's, or a new one for this
        call, which the retries below reuse."""
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        if method == "POST":
            headers = {"Idempotency-Key": f"demo-{uuid.uuid4()}", **(headers or {})}
        request = requests.Request(
            method,
            self.base_url + path,
            params=params,
            data=data or None,
            headers={
                "Content-Type": "application/json",
                "Accept-Language": "en",
                "X-Request-ID": f"demo-{uuid.uuid4().hex[:16]}",
                **(headers or {}),
            },
        )
        prepared = self.http.prepare_request(request)
        if self.token:
            prepared.headers["Authorization"] = f"Bearer {self.token}"
        if self.machine:
            target = prepared.path_url
            prepared.headers.update(signed_headers(*self.machine, method, target, data))
        for _attempt in range(20):
            response = self.http.send(prepared, timeout=30)
            if response.status_code != 429:  # the gateway's rate limit: wait as it asks
                break
            time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
        if response.status_code not in ok:
            raise ApiError(method, path, response)
        if raw:
            return response
        return _body(response) if response.content else None

    def get(self, path: str, **params):
        return self.call("GET", path, params=params or None)

    def all(self, path: str, **params) -> list:
        """Every row of a list, page after page (500 a page), following each answer's Link rel="next"."""
        rows: list = []
        query: dict | str = {"limit": 500, **params}
        while True:
            response = self.call(
                "GET",
                path + (f"?{query}" if isinstance(query, str) else ""),
                params=None if isinstance(query, str) else query,
                raw=True,
            )
            rows += response.json()
            following = response.links.get("next", {}).get("url")
            if not following:
                return rows
            query = following.removeprefix("?")

    def post(self, path: str, body=None, **kwargs):
        return self.call("POST", path, {} if body is None else body, **kwargs)

    def put(self, path: str, body, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body, **kwargs):
        return self.call("PATCH", path, body, **kwargs)

    def exists(self, path: str, **params):
        """The resource, or None when the answer is 404."""
        response = self.call("GET", path, params=params or None, ok=(200, 404), raw=True)
        return None if response.status_code == 404 else response.json()


def eventually(probe, what: str, timeout: float = 60.0, interval: float = 0.2, last=lambda: ""):
    """Poll `probe()` until it returns something truthy: the services talk through events."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {what}. {last()}")
        time.sleep(interval)
