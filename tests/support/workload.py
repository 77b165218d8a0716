"""A stream of registrations, payments and exam results through the gateway, as people and institution systems
send them: each caller waits out an outage (503, 502, 504 or a dropped connection: the same request again,
money and result requests with the same Idempotency-Key) and every answer is recorded, so the
test can say which statuses the outage produced (never a 500)."""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import requests

from demo.data import person
from gateway.signatures import signed_headers
from servicekit.resident_id import check_digit

UNAVAILABLE = (502, 503, 504)
PATIENCE = 300.0  # seconds a caller keeps trying one request


def worker(number: int) -> dict:
    """A worker of working age with a resident ID number of their own, for any `number` below 10,000."""
    born = date(1975, 1, 1) + timedelta(days=number)
    first17 = f"440106{born:%Y%m%d}{number % 1000:03d}"
    return {**person(number % 50), "resident_id": first17 + check_digit(first17), "phone": f"139{30000000 + number}"}


class ServerError(AssertionError):
    """A 500: what an outage must never produce."""


@dataclass
class Answers:
    """Every status the stream received, with when and what (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[tuple[float, int, str]] = field(default_factory=list)  # (monotonic time, status or 0, "METHOD path")

    def add(self, status: int, what: str) -> None:
        with self.lock:
            self.seen.append((time.monotonic(), status, what))

    def between(self, start: float, end: float) -> Counter:
        with self.lock:
            return Counter(status for at, status, _ in self.seen if start <= at <= end)

    def first_success_after(self, start: float, methods=("POST",)) -> float | None:
        with self.lock:
            return next(
                (at for at, status, what in self.seen if at >= start and status < 400 and what.split()[0] in methods),
                None,
            )

    def writes_between(self, start: float, end: float) -> int:
        """Writes (POST) answered with success in that time."""
        with self.lock:
            return sum(
                1 for at, status, what in self.seen if start <= at <= end and status < 300 and what[:4] == "POST"
            )

    def server_errors(self) -> list:
        with self.lock:
            return [entry for entry in self.seen if entry[1] >= 500 and entry[1] not in UNAVAILABLE]


class Caller:
    """One user (bearer token) or institution system (signed requests) of the gateway."""

    def __init__(self, base_url: str, answers: Answers):
        self.base_url, self.answers = base_url, answers
        self.http = requests.Session()
        self.token: str | None = None
        self.machine: tuple[str, str] | None = None

    def login(self, username: str, password: str) -> Caller:
        self.token = self.send("POST", "/auth/token", {"username": username, "password": password}).json()[
            "access_token"
        ]
        return self

    def send(self, method: str, path: str, body=None, *, ok=(200, 201, 202), retry_on=(), headers=None, params=None):
        """The answer once it is one of `ok`; waits out outages and the statuses in `retry_on`.

        `Answer.retried` says whether an earlier attempt may have reached the service (its effect unknown).
        """
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        deadline, retried = time.monotonic() + PATIENCE, False
        while True:
            prepared = self.http.prepare_request(
                requests.Request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data or None,
                    headers={"Content-Type": "application/json", "Accept-Language": "en", **(headers or {})},
                )
            )
            if self.token:
                prepared.headers["Authorization"] = f"Bearer {self.token}"
            if self.machine:  # a fresh nonce and timestamp for every attempt
                prepared.headers.update(signed_headers(*self.machine, method, prepared.path_url, data))
            try:
                response = self.http.send(prepared, timeout=30)
                status = response.status_code
            except requests.RequestException:
                response, status = None, 0
            self.answers.add(status, f"{method} {path}")
            if status == 500:
                raise ServerError(f"{method} {path} -> 500: {response.text[:500]}")
            if status in ok:
                response.retried = retried
                return response
            if status not in (0, *UNAVAILABLE, *retry_on):
                raise AssertionError(f"{method} {path} -> {status}: {response.text[:800]}")
            retried = retried or status in (0, *UNAVAILABLE)  # that attempt's effect is unknown
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} still {status} after {PATIENCE:.0f}s")
            time.sleep(0.5 if status in (0, *UNAVAILABLE) else 0.2)


@dataclass
class Setting:
    """Who takes part in the stream (from tests.support.campaign.Flows) and where they study."""

    base_url: str
    campaign_id: str
    union: tuple[str, str]  # the grassroots officer's username and union
    unit_officer: str  # the username of the union's first-level unit officer (sends its list)
    operator: str  # the institution operator's username
    machine: tuple[str, str]  # the institution system's key id and secret
    password: str
    programme_id: str
    notice_start: str
    consent_on: str
    held_on: str
    today: str


class Stream:
    """Students nominated and registered at a steady pace by one thread (these writes need only the apis and
    their databases), and taken on by others once quota has answered: paid in full, then an exam result.
    `pause()` starts no new student and returns when every student under way is done."""

    def __init__(self, setting: Setting, answers: Answers, pace: float = 1.0, finishers: int = 2):
        self.setting, self.answers, self.pace, self.finishers = setting, answers, pace, finishers
        self.numbers = itertools.count(1000)
        self.done: dict[str, dict] = {}  # enrolment id -> the student's facts as the stream left them
        self.failures: list[BaseException] = []
        self._registered: queue.Queue = queue.Queue()  # (number, enrolment id) asked for registration
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._running.set()
        self._threads = [threading.Thread(target=self._nominate, name="stream-nominate", daemon=True)] + [
            threading.Thread(target=self._finish, name=f"stream-finish-{i}", daemon=True) for i in range(self.finishers)
        ]
        for thread in self._threads:
            thread.start()

    def pause(self, timeout: float = 400) -> None:
        self._running.clear()
        for thread in self._threads:
            thread.join(timeout)
            assert not thread.is_alive(), "a student of the stream never finished"
        assert not self.failures, self.failures

    def _callers(self) -> tuple[Caller, Caller, Caller]:
        s = self.setting
        officer = Caller(s.base_url, self.answers).login(s.union[0], s.password)
        self._unit = Caller(s.base_url, self.answers).login(s.unit_officer, s.password)
        operator = Caller(s.base_url, self.answers).login(s.operator, s.password)
        machine = Caller(s.base_url, self.answers)
        machine.machine = s.machine
        return officer, operator, machine

    def _nominate(self) -> None:
        try:
            officer, operator, _ = self._callers()
            while self._running.is_set():
                started = time.monotonic()
                number = next(self.numbers)
                self._registered.put((number, self.register(number, officer, operator)))
                time.sleep(max(0.0, self.pace - (time.monotonic() - started)))
        except BaseException as exc:  # the test reports it after pausing
            self.failures.append(exc)

    def _finish(self) -> None:
        try:
            _, operator, machine = self._callers()
            while self._running.is_set() or self._nominating():
                try:
                    number, enrolment_id = self._registered.get(timeout=0.5)
                except queue.Empty:
                    continue
                facts = self.pay_and_examine(number, enrolment_id, operator, machine)
                with self._lock:
                    self.done[enrolment_id] = facts
        except BaseException as exc:
            self.failures.append(exc)

    def _nominating(self) -> bool:
        """Students are still on their way to the finishers."""
        return self._threads[0].is_alive() or not self._registered.empty()

    def register(self, number: int, officer: Caller, operator: Caller) -> str:
        """Nominated (with a past notice, its recommendation and consent), confirmed, sent on its union's list,
        and registered by the institution."""
        s = self.setting
        nominee = worker(number)
        nominated = officer.send(
            "POST",
            "/api/enrollment/enrolments",
            {
                **nominee,
                "campaign_id": s.campaign_id,
                "programme_id": s.programme_id,
                "notice_start": s.notice_start,
                "attestation": "车间一线骨干（故障演练）",
                "recommendation": {"meeting_on": s.notice_start, "method": "evaluation"},
            },
            ok=(201, 409, 422),
        )
        if nominated.status_code == 201:
            enrolment_id = nominated.json()["enrolment_id"]
        else:  # refused as a duplicate: an earlier attempt did nominate
            assert nominated.retried, nominated.text
            enrolment_id = self._find(officer, nominee["resident_id"])
        path = f"/api/enrollment/enrolments/{enrolment_id}"
        self._step(officer, f"{path}/consent", {"written_consent_on": s.consent_on})
        self._step(officer, f"{path}/confirm", None)
        lists = {"campaign_id": s.campaign_id, "grassroots_union_id": s.union[1]}
        self._step(self._unit, "/api/enrollment/lists", lists, ok=(201,))  # its unit sends the list
        self._step(operator, f"{path}/register", None, ok=(202,))
        return enrolment_id

    def pay_and_examine(self, number: int, enrolment_id: str, operator: Caller, machine: Caller) -> dict:
        """Once quota has answered: the student pays in full, the institution's system sends the exam result."""
        s = self.setting
        path = f"/api/enrollment/enrolments/{enrolment_id}"
        status = self._until(operator, path, lambda row: row["status"] in ("registered", "refused"))["status"]
        facts = {"enrolment_id": enrolment_id, "number": number, "status": status}
        if status != "registered":
            return facts
        breakdown = self._until(
            operator, f"/api/finance/enrolments/{enrolment_id}/breakdown", lambda b: b["status"] == "active"
        )
        operator.send(
            "POST",
            f"/api/finance/enrolments/{enrolment_id}/payments",
            {"amount": breakdown["total"], "paid_on": s.today, "reference": f"POS-{number}"},
            ok=(201,),
            retry_on=(409,),  # the first attempt still holds its key (its api was killed mid-request, say)
            headers={"Idempotency-Key": f"fault-pay-{enrolment_id}"},
        )
        machine.send(
            "POST",
            "/api/evaluation/results/batches",
            {
                "lines": [
                    {
                        "enrolment_id": enrolment_id,
                        "exam": "电工中级职业技能鉴定",
                        "held_on": s.held_on,
                        "score": "81.50",
                        "passed": True,
                    }
                ]
            },
            ok=(200, 201),
            retry_on=(409, 422),  # the key still in flight; evaluation has not heard of the enrolment yet
            headers={"Idempotency-Key": f"fault-{enrolment_id}"},
        )
        return facts | {"total": breakdown["total"], "federation": breakdown["federation"]}

    def _step(self, caller: Caller, path: str, body, ok=(200,)) -> None:
        """A state change; refused as already done only if an earlier attempt may have done it."""
        answer = caller.send("POST", path, {} if body is None else body, ok=(*ok, 409))
        assert answer.status_code != 409 or answer.retried, answer.text

    def _until(self, caller: Caller, path: str, done) -> dict:
        deadline = time.monotonic() + PATIENCE
        while True:
            answer = caller.send("GET", path, ok=(200, 404))
            if answer.status_code == 200 and done(row := answer.json()):
                return row
            assert time.monotonic() < deadline, f"GET {path}: still {answer.text[:300]}"
            time.sleep(0.3)

    def _find(self, officer: Caller, resident_id: str) -> str:
        rows = officer.send(
            "GET",
            "/api/enrollment/enrolments",
            params={"campaign_id": self.setting.campaign_id, "programme_id": self.setting.programme_id},
        ).json()
        [row] = [r for r in rows if r["resident_id"] == resident_id]
        return row["enrolment_id"]
