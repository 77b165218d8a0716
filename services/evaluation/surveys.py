"""Use cases of the anonymous evaluation (网络匿名评估): open a survey, issue blind tokens, take answers, results.

Unlinkability, argued. The cryptography is RFC 9474 (`blind.py`): the service signs a
blinded value that is uniformly random whatever the student's token, so neither
the signing request nor anything stored about it can be matched to the token
later presented with an answer. What each table holds:

- `survey_tokens_issued`: (survey, employee, SHA-256 of the blinded value). It
  makes "one token per invited student" a primary key. No time is stored.
- `survey_answers`: (survey, SHA-256 of the token (the prepared message), the
  scores, the free text, the day). No employee, no enrolment, no serial id, no time of day; its
  primary key is a hash, so reading in key order is a random order. The
  answer endpoint is public: it takes no identity, so none can be logged or
  stored with it, and it publishes no event (outbox rows carry timestamps).

Only invited students can answer, once each: an answer needs a valid RSASSA-PSS
signature on its token under the survey's key (one-more unforgeable: n blind
signatures never yield n+1 signed tokens), a signature is only given to a student with an active enrolment at that
institution in that campaign, once (the primary key above), and the token's
hash is the answers' primary key, so a token answers once.

Linkage that remains, and what limits it:
- Timing: a student who answers seconds after fetching their token could be
  matched by someone watching both requests live or in web-server/gateway
  access logs with the client's address. Mitigations: answers keep only the
  day; the portal should fetch the token when the invitation is first shown
  and send the answer later, without credentials; access logs carry route
  templates only (never the survey token). Physical row order in PostgreSQL
  (and its WAL) still reflects insertion order to a database superuser; with
  many students answering the same day that order reveals little, and running
  `CLUSTER survey_answers USING survey_answers_pkey` after the survey closes
  rewrites the rows in hash order.
- Small groups: results (including free text) are shown only for at least
  `MIN_GROUP` answers; free text a student writes can of course name them.
- Key tagging: a dishonest server could give each student a different key to
  tag them. There is one key per survey, published (SPKI PEM) with its fingerprint
  at a public endpoint: clients (and anyone) can compare it.

Surveys opened before RFC 9474 (a home-made RSA full-domain hash) were migrated
(evaluation_0007): their keys are kept, encrypted, and serve RFC 9474 from then on.
A token issued under the old scheme and not yet used cannot be finalised under the
new one; an answer in the old format is refused with `evaluation_token_scheme_retired`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError

from servicekit.clock import china_today
from servicekit.db import upsert
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Conflict, Invalid, NotFound

from . import blind
from .models import Campaign, Enrolment, Institution, Survey, SurveyAnswer, SurveyTokenIssued
from .problems import ALREADY_ANSWERED, BAD_TOKEN, NOT_INVITED, SIGNING_FAILED, SURVEY_CLOSED, TOKEN_ALREADY_ISSUED
from .rules import ACTIVE, QUESTIONS, summarise_answers

log = logging.getLogger(__name__)


def describe(survey: Survey, token_issued: bool | None = None) -> dict:
    described = {
        "survey_id": survey.survey_id,
        "campaign_id": survey.campaign_id,
        "institution_id": survey.institution_id,
        "closes_on": survey.closes_on,
        "questions": list(QUESTIONS),
        "public_key": {
            "variant": blind.VARIANT,
            "pem": survey.public_key_pem,
            "modulus_bits": blind.modulus_length(survey.public_key_pem) * 8,
            "fingerprint": blind.fingerprint(survey.public_key_pem),
        },
    }
    if token_issued is not None:
        described["token_issued"] = token_issued
    return described


def open_survey(uow, identity: Identity, campaign_id: str, institution_id: str, closes_on: date, kek: bytes) -> dict:
    """`kek`: the survey key-encryption key the survey's private key is stored under."""
    if uow.session.get(Campaign, campaign_id) is None or uow.session.get(Institution, institution_id) is None:
        raise NotFound("Unknown campaign or institution (not yet announced to evaluation).")
    key = blind.generate_key()
    survey = Survey(
        survey_id=str(uuid.uuid4()),
        campaign_id=campaign_id,
        institution_id=institution_id,
        closes_on=closes_on,
        public_key_pem=blind.spki_pem(key),
        private_key_pem=blind.encrypted_pem(key, kek),
        opened_by=identity.subject,
    )
    uow.session.add(survey)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict("This campaign already has a survey for this institution.") from None
    return describe(survey)


def public_survey(session, survey_id: str) -> dict:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("No such survey.")
    return describe(survey)


