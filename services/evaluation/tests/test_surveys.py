"""Anonymous evaluation: blind-signed tokens (RFC 9474), one answer per invited student, nothing joins answers to
students. The students' client is tests/support/rfc9474.py, written from the RFC without the service's code."""

import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import inspect, select, text

from services.evaluation.models import Survey, SurveyAnswer, SurveyTokenIssued
from tests.support import rfc9474

from .helpers import CAMPAIGN

pytestmark = pytest.mark.servers


class Student:
    """A student's client: keeps its token and blinding inverse to itself, as a portal would in the browser."""

    def __init__(self, evaluation, employee_id: str, survey: dict):
        self.evaluation, self.employee_id, self.survey = evaluation, employee_id, survey
        self.key = rfc9474.public_key(survey["public_key"]["pem"])
        self.token = rfc9474.prepare(secrets.token_bytes(32))

    def fetch_token(self):
        blinded_msg, self.inv = rfc9474.blind(self.key, self.token)
        self.blinded = blinded_msg.hex()
        return self.request_signature(self.blinded)

    def request_signature(self, blinded_hex: str):
        response = self.evaluation.client.post(
            f"/surveys/{self.survey['survey_id']}/tokens",
            headers=self.evaluation.employee(self.employee_id),
            json={"blinded_msg": blinded_hex},
        )
        if response.status_code == 201:
            blind_sig = bytes.fromhex(response.get_json()["blind_sig"])
            self.signature = rfc9474.finalize(self.key, self.token, blind_sig, self.inv)
        return response

    def answer(self, teaching=4, service=4, organisation=5, comment=None, token=None):
        return self.evaluation.client.post(
            f"/public/surveys/{self.survey['survey_id']}/answers",
            json={
                "input_msg": (token or self.token).hex(),
                "sig": self.signature.hex(),
                "teaching": teaching,
                "service": service,
                "organisation": organisation,
                "comment": comment,
            },
        )


