"""Text messages (短信) to employees' phones: one `Sender` interface, the provider chosen by GATEWAY_SMS_PROVIDER.

- `log` (the default): local and test runs; the message goes to the log (logger gateway.activation), phone masked.
- `tencent`: Tencent Cloud SMS, API 3.0 action SendSms (version 2021-01-11), each request signed with
  TC3-HMAC-SHA256 as Tencent Cloud documents it (its official SDKs compute the same): a mainland provider, so the
  phone numbers stay in China. Mainland SMS carries only an approved template, so the message goes as the
  template's parameters (the code, the time it expires), not as free text.

PIPL: neither the phone number nor the code reaches the log; a failure logs the provider's error code only. A
message not sent raises `NotSent`: the caller still has what it was sending (the officer sees the code and that
it was not sent, and asks again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import requests

from servicekit.personal import mask_phone

log = logging.getLogger("gateway.activation")


@dataclass(frozen=True)
class Message:
    text: str  # the whole message, as the log writes it
    params: tuple[str, ...]  # what a provider's approved template is filled with, in its order


class NotSent(Exception):
    """The provider did not take the message; `reason` is its error code (never the phone or the text)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    def send(self, phone: str, message: Message) -> None: ...


class LogSender:
    """Local and test runs: the message is written to the log, the phone masked."""

    def send(self, phone: str, message: Message) -> None:
        log.info("sms", extra={"phone": mask_phone(phone), "text": message.text})


# --- Tencent Cloud SMS -----------------------------------------------------------------------------------------

TENCENT_SERVICE, TENCENT_VERSION, TC3 = "sms", "2021-01-11", "TC3-HMAC-SHA256"
JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class TencentSettings:
    secret_id: str
    secret_key: str = field(repr=False)
    app_id: str  # SmsSdkAppId: the SMS application of the console
    sign_name: str  # the approved signature (签名), e.g. 广州市总工会
    template_id: str  # the approved template: {1} the code, {2} the time it expires
    region: str = "ap-guangzhou"
    endpoint: str = "https://sms.tencentcloudapi.com"
    timeout: float = 5.0  # seconds: the officer waits for it


def tc3_signature(secret_key: str, *, host: str, body: bytes, timestamp: int, content_type: str = JSON) -> str:
    """TC3-HMAC-SHA256 of a POST to / with a JSON body, signing the content-type and host headers: the canonical
    request's SHA-256 in the string to sign, under a key derived from the secret by the UTC date, the service and
    "tc3_request"."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        (
            "POST",
            "/",
            "",
            f"content-type:{content_type.lower()}\nhost:{host.lower()}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        )
    )
    to_sign = "\n".join(
        (TC3, str(timestamp), f"{day}/{TENCENT_SERVICE}/tc3_request", hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = ("TC3" + secret_key).encode()
    for part in (day, TENCENT_SERVICE, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class TencentSender:
    def __init__(self, settings: TencentSettings):
        self.settings = settings
        self.host = urlsplit(settings.endpoint).netloc

    def send(self, phone: str, message: Message) -> None:
        s = self.settings
        body = json.dumps(
            {
                "PhoneNumberSet": [phone if phone.startswith("+") else f"+86{phone}"],
                "SmsSdkAppId": s.app_id,
                "SignName": s.sign_name,
                "TemplateId": s.template_id,
                "TemplateParamSet": list(message.params),
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(time.time())
        day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        signature = tc3_signature(s.secret_key, host=self.host, body=body, timestamp=timestamp)
        headers = {
            "Content-Type": JSON,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": TENCENT_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": s.region,
            "Authorization": f"{TC3} Credential={s.secret_id}/{day}/{TENCENT_SERVICE}/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}",
        }
        try:
            response = requests.post(s.endpoint.rstrip("/") + "/", data=body, headers=headers, timeout=s.timeout)
        except requests.RequestException:
            raise NotSent("unreachable") from None
        if response.status_code != 200:
            raise NotSent(f"http_{response.status_code}")
        try:
            answer = response.json()["Response"]
            if "Error" in answer:
                raise NotSent(str(answer["Error"]["Code"]))
            status = answer["SendStatusSet"][0]["Code"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise NotSent("unreadable_answer") from None
        if status != "Ok":
            raise NotSent(str(status))


# --- configuration ---------------------------------------------------------------------------------------------

PROVIDERS = ("log", "tencent")
TENCENT_ENV = {  # setting -> variable (each may instead be read from the file named by <variable>_FILE)
    "secret_id": "GATEWAY_SMS_TENCENT_SECRET_ID",
    "secret_key": "GATEWAY_SMS_TENCENT_SECRET_KEY",
    "app_id": "GATEWAY_SMS_TENCENT_APP_ID",
    "sign_name": "GATEWAY_SMS_TENCENT_SIGN_NAME",
    "template_id": "GATEWAY_SMS_TENCENT_TEMPLATE_ID",
}


def _value(environ, name: str) -> str:
    """`name`'s value, or the content of the file `name`_FILE names (a container secret)."""
    path = environ.get(f"{name}_FILE", "").strip()
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                return file.read().strip()
        except OSError as exc:
            raise ValueError(f"{name}_FILE: cannot read {path} ({exc.strerror})") from None
    return environ.get(name, "").strip()


def load_tencent(environ=os.environ) -> TencentSettings:
    """Every credential required when the provider is tencent: a gateway that cannot send does not start."""
    values = {key: _value(environ, name) for key, name in TENCENT_ENV.items()}
    missing = [TENCENT_ENV[key] for key, value in values.items() if not value]
    if missing:
        raise ValueError(f"GATEWAY_SMS_PROVIDER=tencent needs {', '.join(missing)} (or each as <name>_FILE)")
    endpoint = environ.get("GATEWAY_SMS_TENCENT_ENDPOINT", "").strip() or TencentSettings.endpoint
    if urlsplit(endpoint).scheme not in ("https", "http") or not urlsplit(endpoint).netloc:
        raise ValueError("GATEWAY_SMS_TENCENT_ENDPOINT: an http(s) URL")
    return TencentSettings(
        **values, region=environ.get("GATEWAY_SMS_TENCENT_REGION", "").strip() or "ap-guangzhou", endpoint=endpoint
    )


def sender(provider: str, tencent: TencentSettings | None = None) -> Sender:
    if provider == "tencent":
        if tencent is None:
            raise ValueError("GATEWAY_SMS_PROVIDER=tencent needs its settings")
        return TencentSender(tencent)
    return LogSender()
