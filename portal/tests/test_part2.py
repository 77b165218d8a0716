"""The portal's part 2 on its own: the public pages answer without a login (and ask the gateway nothing until
there is something to look up), and the roster deadline's working days count the loaded calendar."""

from __future__ import annotations

from datetime import date

from portal.views.institution import working_days_left

from .test_app import app  # noqa: F401  (the portal before a gateway that does not answer)


def test_the_public_pages_need_no_login(app):  # noqa: F811
    client = app.test_client()
    about = client.get("/public/")
    assert about.status_code == 200 and "费用由谁承担" in about.get_data(as_text=True)
    assert "证书查验" in about.get_data(as_text=True)  # the visitor's menu
    form = client.get("/public/certificates")
    assert form.status_code == 200 and "发证机构编号" in form.get_data(as_text=True)
    half = client.get("/public/certificates?institution=&number=X-1")
    assert "请填写发证机构编号和证书编号" in half.get_data(as_text=True)
    for query in ("", "?campaign=2013", "?campaign=../../api/quota/campaigns"):  # no campaign: nothing listed
        rosters = client.get(f"/public/rosters{query}")
        assert rosters.status_code == 200 and "请通过市总工会或培训机构公布的链接" in rosters.get_data(as_text=True)
    asked = client.get("/public/certificates?institution=GZ-GCJS&number=GZ-GCJS-2026-0001")
    assert asked.status_code == 503  # the gateway is down here: 稍后再试, never a trace
    assert "稍后再试" in asked.get_data(as_text=True)


def test_the_institution_pages_need_an_institution_login(app):  # noqa: F811
    for path in ("/institution/students", "/institution/classes", "/institution/records"):
        answer = app.test_client().get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")


def test_working_days_left_follow_the_loaded_calendar():
    calendar = {
        2026: {
            "source": "federation",
            "days": [
                {"day": "2026-10-01", "workday": False, "name": "国庆节"},
                {"day": "2026-10-02", "workday": False, "name": "国庆节"},
                {"day": "2026-10-10", "workday": True, "name": "国庆节调休上班"},
            ],
        }
    }
    # From Wednesday 30 Sep to Monday 12 Oct: 1-2 Oct holidays, 10 Oct (Saturday) a make-up day.
    # Working: 5, 6, 7, 8, 9, 10, 12 Oct -> 7.
    assert working_days_left("2026-10-12", calendar, start=date(2026, 9, 30)) == 7
    assert working_days_left("2026-09-29", calendar, start=date(2026, 9, 30)) == -1
    assert working_days_left("2026-09-30", calendar, start=date(2026, 9, 30)) == 0
    assert working_days_left(None, calendar) is None
    assert working_days_left("2027-01-04", {**calendar, 2027: {"source": "missing"}}, start=date(2026, 12, 30)) is None
