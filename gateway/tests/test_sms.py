"""Tencent Cloud SMS as the activation codes' provider, against a local stand-in of its API that checks each
request's TC3-HMAC-SHA256 signature the way Tencent Cloud documents it (computed here on its own, from the request
as received); the phone and the code never reach the log; a provider that fails leaves the code issued, and the
officer is told it was not sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from flask import Flask, jsonify, request

from demo.data import person
from gateway import sms
from gateway.config import load_settings
from servicekit import pseudonym
from servicekit.clock import china_today
from servicekit.resident_id import normalise_resident_id

from .conftest import bearer, gateway_app
from .upstream import Server

SECRET_ID, SECRET_KEY = "AKIDtest0123456789", "test-secret-key-0123456789"
TENCENT = {
    "GATEWAY_SMS_PROVIDER": "tencent",
    "GATEWAY_SMS_TENCENT_SECRET_ID": SECRET_ID,
    "GATEWAY_SMS_TENCENT_SECRET_KEY": SECRET_KEY,
    "GATEWAY_SMS_TENCENT_APP_ID": "1400000001",
    "GATEWAY_SMS_TENCENT_SIGN_NAME": "广州市总工会",
    "GATEWAY_SMS_TENCENT_TEMPLATE_ID": "2000001",
}
WORKER = person(5)
MESSAGE = sms.Message("激活码 ABCDEFGH23，2026-12-10 前有效", ("ABCDEFGH23", "2026-12-10"))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_authorization(method, path, query, headers, body: bytes, secret_id, secret_key) -> str:
    """Tencent Cloud API 3.0's TC3-HMAC-SHA256, step by step as documented: the canonical request (method, URI,
    query, the signed headers lower-cased, their names, the body's SHA-256), the string to sign (algorithm,
    timestamp, scope of the UTC date, the canonical request's SHA-256), the key derived from "TC3" + secret by
    date, service and "tc3_request", and the Authorization header made of them."""
    timestamp = headers["X-TC-Timestamp"]
    day = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    signed = "content-type;host"
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed.split(";"))
    canonical = f"{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
    scope = f"{day}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), day), "sms"), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed}, Signature={signature}"


def fake_tencent(answer_code: str = "Ok") -> Flask:
    """Tencent Cloud's SMS API as far as SendSms goes: refuses a request whose signature is wrong or stale."""
    app = Flask("fake-tencent-sms")
    app.config["received"] = []

    @app.post("/")
    def send_sms():
        body = request.get_data()
        headers = {"content-type": request.headers.get("Content-Type", ""), "host": request.headers.get("Host", "")}
        headers["X-TC-Timestamp"] = request.headers.get("X-TC-Timestamp", "0")
        wanted = expected_authorization("POST", "/", "", headers, body, SECRET_ID, SECRET_KEY)
        fresh = abs(time.time() - int(headers["X-TC-Timestamp"])) < 300
        if request.headers.get("Authorization") != wanted or not fresh:
            error = {
                "Code": "AuthFailure.SignatureFailure",
                "Message": "The provided credentials could not be validated",
            }
            return jsonify(Response={"Error": error, "RequestId": "r-1"})
        if (request.headers.get("X-TC-Action"), request.headers.get("X-TC-Version")) != ("SendSms", "2021-01-11"):
            return jsonify(Response={"Error": {"Code": "InvalidAction", "Message": "?"}, "RequestId": "r-2"})
        sent = json.loads(body)
        app.config["received"].append({**sent, "region": request.headers.get("X-TC-Region")})
        status = {"SerialNo": "s-1", "PhoneNumber": sent["PhoneNumberSet"][0], "Fee": 1, "Code": answer_code}
        return jsonify(Response={"SendStatusSet": [{**status, "Message": "phone " + sent["PhoneNumberSet"][0]}]})

    return app


@pytest.fixture
def tencent():
    server = Server(fake_tencent())
    yield server
    server.stop()


def settings(endpoint: str, **change) -> sms.TencentSettings:
    env = {**TENCENT, "GATEWAY_SMS_TENCENT_ENDPOINT": endpoint, **change}
    return load_settings(env).auth.sms_tencent


def test_a_message_goes_to_tencent_signed_as_documented(tencent, caplog):
    with caplog.at_level(logging.DEBUG):
        sms.sender("tencent", settings(tencent.url)).send(WORKER["phone"], MESSAGE)
    assert tencent.app.config["received"] == [
        {
            "PhoneNumberSet": [f"+86{WORKER['phone']}"],
            "SmsSdkAppId": "1400000001",
            "SignName": "广州市总工会",
            "TemplateId": "2000001",
            "TemplateParamSet": ["ABCDEFGH23", "2026-12-10"],
            "region": "ap-guangzhou",
        }
    ]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert WORKER["phone"] not in logged and "ABCDEFGH23" not in logged


def test_a_wrong_secret_or_a_refusal_is_not_sent_and_logs_no_personal_data(tencent, caplog):
    with pytest.raises(sms.NotSent) as refused:
        sms.sender("tencent", settings(tencent.url, GATEWAY_SMS_TENCENT_SECRET_KEY="not-the-key")).send(
            WORKER["phone"], MESSAGE
        )
    assert refused.value.reason == "AuthFailure.SignatureFailure"
    limited = Server(fake_tencent("LimitExceeded.PhoneNumberDailyLimit"))
    try:
        with pytest.raises(sms.NotSent) as over:
            sms.sender("tencent", settings(limited.url)).send(WORKER["phone"], MESSAGE)
    finally:
        limited.stop()
    assert over.value.reason == "LimitExceeded.PhoneNumberDailyLimit"  # the provider's code, not its message
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert WORKER["phone"] not in str(over.value) and WORKER["phone"] not in logged


