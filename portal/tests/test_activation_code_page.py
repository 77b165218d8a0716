"""The page of a new activation code tells the officer whether the SMS went (the gateway's `sms_sent`): when the
provider failed, the code is shown all the same, with what to do."""

from __future__ import annotations

from flask import render_template

from .test_app import app  # noqa: F401  (the portal before a gateway that does not answer)

ROW = {"enrolment_id": "e-1", "name": "朱华"}
ISSUED = {"code": "ABCDEFGH23", "expires_at": "2026-12-10T08:00:00+00:00", "phone": "139****0091", "employee_id": "x"}


def test_the_code_page_says_whether_the_sms_was_sent(app):  # noqa: F811
    with app.test_request_context("/"):
        sent = render_template("activation/code.html", row=ROW, issued={**ISSUED, "sms_sent": True})
        failed = render_template("activation/code.html", row=ROW, issued={**ISSUED, "sms_sent": False})
    assert "短信已发送至" in sent and "未发送" not in sent and "ABCDEFGH23" in sent
    assert "短信已发送至" not in failed and "未发送" in failed and "ABCDEFGH23" in failed
    assert "短信服务暂时不可用" in failed and 'role="alert"' in failed
