"""The whole system for end-to-end tests: the four services (api on a port, a real worker process each) on
PostgreSQL and RabbitMQ, the gateway before them; and the steps of one enrolment, played through the gateway."""

from __future__ import annotations

import logging
import re
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from demo.client import Gateway, eventually
from demo.data import person
from demo.scenario import Scenario
from gateway.tests.conftest import gateway_app, migrated_runtime
from servicekit.logging import JsonFormatter

from .stack import ServiceStack
from .wsgi_server import Server

SERVICES = ("quota", "enrollment", "finance", "evaluation")
ADMIN = ("fed.admin", "bootstrap-password-2013")
PASSWORD = "demo-password-2013"  # of every demo user
RECOMMENDED_BY_VOTE = {"method": "vote", "voters": 45, "votes_for": 41, "votes_against": 2, "votes_abstained": 2}


@contextmanager
def gateway_before(
    stacks: dict[str, ServiceStack], var_dir: Path, database_url: str, gateway_env: dict[str, str] | None = None
):
    """The base URL of a gateway in front of the services' apps, each service with a worker process
    (`gateway_env`: more of the gateway's settings)."""
    servers = {name: Server(stack.app) for name, stack in stacks.items()}
    for stack in stacks.values():
        stack.worker()
    runtime = migrated_runtime(var_dir, database_url)
    gateway = gateway_app(
        runtime,
        {
            "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
            "GATEWAY_UPSTREAM_TIMEOUT": "10",
            # Every app and the gateway share this process's GIL: a long C call elsewhere (a regex over a fuzzed
            # value) can hold the gateway's loop past the 1 s a connection attempt gets in production.
            "GATEWAY_CONNECT_TIMEOUT": "5",
            "GATEWAY_BOOTSTRAP_ADMIN": ADMIN[0],
            "GATEWAY_BOOTSTRAP_PASSWORD": ADMIN[1],
            **(gateway_env or {}),
        },
        **{name: server.url for name, server in servers.items()},
    )
    try:
        yield gateway.url
    finally:
        for server in (gateway, *servers.values()):
            server.stop()
        runtime.engine.dispose()


