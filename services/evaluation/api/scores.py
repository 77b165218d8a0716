from flask_smorest import Blueprint

from servicekit import Problem, unit_of_work
from servicekit.audit import audited
from servicekit.closing import CloseoutPartOut
from servicekit.errors import NOT_FOUND
from servicekit.identity import AUDITOR, FEDERATION_ADMIN, INSTITUTION_OPERATOR, current_identity, requires
from servicekit.paging import page_in_memory
from servicekit.tabular import Column, export

from .. import closeout, rules, scoring
from ..listing import INSPECTIONS, SCORES_QUERY
from ..models import as_dict
from ..schemas import (
    CampaignQuery,
    DecisionOut,
    EvaluationIn,
    InspectionIn,
    InspectionOut,
    SanctionIn,
    ScoreOut,
    ScoringSettingsIO,
    StandingOut,
)

blp = Blueprint("scores", __name__, description="Inspections (实地考察), institution scores, notices and sanctions")

REPORT_COLUMNS = [
    Column("institution_id", "机构编号 Institution"),
    Column("institution_name", "机构名称 Name"),
    Column("score", "综合评分 Score"),
    Column("below_threshold", "低于通报线 Below threshold"),
    *(Column(name, f"{name} score") for name in rules.CRITERIA),
    Column("figures", "依据 Figures"),
]


def _own_institution(institution_id: str) -> None:
    identity = current_identity()
    if not identity.is_federation and identity.institution_id != institution_id:
        raise Problem(NOT_FOUND, "No such institution among yours.")


@blp.route("/scoring-settings", methods=["GET"])
@blp.response(200, ScoringSettingsIO)
@requires(FEDERATION_ADMIN, AUDITOR)
def get_settings():
    """The weights of the criteria and the notice threshold (defaults until the federation sets them)."""
    with unit_of_work() as uow:
        return scoring.settings(uow.session)


@blp.route("/scoring-settings", methods=["PUT"])
@blp.arguments(ScoringSettingsIO)
@blp.response(200, ScoringSettingsIO)
@requires(FEDERATION_ADMIN)
def put_settings(body):
    """Set the weights (adding up to 1) and the notice threshold (0-100)."""
    with unit_of_work() as uow:
        with audited(uow, "set", "scoring_settings", "scoring"):
            saved = scoring.put_settings(uow, current_identity(), dict(body["weights"]), body["notice_threshold"])
        uow.commit()
    return saved


@blp.route("/inspections", methods=["POST"])
@blp.arguments(InspectionIn)
@blp.response(201, InspectionOut)
@requires(FEDERATION_ADMIN)
def record_inspection(body):
    """Record an on-site inspection: inspector, date, institution, a 0-100 score per criterion, notes."""
    with unit_of_work() as uow:
        with audited(uow, "recorded", "inspection", reason=body.get("notes")):
            inspection = scoring.record_inspection(
                uow, current_identity(), {**body, "campaign_id": str(body["campaign_id"])}
            )
        uow.commit()
    return inspection


@blp.route("/inspections", methods=["GET"])
@blp.arguments(INSPECTIONS.query, location="query")
@blp.response(200, InspectionOut(many=True))
@requires(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR)
def list_inspections(query):
    """Inspections; an institution sees its own."""
    with unit_of_work() as uow:
        return INSPECTIONS.page(
            uow.session,
            scoring.inspections_query(current_identity()),
            query,
            view=lambda rows: [as_dict(i) for i in rows],
        )


@blp.route("/institutions/<institution_id>/scores", methods=["GET"])
@blp.arguments(CampaignQuery, location="query")
@blp.response(200, ScoreOut)
@blp.alt_response(404, description="Unknown campaign, or another institution")
@blp.alt_response(422, description="No working-day calendar for a year the rosters fall in")
@requires(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR)
def score(query, institution_id):
    """An institution's score in a campaign now, each criterion with the figures it comes from."""
    _own_institution(institution_id)
    with unit_of_work() as uow:
        return scoring.report(uow.session, str(query["campaign_id"]), institution_id)


