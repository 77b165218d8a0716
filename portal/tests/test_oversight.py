"""The federation's close-out and inspection pages on their own, before a stand-in gateway (the browser journey
against the whole stack: tests/test_portal_oversight.py): lookups read every page of a list, not its first 50
rows; the auditor gets no write control; the portal's own checks and the API's 503 are shown on the page."""

from __future__ import annotations

import re

import pytest
from flask import Flask, jsonify, request

from portal.app import create_app
from portal.config import Settings
from tests.support.wsgi_server import Server

CAMPAIGN = "6f1c1a52-9a4e-4c47-8a51-5d1b1e0c0a01"
BUSY = "6f1c1a52-9a4e-4c47-8a51-5d1b1e0c0a02"
INSTITUTIONS = [{"institution_id": f"I-{n:03d}", "name": f"第{n}培训学校", "disqualified": False} for n in range(120)]


def paged(rows: list, key: str):
    """The lists' convention: `limit` rows after `cursor` (the last key shown), Link rel=next while more."""
    limit = int(request.args.get("limit", 50))
    after = request.args.get("cursor")
    start = next((n + 1 for n, row in enumerate(rows) if row[key] == after), 0) if after else 0
    shown = rows[start : start + limit]
    answer = jsonify(shown)
    if start + limit < len(rows):
        answer.headers["Link"] = f'<{request.path}?limit={limit}&cursor={shown[-1][key]}>; rel="next"'
    return answer


def stand_in(role: str) -> Flask:
    app = Flask("stand-in gateway")
    app.config["posted"] = []

    @app.post("/auth/token")
    def token():
        return {
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 900,
            "identity": {"role": role, "subject": "someone"},
        }

    @app.get("/api/quota/campaigns")
    def campaigns():
        return jsonify(
            [
                {
                    "id": CAMPAIGN,
                    "name": "2030年度计划",
                    "year": 2030,
                    "status": "published",
                    "windows": {"registration_start": "2030-03-01", "registration_end": "2030-04-30"},
                    "fund_pools": {"academic": "1000.00", "skills": "1000.00"},
                    "academic_seats": 1,
                }
            ]
        )

    @app.get("/api/enrollment/institutions")
    def institutions():
        return paged(INSTITUTIONS, "institution_id")

    @app.get("/api/campaigns/<campaign_id>/closeout")
    def closeout(campaign_id):
        if campaign_id == BUSY:
            return {"title": "busy"}, 503, {"Retry-After": "17", "Content-Type": "application/problem+json"}
        return {
            "campaign_id": CAMPAIGN,
            "name": "2030年度计划",
            "status": "published",
            "ready": False,
            "checklist": [
                {"item": "classes_finished", "done": True, "total": 3, "open": 0, "missing": []},
                {"item": "funds_transferred", "done": False, "total": 4, "open": 1, "missing": ["GZ-TH skills"]},
            ],
            "units": [{"unit_id": "GZ-TH", "nominated": 3, "transferred": "1000.00", "unspent": "1000.00"}],
            "institutions": [{"institution_id": "I-119", "registered": 3, "satisfaction": None}],
        }

    @app.get("/api/quota/campaigns/<campaign_id>/allocation")
    def allocation(campaign_id):
        return {"lines": [{"unit_id": "GZ-TH", "unit_name": "天河区总工会"}]}

    @app.get("/api/evaluation/inspections")
    def inspections():
        return jsonify([])

    @app.get("/api/evaluation/notices")
    def notices():
        return jsonify([])

    @app.post("/api/<path:anything>")
    def written(anything):
        app.config["posted"].append(anything)
        return {}, 201

    return app


@pytest.fixture(params=["federation_admin", "auditor"])
def logged_in(request, tmp_path):
    gateway = stand_in(request.param)
    server = Server(gateway)
    settings = Settings(
        gateway_url=server.url,
        secret_key="test-secret",
        session_dir=tmp_path / "sessions",
        session_hours=1,
        secure_cookies=None,
        timeout=5,
    )
    client = create_app(settings).test_client()
    client.post("/login", data={"username": "someone", "password": "a password 123", "csrf_token": token(client)})
    yield request.param, client, gateway
    server.stop()


def token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def posting_forms(html: str) -> list[str]:
    main = html.split('<main id="main"', 1)[1]
    return re.findall(r'<form[^>]*method="post"', main)


def test_the_closeout_checklist_report_and_close_form(logged_in):
    role, client, gateway = logged_in
    page = client.get(f"/federation/campaigns/{CAMPAIGN}/closeout")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "开班已全部结业" in html and "专款已全部拨付" in html and "GZ-TH skills" in html
    assert "天河区总工会" in html  # the unit named, from the allocation
    assert "第119培训学校" in html  # the 120th institution: every page of the list was read, not the first 50
    if role == "auditor":
        assert posting_forms(html) == []  # read only: no close form
        assert client.post(f"/federation/campaigns/{CAMPAIGN}/close", data={}).status_code in (400, 403)
    else:
        assert len(posting_forms(html)) == 1 and "结项检查尚有未完成事项" in html  # the confirmation warns
        refused = client.post(
            f"/federation/campaigns/{CAMPAIGN}/close",
            data={"reason": "", "unspent_funds": "return_to_pool", "csrf_token": token(client, "/")},
        )
        assert refused.status_code == 422 and 'id="reason-error"' in refused.get_data(as_text=True)
    assert gateway.config["posted"] == []


def test_the_inspection_sheet_is_checked_before_it_is_sent(logged_in):
    role, client, gateway = logged_in
    page = client.get("/federation/institutions/I-119/inspections")
    assert page.status_code == 200 and "第119培训学校" in page.get_data(as_text=True)
    if role == "auditor":
        assert posting_forms(page.get_data(as_text=True)) == []
        return
    form = {
        "csrf_token": token(client, "/"),
        "inspector": "市总工会检查组",
        "inspected_on": "2030-05-01",
        "marks-0-criterion": "教学场地",
        "marks-0-score": "101",
        "marks-1-criterion": "",
        "marks-1-score": "80",
    }
    refused = client.post("/federation/institutions/I-119/inspections", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="marks-0-score-error"' in html and 'id="marks-1-criterion-error"' in html
    nothing = client.post(
        "/federation/institutions/I-119/inspections", data={**form, "marks-0-score": "", "marks-1-score": ""}
    )
    assert nothing.status_code == 422 and "请至少为一个考察项目打分" in nothing.get_data(as_text=True)
    assert gateway.config["posted"] == []
    done = client.post(
        "/federation/institutions/I-119/inspections", data={**form, "marks-0-score": "85", "marks-1-score": ""}
    )
    assert done.status_code == 302 and gateway.config["posted"] == ["evaluation/inspections"]


def test_a_busy_gateway_shows_when_to_try_again(logged_in):
    _role, client, _gateway = logged_in
    page = client.get(f"/federation/campaigns/{BUSY}/closeout")
    assert page.status_code == 503 and "约 17 秒后" in page.get_data(as_text=True)


def test_a_later_page_of_a_list_links_back_to_the_first(logged_in):
    """A page reached through a list's next link (a cursor in its query) renders, with its link to the first page:
    the pager macro, imported without the template's context, finds first_page_args (a 500 before)."""
    _role, client, _gateway = logged_in
    page = client.get("/federation/institutions/I-119/inspections?cursor=I-049")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert '<a href="/federation/institutions/I-119/inspections">回到第一页</a>' in html