@contextmanager
def logged_in_process(path: Path):
    """Every line the apps and the gateway running in this process log, written to `path` as production does."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter("in-process"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def personal_data_in_logs(logs: list[Path], numbers: list[int]) -> tuple[int, list[str]]:
    """(lines read, lines carrying the resident ID number or the mobile of a demo worker of `numbers`)."""
    people = [person(n) for n in numbers]
    secrets = sorted({p["resident_id"] for p in people} | {p["phone"] for p in people})
    pattern = re.compile("|".join(re.escape(s) for s in secrets))
    lines = [line for path in logs for line in path.read_text(errors="replace").splitlines()]
    return len(lines), [line[:300] for line in lines if pattern.search(line)]


@contextmanager
def shared_system(servers, vhost: str, tmp: Path, gateway_env: dict[str, str] | None = None, **extra_env: str):
    """`gateway_before` on databases of its own, for the tests of a whole module (a stack takes ~20 s to start);
    `extra_env` for every service (a benchmark's settings), `gateway_env` for the gateway."""
    names = {service: f"t_{service}_{uuid.uuid4().hex[:10]}" for service in (*SERVICES, "gateway")}
    for name in names.values():
        servers.create_database(name)
    common = {
        "BROKER_URL": servers.amqp_url(vhost),
        "BUS_NAMESPACE": f"t{uuid.uuid4().hex[:8]}.",
        "BUS_RETRY_DELAYS_MS": "200,400",
        "RELAY_POLL_SECONDS": "0.05",
        "VAR_DIR": str(tmp / "var"),
        "LOG_LEVEL": "INFO",
        **extra_env,
    }
    stacks: dict[str, ServiceStack] = {}
    try:
        with pytest.MonkeyPatch.context() as env:
            for service in SERVICES:
                own = {**common, f"{service.upper()}_DATABASE_URL": servers.database_url(names[service])}
                for key, value in own.items():
                    env.setenv(key, value)  # a service's settings come from the environment
                stacks[service] = ServiceStack(f"services.{service}", own, tmp)
            with gateway_before(stacks, tmp / "var", servers.database_url(names["gateway"]), gateway_env) as url:
                yield url
    finally:
        for stack in stacks.values():
            stack.close()
        for name in names.values():
            servers.drop_database(name)


class Flows(Scenario):
    """The demo's campaign set up (accounts, units, campaign, allocation, catalogue, calendar), and the steps
    of one enrolment for flows the demo does not play. Every user's password is the demo's."""

    def with_ample_skills_pool(self) -> Flows:
        """Before `set_up`: a skills pool that grants every registration a load sends (the demo's gives 越秀区 money
        for about 500; beyond them quota refuses)."""
        self.body["fund_pools"] = {**self.body["fund_pools"], "skills": "100000000.00"}
        return self

    def set_up(self) -> Flows:
        for step in (
            self.accounts,
            self.units,
            self.campaign,
            self.allocation,
            self.catalogue,
            self.working_day_calendar,
        ):
            step()
        return self

    def login(self, username: str, role: str, **scope) -> Gateway:
        if username not in self.users:
            self.make_user(username, role, **scope)
        return self.user(username)

    def unit_officer(self, unit: str) -> Gateway:
        return self.login(f"{unit.lower()}.officer", "unit_officer", unit_id=unit)

    def union_officer(self, union: str) -> Gateway:
        return self.login(
            f"{union.lower()}.union", "grassroots_officer", unit_id=union.rsplit("-", 1)[0], grassroots_union_id=union
        )

    def operator(self, institution: str) -> Gateway:
        return self.login(
            f"{institution.split('-')[1].lower()}.operator", "institution_operator", institution_id=institution
        )

    def machine(self, institution: str) -> Gateway:
        return self.gateway.as_machine(self.clients[institution]["key_id"], self.clients[institution]["secret"])

    def plan(self, unit: str, programme_ids: list[str], campaign_id: str | None = None):
        campaign_id = campaign_id or self.campaign_id
        officer = self.unit_officer(unit)
        self.until_accepted(
            lambda: officer.put(f"/api/enrollment/units/{unit}/plans/{campaign_id}", {"programme_ids": programme_ids}),
            f"enrollment to know the campaign and unit {unit}",
        )

    def sent(
        self,
        union: str,
        number: int,
        programme_id: str,
        education: str = "高中",
        campaign_id: str | None = None,
        nominee: dict | None = None,
    ) -> dict:
        """Worker `number` (or `nominee`) nominated by the union (after a past notice, recommended by vote), with
        written consent, confirmed, and sent to the institution on the union's list by its first-level unit."""
        officer = self.union_officer(union)
        row = officer.post(
            "/api/enrollment/enrolments",
            {
                **(nominee or person(number, education)),
                "campaign_id": campaign_id or self.campaign_id,
                "programme_id": programme_id,
                "notice_start": self.day(-7),
                "attestation": "职工代表大会民主推荐：一线生产骨干",
                "recommendation": RECOMMENDED_BY_VOTE | {"meeting_on": self.day(-8)},
            },
        )
        path = f"/api/enrollment/enrolments/{row['enrolment_id']}"
        officer.post(f"{path}/consent", {"written_consent_on": self.day(-2)})
        officer.post(f"{path}/confirm")
        self.send_list(union, campaign_id)
        return officer.get(path)

    def send_list(self, union: str, campaign_id: str | None = None) -> dict:
        """The union's first-level unit sends its confirmed nominees to the institutions. Threads nominating for
        one union at once: another's send may have taken this one's nominee (409, nothing left to send)."""
        answer = self.unit_officer(union.rsplit("-", 1)[0]).call(
            "POST",
            "/api/enrollment/lists",
            {"campaign_id": campaign_id or self.campaign_id, "grassroots_union_id": union},
            ok=(201, 409),
        )
        assert answer.get("code", "enrollment_nothing_to_send") == "enrollment_nothing_to_send", answer
        return answer

    def register(self, institution: str, enrolment_id: str) -> dict:
        """The institution registers; quota's answer (registered or refused) once enrollment has it."""
        operator = self.operator(institution)
        operator.post(f"/api/enrollment/enrolments/{enrolment_id}/register")
        return self.wait_status(operator, enrolment_id, ("registered", "refused"), "quota's answer")

    def admit(self, institution: str, enrolment_id: str) -> dict:
        operator, path = self.operator(institution), f"/api/enrollment/enrolments/{enrolment_id}"
        operator.post(f"{path}/entrance-test", {"held_on": self.today.isoformat(), "score": "81.00", "passed": True})
        operator.post(f"{path}/admit")
        return self.wait_status(operator, enrolment_id, ("admitted",), "admission")

    def breakdown(self, caller: Gateway, enrolment_id: str, status: str = "active") -> dict:
        """Finance's breakdown of the enrolment once it is in `status`."""
        path = f"/api/finance/enrolments/{enrolment_id}/breakdown"
        return eventually(
            lambda: (b := caller.exists(path)) and b["status"] == status and b, f"finance's {status} breakdown"
        )

    def pay_in_full(self, institution: str, enrolment_id: str) -> dict:
        """The student pays the institution every fee; enrollment hears of it (a class takes paid students)."""
        operator = self.operator(institution)
        breakdown = self.breakdown(operator, enrolment_id)
        operator.post(
            f"/api/finance/enrolments/{enrolment_id}/payments",
            {"amount": breakdown["total"], "paid_on": self.today.isoformat(), "reference": "POS-刷卡"},
        )
        eventually(
            lambda: operator.get(f"/api/enrollment/enrolments/{enrolment_id}")["payment_status"] == "full",
            "enrollment to hear of the payment",
        )
        return breakdown
