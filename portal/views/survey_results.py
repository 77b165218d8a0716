"""The students' anonymous satisfaction survey's results (学员满意度调查结果): the federation sees every
institution's, an institution's staff its own, for the campaign chosen in the header. Evaluation withholds a
survey's results until it has 5 answers (k-anonymity): fewer, and the page says only that."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, render_template, request

from .. import gateway
from ..app import FEDERATION, INSTITUTION_OPERATOR, current_campaign, requires

blueprint = Blueprint("survey_results", __name__, url_prefix="/surveys")


def _results(survey_id: str) -> dict | None:
    return gateway.maybe(lambda: gateway.get(f"/api/evaluation/surveys/{survey_id}/results"))


@blueprint.route("/results")
@requires(*FEDERATION, INSTITUTION_OPERATOR)
def results():
    """Per institution (the gateway scopes an institution to its own), its survey's results or that they wait."""
    campaign = current_campaign()
    page = None
    if campaign:
        page = gateway.page(
            "/api/evaluation/surveys", limit=20, cursor=request.args.get("cursor"), campaign_id=campaign["id"]
        )
        found = gateway.concurrently(*(partial(_results, s["survey_id"]) for s in page.items))
        page.items = [{**s, "results": r} for s, r in zip(page.items, found)]
    names = {
        # the contracted institutions: dozens, read whole (not the first 50 only)
        i["institution_id"]: i["name"]
        for i in gateway.maybe(lambda: gateway.every("/api/enrollment/institutions"), [])
    }
    return render_template("survey_results.html", campaign=campaign, page=page, names=names)