@blp.route("/institutions/<institution_id>/evaluations", methods=["POST"])
@blp.arguments(EvaluationIn)
@blp.response(201, ScoreOut)
@blp.alt_response(404, description="Unknown campaign, or (for a notice) unknown institution")
@blp.alt_response(422, description="A notice without respond_by and no working-day calendar to count its due date")
@requires(FEDERATION_ADMIN)
def evaluate(body, institution_id):
    """Evaluate and keep the score; below the threshold the institution is notified (`institution.notified`)."""
    with unit_of_work() as uow:
        with audited(uow, "evaluated", "institution_score", f"{institution_id}/{body['campaign_id']}"):
            evaluated = scoring.evaluate(
                uow, current_identity(), str(body["campaign_id"]), institution_id, body.get("respond_by")
            )
        uow.commit()
    return evaluated


@blp.route("/scores", methods=["GET"])
@blp.arguments(SCORES_QUERY, location="query")
@blp.response(200, ScoreOut(many=True), description="JSON, or an .xlsx / .csv download with `format`")
@requires(FEDERATION_ADMIN, AUDITOR)
def scores(query):
    """The report: every institution's score and criteria in a campaign."""
    campaign_id = str(query["campaign_id"])
    with unit_of_work() as uow:
        institutions = [{"institution_id": i} for i in scoring.institutions_of(uow.session, campaign_id)]
        if query["format"] == "json":  # a page of institutions, each one's report computed
            page, headers = page_in_memory(institutions, query, id_key="institution_id")
            return [scoring.report(uow.session, campaign_id, i["institution_id"]) for i in page], headers
        found = [scoring.report(uow.session, campaign_id, i["institution_id"]) for i in institutions]
    return export(scoring.report_rows(found), REPORT_COLUMNS, query["format"], f"institution-scores-{campaign_id}")


@blp.route("/institutions/<institution_id>/disqualification", methods=["POST"])
@blp.arguments(SanctionIn)
@blp.response(201, DecisionOut)
@blp.alt_response(409, description="Already disqualified")
@requires(FEDERATION_ADMIN)
def disqualify(body, institution_id):
    """Disqualify an institution (取消资格): it takes no new nominations, registrations, classes or plans at once
    (enrollment hears `institution.disqualified`)."""
    return _sanction(body, institution_id, disqualify=True)


@blp.route("/institutions/<institution_id>/reinstatement", methods=["POST"])
@blp.arguments(SanctionIn)
@blp.response(201, DecisionOut)
@blp.alt_response(409, description="Not disqualified")
@requires(FEDERATION_ADMIN)
def reinstate(body, institution_id):
    """Reinstate a disqualified institution; announces `institution.reinstated`."""
    return _sanction(body, institution_id, disqualify=False)


def _sanction(body, institution_id: str, disqualify: bool):
    with unit_of_work() as uow:
        with audited(
            uow,
            "disqualified" if disqualify else "reinstated",
            "institution",
            institution_id,
            reason=body["reason"].strip(),
        ):
            campaign_id = str(body["campaign_id"]) if body.get("campaign_id") else None
            decision = scoring.sanction(
                uow, current_identity(), institution_id, disqualify, body["reason"].strip(), campaign_id
            )
        uow.commit()
    return decision


@blp.route("/institutions/<institution_id>/decisions", methods=["GET"])
@blp.response(200, StandingOut)
@requires(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR)
def decisions(institution_id):
    """The institution's standing and the audit trail of notices, disqualifications and reinstatements."""
    _own_institution(institution_id)
    with unit_of_work() as uow:
        return scoring.decisions(uow.session, institution_id)


@blp.route("/campaigns/<campaign_id>/closeout", methods=["GET"])
@blp.response(200, CloseoutPartOut)
@requires(FEDERATION_ADMIN, AUDITOR)
def closeout_part(campaign_id):
    """Evaluation's part of the close-out (merged by the gateway at /api/campaigns/{campaign_id}/closeout):
    results in; passed, certified per unit and institution; each institution's satisfaction score"""
    with unit_of_work() as uow:
        return closeout.part(uow.session, campaign_id)
