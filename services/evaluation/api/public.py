"""Endpoints that need no identity (the gateway serves them under /api/evaluation/public/...)."""

from flask_smorest import Blueprint

from servicekit import unit_of_work

from .. import certificates, surveys
from ..schemas import AnswerIn, SurveyOut, VerificationOut, VerifyQuery

public = Blueprint(
    "public",
    __name__,
    url_prefix="/public",
    description="Certificate verification and anonymous survey answers: no identity needed",
)


@public.route("/certificates/verification", methods=["GET"])
@public.arguments(VerifyQuery, location="query")
@public.response(200, VerificationOut)
@public.alt_response(404, description="No certificate with this number at this institution")
def verify(query):
    """Check a certificate: valid or revoked, the holder's masked name, programme, institution and dates."""
    with unit_of_work() as uow:
        return certificates.verify(uow.session, query["institution_id"].strip(), query["number"].strip())


@public.route("/surveys/<uuid:survey_id>", methods=["GET"])
@public.response(200, SurveyOut)
@public.alt_response(404, description="No such survey")
def survey(survey_id):
    """A survey's questions and public key (SPKI PEM): every student's client can check it got the same key."""
    with unit_of_work() as uow:
        return surveys.public_survey(uow.session, str(survey_id))


@public.route("/surveys/<uuid:survey_id>/answers", methods=["POST"])
@public.arguments(AnswerIn)
@public.response(201, description="Recorded; nothing identifies who answered")
@public.alt_response(403, description="The token's signature is not valid for this survey")
@public.alt_response(409, description="The token has already answered, or the survey is closed")
@public.alt_response(410, description="A token of the signature scheme used before RFC 9474")
def answer(body, survey_id):
    """Answer a survey with a token (RFC 9474 input_msg) and its finalised signature; send it without any
    credentials."""
    with unit_of_work() as uow:
        surveys.answer(uow, str(survey_id), body.pop("input_msg"), body.pop("sig"), body, body.get("comment"))
        uow.commit()
    return None