def open_survey(evaluation, institution="GZ-ZGJS", closes_on="2099-12-31"):
    evaluation.register(institution)
    response = evaluation.client.post(
        "/surveys",
        headers=evaluation.admin(),
        json={"campaign_id": CAMPAIGN, "institution_id": institution, "closes_on": closes_on},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def invitation(evaluation, employee_id):
    [survey] = evaluation.client.get("/surveys", headers=evaluation.employee(employee_id)).get_json()
    return survey


def test_an_invited_student_answers_once_and_nobody_else_can(evaluation):
    survey = open_survey(evaluation)
    duplicate = evaluation.client.post(
        "/surveys",
        headers=evaluation.admin(),
        json={"campaign_id": CAMPAIGN, "institution_id": "GZ-ZGJS", "closes_on": "2099-12-31"},
    )
    assert duplicate.status_code == 409
    invited = evaluation.enrol()
    outsider = evaluation.enrol("GZ-FCG")
    assert evaluation.client.get("/surveys", headers=evaluation.employee(outsider["employee_id"])).get_json() == []
    assert invitation(evaluation, invited["employee_id"])["token_issued"] is False

    student = Student(evaluation, invited["employee_id"], invitation(evaluation, invited["employee_id"]))
    assert student.fetch_token().status_code == 201
    assert student.request_signature(student.blinded).status_code == 201  # a lost reply, asked again
    second = Student(evaluation, invited["employee_id"], survey)
    refused = second.fetch_token()
    assert refused.status_code == 409 and refused.get_json()["code"] == "evaluation_token_already_issued"
    assert invitation(evaluation, invited["employee_id"])["token_issued"] is True

    stranger = Student(evaluation, outsider["employee_id"], survey)
    assert stranger.fetch_token().get_json()["code"] == "evaluation_not_invited"

    assert student.answer(comment="老师讲得清楚").status_code == 201  # no identity header at all
    again = student.answer(teaching=1)
    assert again.status_code == 409 and again.get_json()["code"] == "evaluation_already_answered"
    forged = student.answer(token=rfc9474.prepare(secrets.token_bytes(32)))  # a made-up token, this signature
    assert forged.status_code == 403 and forged.get_json()["code"] == "evaluation_bad_token"
    malformed = evaluation.client.post(
        f"/public/surveys/{survey['survey_id']}/answers",
        json={"input_msg": "abc", "sig": "zz", "teaching": 6, "service": 1, "organisation": 1},
    )
    assert malformed.status_code == 422
    assert set(malformed.get_json()["errors"]) == {"input_msg", "sig", "teaching"}
    public = evaluation.client.get(f"/public/surveys/{survey['survey_id']}").get_json()
    assert public["public_key"] == survey["public_key"]


def test_a_finalised_token_is_an_ordinary_rsassa_pss_signature_under_the_published_key(evaluation):
    survey = open_survey(evaluation)
    key = survey["public_key"]
    assert (key["variant"], key["modulus_bits"]) == ("RSABSSA-SHA384-PSS-Randomized", 3072)
    assert key["pem"].startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    student = Student(evaluation, evaluation.enrol()["employee_id"], survey)
    assert student.fetch_token().status_code == 201
    # any library verifies it: RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt, over 32-byte prefix || message
    student.key.verify(
        student.signature, student.token, padding.PSS(padding.MGF1(hashes.SHA384()), 48), hashes.SHA384()
    )
    assert len(student.token) == 64 and student.answer().status_code == 201

    # the private key is at rest only encrypted under the survey key-encryption key; nothing else holds it
    with evaluation.stack.runtime.engine.connect() as db:
        stored = db.execute(select(Survey.private_key_pem, Survey.public_key_pem)).one()
    assert stored.private_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stored.public_key_pem == key["pem"]
    assert {c["name"] for c in inspect(evaluation.stack.runtime.engine).get_columns("surveys")} == {
        "survey_id",
        "campaign_id",
        "institution_id",
        "closes_on",
        "public_key_pem",
        "private_key_pem",
        "opened_by",
    }


def test_a_blinded_message_must_fit_the_key_and_an_old_style_answer_is_refused_clearly(evaluation):
    survey = open_survey(evaluation)
    student = Student(evaluation, evaluation.enrol()["employee_id"], survey)
    n = student.key.public_numbers().n
    for wrong in ("ab" * 383, n.to_bytes(384, "big").hex()):  # a byte short; not below the modulus
        refused = student.request_signature(wrong)
        assert (refused.status_code, list(refused.get_json()["errors"])) == (422, ["blinded_msg"])
    assert student.fetch_token().status_code == 201  # a refused request did not use up the student's token
    old_style = evaluation.client.post(
        f"/public/surveys/{survey['survey_id']}/answers",
        json={"token": "ab" * 32, "signature": "cd" * 256, "teaching": 4, "service": 4, "organisation": 4},
    )
    assert (old_style.status_code, old_style.get_json()["code"]) == (410, "evaluation_token_scheme_retired")


def test_answers_cannot_be_joined_to_students(evaluation):
    survey = open_survey(evaluation)
    students = [evaluation.enrol() for _ in range(3)]
    clients = [Student(evaluation, s["employee_id"], survey) for s in students]
    for client in clients:
        client.fetch_token()
        assert client.answer().status_code == 201

    engine = evaluation.stack.runtime.engine
    columns = {c["name"] for c in inspect(engine).get_columns("survey_answers")}
    assert columns == {"survey_id", "token_sha256", "teaching", "service", "organisation", "comment", "answered_on"}
    with engine.connect() as db:
        answers = db.execute(select(SurveyAnswer)).all()
        issued = db.execute(select(SurveyTokenIssued)).all()
        # the only per-student value the signing step kept is the hash of a uniformly random blinded value
        assert {row.blinded_sha256 for row in issued}.isdisjoint({row.token_sha256 for row in answers})
        stored = " ".join(str(value) for row in answers for value in row)
        assert not any(s["employee_id"] in stored or s["enrolment_id"] in stored for s in students)
        assert db.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0  # no timestamped event either


def test_results_only_for_groups_of_at_least_five(evaluation):
    survey = open_survey(evaluation)
    clients = [Student(evaluation, evaluation.enrol()["employee_id"], survey) for _ in range(5)]
    for n, client in enumerate(clients[:4], start=1):
        client.fetch_token()
        client.answer(teaching=n, service=5, organisation=3, comment=f"意见{n}")
    url = f"/surveys/{survey['survey_id']}/results"
    withheld = evaluation.client.get(url, headers=evaluation.admin()).get_json()
    assert withheld["withheld"] is True and "averages" not in withheld and "comments" not in withheld
    clients[4].fetch_token()
    clients[4].answer(teaching=5, service=4, organisation=3)
    operator = evaluation.stack.as_caller("institution_operator", institution_id="GZ-ZGJS")
    shown = evaluation.client.get(url, headers=operator).get_json()
    assert (shown["answers"], shown["averages"], shown["overall"]) == (
        5,
        {"teaching": "3.00", "service": "4.80", "organisation": "3.00"},
        "3.60",
    )
    assert sorted(shown["comments"]) == ["意见1", "意见2", "意见3", "意见4"]
    other = evaluation.client.get(
        url, headers=evaluation.stack.as_caller("institution_operator", institution_id="GZ-FCG")
    )
    assert other.status_code == 404


def test_a_closed_survey_takes_no_more_tokens(evaluation):
    survey = open_survey(evaluation, closes_on="2014-06-30")
    student = Student(evaluation, evaluation.enrol()["employee_id"], survey)
    assert student.fetch_token().get_json()["code"] == "evaluation_survey_closed"
