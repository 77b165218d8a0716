"""A notice given before rectification deadlines (evaluation_0013) becomes a notice without a due date: listed,
open, answerable; the federation sets its date."""

import pytest
from sqlalchemy import text

from servicekit import Runtime
from servicekit.clock import china_today
from servicekit.migrations import upgrade
from services.evaluation.service import SERVICE
from tests.support.stack import ServiceStack

from .helpers import CAMPAIGN

pytestmark = pytest.mark.servers


def test_a_notice_given_before_the_migration_is_kept_open_without_a_due_date(service_env, tmp_path):
    env = service_env("evaluation")
    before = Runtime(SERVICE)
    upgrade(before, "evaluation_0012")
    with before.engine.begin() as db:
        db.execute(text("INSERT INTO institution_standings VALUES ('GZ-FCG', 2, false)"))
        for revision, action in ((1, "notified"), (2, "disqualified")):
            db.execute(
                text(
                    "INSERT INTO institution_decisions VALUES ('GZ-FCG', :revision, :action, :campaign, '综合评分低',"
                    " 'user-fed-1', '2014-06-01T10:00:00+08:00')"
                ),
                {"revision": revision, "action": action, "campaign": CAMPAIGN},
            )
    before.engine.dispose()

    stack = ServiceStack("services.evaluation", env, tmp_path)  # migrates to the head
    try:
        admin = stack.as_caller("federation_admin", subject="user-fed-1")
        [notice] = stack.client.get("/notices", headers=admin).get_json()  # the notice only, not the sanction
        assert (notice["institution_id"], notice["revision"], notice["campaign_id"]) == ("GZ-FCG", 1, CAMPAIGN)
        assert (notice["state"], notice["respond_by"], notice["days_left"], notice["reason"]) == (
            "open",
            None,
            None,
            "综合评分低",
        )
        due = china_today().isoformat()
        moved = stack.client.put(
            f"/notices/{notice['notice_id']}/due-date",
            headers=admin,
            json={"respond_by": due, "reason": "补设整改期限"},
        )
        assert moved.status_code == 200 and moved.get_json()["respond_by"] == due
    finally:
        stack.close()