def test_a_provider_down_or_hanging_is_not_sent(blackhole):
    closed = Server(Flask("gone"))
    closed.stop()
    for endpoint in (closed.url, blackhole.url):
        started = time.monotonic()
        with pytest.raises(sms.NotSent) as down:
            sms.TencentSender(replace(settings(endpoint), timeout=0.5)).send(WORKER["phone"], MESSAGE)
        assert down.value.reason == "unreachable" and time.monotonic() - started < 5


def test_tencent_needs_its_credentials_from_the_environment_or_secret_files(tmp_path):
    with pytest.raises(ValueError, match="GATEWAY_SMS_TENCENT_SECRET_KEY"):
        load_settings({k: v for k, v in TENCENT.items() if k != "GATEWAY_SMS_TENCENT_SECRET_KEY"})
    with pytest.raises(ValueError, match="GATEWAY_SMS_PROVIDER"):
        load_settings({"GATEWAY_SMS_PROVIDER": "pigeon"})
    secret = tmp_path / "sms-secret-key"
    secret.write_text(SECRET_KEY + "\n")
    env = {k: v for k, v in TENCENT.items() if k != "GATEWAY_SMS_TENCENT_SECRET_KEY"}
    loaded = load_settings({**env, "GATEWAY_SMS_TENCENT_SECRET_KEY_FILE": str(secret)}).auth
    assert loaded.sms_provider == "tencent" and loaded.sms_tencent.secret_key == SECRET_KEY
    assert SECRET_KEY not in repr(loaded)
    with pytest.raises(ValueError, match="_FILE"):
        load_settings({**env, "GATEWAY_SMS_TENCENT_SECRET_KEY_FILE": str(tmp_path / "missing")})
    assert load_settings({}).auth.sms_tencent is None  # locally: the log


# ---------------------------------------------------------------- through the gateway's activation routes


def fake_enrollment(employee_id: str) -> Flask:
    """Enrollment's answer to the gateway's read of the nomination (its identity header is not checked here)."""
    app = Flask("fake-enrollment")

    @app.get("/enrolments/<enrolment_id>")
    def nomination(enrolment_id):
        return jsonify(enrolment_id=enrolment_id, employee_id=employee_id, phone=WORKER["phone"])

    return app


def test_provider_down_the_code_is_still_issued_the_officer_told_and_it_works(sqlite_runtime, tencent, caplog):
    key = pseudonym.employee_id_key(sqlite_runtime.settings.var_dir)  # the gateway's: the same employee ids
    employee = pseudonym.employee_id(normalise_resident_id(WORKER["resident_id"], china_today()), key)
    enrollment = Server(fake_enrollment(employee))
    down = Server(Flask("down"))
    down.stop()
    try:
        gateway = gateway_app(
            sqlite_runtime, {**TENCENT, "GATEWAY_SMS_TENCENT_ENDPOINT": down.url}, enrollment=enrollment.url
        )
        client = gateway.test_client()
        officer = bearer(
            gateway, "grassroots_officer", subject="union-1", unit_id="GZ-TH", grassroots_union_id="GZ-TH-G1"
        )
        # The gateway's logging replaced the root's handlers: this test's capture listens on the logger itself.
        logging.getLogger("gateway.activation").addHandler(caplog.handler)
        with caplog.at_level(logging.INFO, logger="gateway.activation"):
            issued = client.post("/auth/activation-codes", json={"enrolment_id": "e-1"}, headers=officer)
        assert issued.status_code == 201, issued.get_json()
        answer = issued.get_json()
        assert answer["sms_sent"] is False and answer["phone"] == WORKER["phone"][:3] + "****" + WORKER["phone"][-4:]
        assert [r.reason for r in caplog.records if r.getMessage() == "activation code not sent by SMS"] == [
            "unreachable"
        ]
        logged = " ".join(str(vars(record)) for record in caplog.records)
        assert WORKER["phone"] not in logged and answer["code"] not in logged

        activated = client.post(
            "/auth/activation",
            json={
                "resident_id": WORKER["resident_id"],
                "code": answer["code"],
                "username": "worker5",
                "password": "my own password 5",
            },
        )
        assert activated.status_code == 201 and activated.get_json() == {"username": "worker5", "created": True}

        # The provider back: the officer asks again, a new code goes out by SMS (the earlier one is used up anyway).
        up = gateway_app(
            sqlite_runtime, {**TENCENT, "GATEWAY_SMS_TENCENT_ENDPOINT": tencent.url}, enrollment=enrollment.url
        )
        again = up.test_client().post(
            "/auth/activation-codes",
            json={"enrolment_id": "e-1"},
            headers=bearer(
                up, "grassroots_officer", subject="union-1", unit_id="GZ-TH", grassroots_union_id="GZ-TH-G1"
            ),
        )
        assert again.status_code == 201 and again.get_json()["sms_sent"] is True
        assert tencent.app.config["received"][-1]["TemplateParamSet"][0] == again.get_json()["code"]
    finally:
        logging.getLogger("gateway.activation").removeHandler(caplog.handler)
        enrollment.stop()
