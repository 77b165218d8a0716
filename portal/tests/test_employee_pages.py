"""The portal's employee and public pages of part 2 on their own (the browser journeys against the whole stack:
tests/test_portal_employee.py): the public notice lists nothing (and asks the gateway nothing) without a union's
link, objecting sends a visitor to log in and back, the employee's and the survey results' pages need their logins."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .test_app import app  # noqa: F401  (the portal before a gateway that does not answer)

CAMPAIGN = "6f1c1a52-8a7e-4c55-9a43-3f0c2d4b7e11"


def test_the_public_notice_needs_the_unions_link_and_lists_nothing_across_campaigns(app):  # noqa: F811
    client = app.test_client()
    unusable = (
        "",
        f"?campaign={CAMPAIGN}",
        "?union=GZ-TH-G1",
        "?campaign=2013&union=GZ-TH-G1",
        f"?campaign={CAMPAIGN}&union=../../api/quota/campaigns",
    )
    for query in unusable:
        answer = client.get(f"/public/notices{query}")
        assert answer.status_code == 200 and "请通过基层工会公布的链接" in answer.get_data(as_text=True)
    asked = client.get(f"/public/notices?campaign={CAMPAIGN}&union=GZ-TH-G1")
    assert asked.status_code == 503 and "稍后再试" in asked.get_data(as_text=True)  # the gateway is down here


def test_objecting_sends_a_visitor_to_log_in_and_back_to_the_form(app):  # noqa: F811
    form = f"/public/notices/e-1/objection?campaign={CAMPAIGN}&union=GZ-TH-G1"
    answer = app.test_client().get(form)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert target.path == "/login" and parse_qs(target.query)["next"] == [form]


def test_the_employees_and_the_survey_results_pages_need_a_login(app):  # noqa: F811
    for path in ("/me/data", "/me/data/download?format=xlsx", "/me/classes", "/surveys/results"):
        answer = app.test_client().get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
