"""Surveys keyed the old way (home-made RSA full-domain hash, private exponent in clear) keep working after the
upgrade to RFC 9474: their key is moved, encrypted; only tokens of the old scheme are refused, clearly."""

import logging
import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import inspect, text

from servicekit import Runtime
from servicekit.migrations import upgrade
from services.evaluation import blind
from services.evaluation.service import SERVICE
from tests.support.stack import ServiceStack

from .helpers import CAMPAIGN, Evaluation, campaign
from .test_surveys import Student

pytestmark = pytest.mark.servers


def test_a_survey_keyed_the_old_way_is_migrated_and_answers_with_rfc9474(service_env, tmp_path, caplog):
    env = service_env("evaluation")
    before = Runtime(SERVICE)
    upgrade(before, "evaluation_0006")
    old = rsa.generate_private_key(65537, 2048).private_numbers()  # what the old generator made: n, e, d
    survey_id = str(uuid.uuid4())
    with before.engine.begin() as db:
        db.execute(
            text("INSERT INTO surveys VALUES (:id, :campaign, 'GZ-ZGJS', '2099-12-31', :n, :e, :d, 'user-fed-1')"),
            {
                "id": survey_id,
                "campaign": CAMPAIGN,
                "n": format(old.public_numbers.n, "x"),
                "e": old.public_numbers.e,
                "d": format(old.d, "x"),
            },
        )
        for employee in ("emp-early-1", "emp-early-2"):  # two tokens issued under the old scheme
            db.execute(
                text("INSERT INTO survey_tokens_issued VALUES (:id, :employee, :digest)"),
                {"id": survey_id, "employee": employee, "digest": secrets.token_hex(32)},
            )
        db.execute(  # one of them already answered
            text("INSERT INTO survey_answers VALUES (:id, :token, 4, 5, 4, '很好', '2014-05-02')"),
            {"id": survey_id, "token": secrets.token_hex(32)},
        )
    before.engine.dispose()

    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        stack = ServiceStack("services.evaluation", env, tmp_path)  # migrates to the head
    try:
        assert f"survey {survey_id}: key moved to RFC 9474; at most 1 token(s)" in caplog.text
        columns = {c["name"] for c in inspect(stack.runtime.engine).get_columns("surveys")}
        assert {"modulus", "public_exponent", "private_exponent"}.isdisjoint(columns)
        with stack.runtime.engine.connect() as db:
            pem = db.execute(text("SELECT private_key_pem FROM surveys")).scalar_one()
        kek = blind.key_encryption_key(stack.runtime.settings.var_dir)
        assert blind.private_key(pem, kek).private_numbers() == old  # the same key, now encrypted

        evaluation = Evaluation(stack)
        evaluation.deliver("campaign.published", campaign())
        survey = evaluation.client.get(f"/public/surveys/{survey_id}").get_json()
        assert (survey["public_key"]["variant"], survey["public_key"]["modulus_bits"]) == (
            "RSABSSA-SHA384-PSS-Randomized",
            2048,
        )
        student = Student(evaluation, evaluation.enrol()["employee_id"], survey)
        assert student.key.public_numbers() == old.public_numbers
        assert student.fetch_token().status_code == 201
        assert student.answer(comment="迁移后仍可评价").status_code == 201

        early = Student(evaluation, evaluation.enrol(employee_id="emp-early-2")["employee_id"], survey)
        assert early.fetch_token().get_json()["code"] == "evaluation_token_already_issued"
        old_style = evaluation.client.post(
            f"/public/surveys/{survey_id}/answers",
            json={"token": "ab" * 32, "signature": "cd" * 256, "teaching": 4, "service": 4, "organisation": 4},
        )
        assert (old_style.status_code, old_style.get_json()["code"]) == (410, "evaluation_token_scheme_retired")
        with stack.runtime.engine.connect() as db:
            assert db.execute(text("SELECT count(*) FROM survey_answers")).scalar_one() == 2
    finally:
        stack.close()
