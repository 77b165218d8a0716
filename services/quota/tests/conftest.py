"""The quota service on fresh PostgreSQL and RabbitMQ, with helpers to call it as someone."""

from __future__ import annotations

import io
import json

import pytest

from servicekit.testing import xlsx  # noqa: F401  (the spreadsheet builder, shared)

TODAY_WINDOWS = {  # a registration window open today, so requests made now are in time
    "registration_start": "2020-01-01",
    "registration_end": "2099-12-31",
    "study_start": "2020-01-01",
    "study_end": "2099-12-31",
    "exams_from": "2021-01-01",
}


class Quota:
    def __init__(self, stack):
        self.stack = stack
        self.client = stack.client

    def call(self, method: str, path: str, role: str = "federation_admin", **kwargs):
        scope = kwargs.pop("scope", {})
        headers = {**self.stack.as_caller(role, **scope), **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs):
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def campaign(self, **settings) -> dict:
        body = {"name": "2026 百万职工素质提升", "year": 2026, "windows": TODAY_WINDOWS, **settings}
        return self.ok("POST", "/campaigns", 201, json=body)

    def unit(self, unit_id: str, headcount: int, **fields) -> dict:
        body = {
            "id": unit_id,
            "name": f"{unit_id} 总工会",
            "level": "first_level",
            "category": "district",
            "headcount": headcount,
            **fields,
        }
        return self.ok("POST", "/units", 201, json=body)

    def upload(self, path: str, content: bytes, filename: str, **kwargs):
        return self.call(
            "POST", path, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data", **kwargs
        )

    def events(self, tap) -> list[dict]:
        return [json.loads(m.body) for m in self.stack.drain(tap)]


@pytest.fixture
def quota(stack_of) -> Quota:
    return Quota(stack_of("quota"))
