import functools
from pathlib import Path

from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.app import runtime
from servicekit.audit import audited
from servicekit.identity import AUDITOR, EMPLOYEE, FEDERATION_ADMIN, INSTITUTION_OPERATOR, current_identity, requires

from .. import blind, surveys
from ..listing import SURVEYS
from ..schemas import BlindedIn, BlindSignatureOut, SurveyIn, SurveyOut, SurveyResultsOut


@functools.lru_cache(maxsize=4)
def _key_encryption_key(var_dir: Path) -> bytes:
    return blind.key_encryption_key(var_dir)


def key_encryption_key() -> bytes:
    """The survey key-encryption key, read once per process."""
    return _key_encryption_key(runtime().settings.var_dir)


blp = Blueprint(
    "surveys",
    __name__,
    url_prefix="/surveys",
    description="Anonymous evaluation by students (网络匿名评估): blind-signed one-time tokens",
)


@blp.route("", methods=["POST"])
@blp.arguments(SurveyIn)
@blp.response(201, SurveyOut)
@blp.alt_response(404, description="Unknown campaign or institution")
@blp.alt_response(409, description="The campaign already has a survey for this institution")
@requires(FEDERATION_ADMIN)
def open_survey(body):
    """Open the survey of one campaign at one institution (makes its RSA key, RFC 9474)."""
    with unit_of_work() as uow:
        with audited(uow, "opened", "survey") as decision:
            survey = surveys.open_survey(
                uow,
                current_identity(),
                str(body["campaign_id"]),
                body["institution_id"].strip(),
                body["closes_on"],
                key_encryption_key(),
            )
            decision.entity_id = survey.get("survey_id") if isinstance(survey, dict) else None
        uow.commit()
    return survey


@blp.route("", methods=["GET"])
@blp.arguments(SURVEYS.query, location="query")
@blp.response(200, SurveyOut(many=True))
@requires(EMPLOYEE, INSTITUTION_OPERATOR, FEDERATION_ADMIN, AUDITOR)
def list_surveys(args):
    """Surveys: a student's invitations (with whether the token was issued), an institution's, or all."""
    with unit_of_work() as uow:
        query, view = surveys.surveys_query(uow.session, current_identity())
        return SURVEYS.page(uow.session, query, args, view=view)


@blp.route("/<uuid:survey_id>/tokens", methods=["POST"])
@blp.arguments(BlindedIn)
@blp.response(201, BlindSignatureOut)
@blp.alt_response(403, description="Not invited")
@blp.alt_response(409, description="Token already issued for another blinded value, or the survey is closed")
@blp.alt_response(422, description="blinded_msg not modulus_len bytes, or not below the modulus")
@requires(EMPLOYEE)
def sign_token(body, survey_id):
    """RFC 9474 BlindSign of the student's blinded token: once per student and survey (the same blinded_msg
    again is answered again); the service never sees the token."""
    with unit_of_work() as uow:
        blind_sig = surveys.sign_token(
            uow, current_identity(), str(survey_id), body["blinded_msg"], key_encryption_key()
        )
        uow.commit()
    return {"blind_sig": blind_sig.hex()}


@blp.route("/<uuid:survey_id>/results", methods=["GET"])
@blp.response(200, SurveyResultsOut)
@blp.alt_response(404, description="No such survey of the caller's institution")
@requires(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR)
def results(survey_id):
    """Averages, distribution and comments: only for at least 5 answers."""
    with unit_of_work() as uow:
        return surveys.results(uow.session, current_identity(), str(survey_id))