def _invited(employee_id: str):
    return exists().where(
        Enrolment.employee_id == employee_id,
        Enrolment.campaign_id == Survey.campaign_id,
        Enrolment.institution_id == Survey.institution_id,
        Enrolment.status.in_(ACTIVE),
    )


def surveys_query(session, identity: Identity) -> tuple[Select, Callable[[list], list[dict]]]:
    """The surveys the caller sees, and how each is shown (a student's with whether the token was issued)."""
    query = select(Survey)
    if identity.role == "employee":
        issued = set(
            session.scalars(
                select(SurveyTokenIssued.survey_id).where(SurveyTokenIssued.employee_id == identity.employee_id)
            )
        )
        return query.where(_invited(identity.employee_id)), lambda rows: [
            describe(s, s.survey_id in issued) for s in rows
        ]
    if not identity.is_federation:
        query = query.where(Survey.institution_id == identity.institution_id)
    return query, lambda rows: [describe(s) for s in rows]


def _survey(session, survey_id: str, today: date) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("No such survey.")
    if today > survey.closes_on:
        raise SURVEY_CLOSED(_("The survey closed on {closes_on}.").format(closes_on=survey.closes_on.isoformat()))
    return survey


def sign_token(uow, identity: Identity, survey_id: str, blinded_msg: bytes, kek: bytes) -> bytes:
    """RFC 9474 BlindSign of the student's blinded token: once per student and survey."""
    session = uow.session
    survey = _survey(session, survey_id, china_today())
    if not session.scalar(select(_invited(identity.employee_id)).where(Survey.survey_id == survey_id)):
        raise NOT_INVITED("Only students enrolled at this institution in this campaign are invited.")
    size = blind.modulus_length(survey.public_key_pem)
    if len(blinded_msg) != size:
        raise Invalid(
            errors={
                "blinded_msg": [_("Must be {size} bytes ({digits} hex digits).").format(size=size, digits=2 * size)]
            },
        )
    digest = hashlib.sha256(blinded_msg).hexdigest()
    claimed = session.execute(
        upsert(session.bind, SurveyTokenIssued)
        .values(survey_id=survey_id, employee_id=identity.employee_id, blinded_sha256=digest)
        .on_conflict_do_nothing()
        .returning(SurveyTokenIssued.employee_id)
    ).first()
    if claimed is None:
        earlier = session.get(SurveyTokenIssued, (survey_id, identity.employee_id))
        if earlier.blinded_sha256 != digest:  # the same request again is a lost reply, answered again
            raise TOKEN_ALREADY_ISSUED("Each student gets one token per survey.")
    try:
        return blind.blind_sign(blind.private_key(survey.private_key_pem, kek), blinded_msg)
    except ValueError:
        raise Invalid(errors={"blinded_msg": [_("Out of range for this survey's key (not below n).")]}) from None
    except blind.SigningFailure:
        log.error("blind signature failed its self-check; nothing answered", extra={"survey_id": survey_id})
        raise SIGNING_FAILED(retry_after=1) from None


def answer(uow, survey_id: str, input_msg: bytes, sig: bytes, scores: dict, comment: str | None) -> None:
    """Record an answer from whoever holds a signed token; no identity is asked for, none is stored."""
    session = uow.session
    today = china_today()
    survey = _survey(session, survey_id, today)
    if not blind.verify(survey.public_key_pem, input_msg, sig):
        raise BAD_TOKEN("The signature does not match the token for this survey.")
    stored = session.execute(
        upsert(session.bind, SurveyAnswer)
        .values(
            survey_id=survey_id,
            token_sha256=hashlib.sha256(input_msg).hexdigest(),
            comment=(comment or "").strip() or None,
            answered_on=today,
            **{q: scores[q] for q in QUESTIONS},
        )
        .on_conflict_do_nothing()
        .returning(SurveyAnswer.token_sha256)
    ).first()
    if stored is None:
        raise ALREADY_ANSWERED("Each token answers once.")


def results(session, identity: Identity, survey_id: str) -> dict:
    survey = session.get(Survey, survey_id)
    if survey is None or not (identity.is_federation or survey.institution_id == identity.institution_id):
        raise NotFound("No such survey.")
    answers = session.scalars(
        select(SurveyAnswer).where(SurveyAnswer.survey_id == survey_id).order_by(SurveyAnswer.token_sha256)
    ).all()
    summary = summarise_answers([{q: getattr(a, q) for q in QUESTIONS} for a in answers])
    base = {"survey_id": survey_id, "campaign_id": survey.campaign_id, "institution_id": survey.institution_id}
    if summary is None:
        return {**base, "withheld": True}
    return {**base, "withheld": False, **summary, "comments": [a.comment for a in answers if a.comment]}
