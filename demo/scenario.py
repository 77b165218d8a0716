"""The 2013-14 campaign played end to end through the gateway's REST API, idempotently.

Every step first reads what is already there and only does what is missing, so running the scenario
again changes nothing. Each step returns a summary (counts, money) that the guided demo prints and
the end-to-end test asserts. The services talk through events: a step that needs another service to
have heard of something waits for it (`eventually`), bounded.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from servicekit.clock import china_today
from tests.support import rfc9474  # the students' RFC 9474 client (written from the RFC, not the service)

from .client import ApiError, Gateway, eventually
from .data import campaign_body, illustrative_calendar, load, money, person, programmes
from .present import LEDGER_EXPLAINED, Progress, checklist_line, closeout_line, render, seat_line, yuan

THIS_UNIT, SMALL_UNIT = "GZ-TH", "GZ-ZS-JG"
ELECTRICIAN, WELDER, TEA_FCG, TEA_SYG, ACCOUNTING = "GCJS-DG-4", "ZGJS-HG-4", "FCG-CY-4", "SYG-CY-4", "ZGJY-BK-KJ"
ACTIVE = ("registered", "admitted")
RE_EXAM_FEE = "150.00"


@dataclass
class Cohort:
    """Workers of one grassroots union nominated for one programme."""

    union: str
    programme: str
    numbers: list[int]
    education: str = "高中"


def answer_survey(student: Gateway, anonymous: Gateway, survey_id: str, answer: dict) -> bool:
    """A student's anonymous answer (RFC 9474): their token blind-signed as themself once evaluation invites them
    (it hears of students through events), then the answer sent by `anonymous`, with nothing that names them.
    False when their token was issued already (they answered before)."""
    mine = eventually(
        lambda: [s for s in student.all("/api/evaluation/surveys") if s["survey_id"] == survey_id],
        "the survey's invitation",
    )[0]
    if mine["token_issued"]:
        return False
    key = rfc9474.public_key(mine["public_key"]["pem"])
    token = rfc9474.prepare(secrets.token_bytes(32))
    blinded_msg, inv = rfc9474.blind(key, token)
    signed = student.post(f"/api/evaluation/surveys/{survey_id}/tokens", {"blinded_msg": blinded_msg.hex()})
    sig = rfc9474.finalize(key, token, bytes.fromhex(signed["blind_sig"]), inv)
    anonymous.post(
        f"/api/evaluation/public/surveys/{survey_id}/answers", {"input_msg": token.hex(), "sig": sig.hex(), **answer}
    )
    return True


@dataclass
class Scenario:
    base_url: str
    admin: tuple[str, str]
    password: str  # of every demo user
    state_dir: Path
    today: date = field(default_factory=china_today)  # the services' business day (Guangzhou)
    say: callable = print
    close: bool = True  # the last step closes the campaign: read-only from then on

    def __post_init__(self):
        self.gateway = Gateway(self.base_url)
        self.fed = self.gateway.login(*self.admin)
        self.body, self.shift = campaign_body(self.today)
        cohorts = load("people")["cohorts"]
        span = lambda pair: list(range(pair[0], pair[1] + 1))  # noqa: E731
        self.cohorts = {
            "electricians": Cohort("GZ-TH-G1", ELECTRICIAN, span(cohorts["electricians"])),
            "welders": Cohort("GZ-TH-G2", WELDER, span(cohorts["welders"])),
            "tea": Cohort("GZ-TH-G1", TEA_FCG, [cohorts["tea_transfer"], cohorts["tea_late"]]),
            "academic": Cohort("GZ-ZS-JG-G1", ACCOUNTING, span(cohorts["academic"]), education="大专"),
        }
        self.cohort_numbers = cohorts
        self.users: dict[str, Gateway] = {}
        self.summary: dict[str, dict] = {}
        self.last_refusal = ""

    # ------------------------------------------------------------------ helpers

    def day(self, offset: int) -> str:
        return (self.today + timedelta(days=offset)).isoformat()

    def user(self, username: str) -> Gateway:
        if username not in self.users:
            self.users[username] = self.gateway.login(username, self.password)
        return self.users[username]

    def officer_of(self, union: str) -> Gateway:
        return self.user(
            {"GZ-TH-G1": "tianhe.union1", "GZ-TH-G2": "tianhe.union2", "GZ-ZS-JG-G1": "jiguan.union1"}[union]
        )

    def operator_of(self, institution: str) -> Gateway:
        return self.user(f"{institution.split('-')[1].lower()}.operator")

    def step(self, name: str, title: str, facts: dict, *, payers: dict | None = None, note: str | None = None) -> dict:
        """Record the step's facts (`summary`, read by the tests) and print them for people, in Chinese
        (demo/present.py; `title` is the English one, kept for the code's readers)."""
        self.summary[name] = facts
        for line in render(len(self.summary), name, facts, payers=payers, note=note):
            self.say(line)
        return facts

    def make_user(self, username: str, role: str, **scope) -> bool:
        try:
            self.fed.post("/auth/users", {"username": username, "password": self.password, "role": role, **scope})
            return True
        except ApiError as error:
            if error.status == 422 and "already taken" in json.dumps(error.body):
                return False
            raise

    def enrolments(self, union: str) -> dict[str, dict]:
        """The union's enrolments of this campaign by resident ID number (the nominating union sees them whole)."""
        rows = self.officer_of(union).all("/api/enrollment/enrolments", campaign_id=self.campaign_id)
        return {row["resident_id"]: row for row in rows}

    def all_enrolments(self) -> list[dict]:
        unions = dict.fromkeys(cohort.union for cohort in self.cohorts.values())
        return [row for union in unions for row in self.enrolments(union).values()]

    def enrolment(self, number: int, union: str) -> dict:
        return self.enrolments(union).get(person(number)["resident_id"])

    def wait_status(self, caller: Gateway, enrolment_id: str, statuses, what: str) -> dict:
        return eventually(
            lambda: (row := caller.get(f"/api/enrollment/enrolments/{enrolment_id}"))["status"] in statuses and row,
            what,
        )

    # ------------------------------------------------------------------ the steps

    def run(self) -> dict:
        for step in (
            self.accounts,
            self.units,
            self.campaign,
            self.participation,
            self.allocation,
            self.fund_transfers,
            self.catalogue,
            self.plans,
            self.nominations,
            self.confirmation,
            self.list_send,
            self.registration,
            self.entrance_tests,
            self.payments,
            self.transfer,
            self.classes,
            self.exams,
            self.certificates,
            self.reimbursements,
            self.surveys,
            self.inspection_and_scores,
            self.disqualification,
            self.transfer_deadline,
            self.checks,
            self.closeout,
        ):
            step()
        return self.summary

    def accounts(self):
        people = load("people")
        made = sum(
            self.make_user(u["username"], u["role"], **{k: v for k, v in u.items() if k not in ("username", "role")})
            for u in people["users"]
        )
        self.clients = self._machine_clients(people["machine_clients"])
        self.step(
            "accounts",
            "Accounts: one login per role (password of every demo user as printed)",
            {
                "users made now": made,
                "users": [f"{u['username']} ({u['role']})" for u in people["users"]],
                "machine clients": [f"{c['institution_id']}: {c['key_id']}" for c in self.clients.values()],
            },
        )

    def _machine_clients(self, wanted: list[dict]) -> dict[str, dict]:
        """Machine secrets are shown once: kept in the state directory, made only when missing there."""
        path = self.state_dir / "demo-machine-clients.json"
        kept = json.loads(path.read_text()) if path.exists() else {}
        for client in wanted:
            if client["institution_id"] not in kept:
                kept[client["institution_id"]] = self.fed.post("/auth/clients", client)
                self.state_dir.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(kept))
                path.chmod(0o600)
        return kept

    def units(self):
        units, added = load("units")["units"], 0
        for unit in units:
            if self.fed.exists(f"/api/quota/units/{unit['id']}") is None:
                self.fed.post("/api/quota/units", unit)
                added += 1
        first = [u for u in units if u["level"] == "first_level"]
        self.step(
            "units",
            "Units (illustrative headcounts)",
            {
                "first-level units": len(first),
                "grassroots unions": len(units) - len(first),
                "added now": added,
                "headcount of first-level units": sum(u["headcount"] for u in first),
                "key-industry units": ", ".join(u["name"] for u in first if u["key_industry"]),
            },
        )

    def campaign(self):
        body = self.body
        plan_name = load("campaign")["name"]
        found = [
            c
            for c in self.fed.all("/api/quota/campaigns")
            if c["name"].startswith(plan_name)
            and c["windows"]["registration_start"] <= self.today.isoformat() <= c["windows"]["registration_end"]
        ]
        campaign = found[0] if found else self.fed.post("/api/quota/campaigns", body)
        if campaign["status"] == "draft":
            campaign = self.fed.post(f"/api/quota/campaigns/{campaign['id']}/publish")
        self.campaign_id = campaign["id"]
        self.windows = campaign["windows"]
        self.closed = campaign["status"] == "closed"  # read-only: the steps find everything done
        self.step(
            "campaign",
            "Campaign published (the plan's numbers; calendar moved to today, see demo/data.py)",
            {
                "name": campaign["name"],
                "fund": campaign["fund_pools"],
                "academic seats": campaign["academic_seats"],
                "windows": [f"{k}: {v}" for k, v in campaign["windows"].items()],
            },
        )

    def participation(self):
        """The federation chooses the first-level units taking part (here every active one, chosen explicitly);
        once the allocation is published, units join only from the reserve."""
        path = f"/api/quota/campaigns/{self.campaign_id}/participants"
        units = self.fed.all(path)
        allocation = self.fed.exists(f"/api/quota/campaigns/{self.campaign_id}/allocation")
        chosen_now = False
        if not all(u["chosen"] for u in units) and (allocation is None or allocation["status"] != "published"):
            active = [u["unit_id"] for u in units if u["unit_status"] == "active"]
            units = self.fed.put(path, {"unit_ids": active, "reason": "本批次全部在册一级单位参加"})
            chosen_now = True
        self.step(
            "participation",
            "The federation chooses the first-level units taking part",
            {
                "chosen now": chosen_now,
                "participants": len(units),
                "chosen by the federation": sum(u["chosen"] for u in units),
            },
        )

    def allocation(self):
        path = f"/api/quota/campaigns/{self.campaign_id}/allocation"
        allocation = self.fed.exists(path) or self.fed.post(path)
        if allocation["status"] != "published":
            allocation = self.fed.post(f"{path}/publish")
        self.lines = {line["unit_id"]: line for line in allocation["lines"]}
        largest = sorted(allocation["lines"], key=lambda line: -line["academic_seats"])[:3]
        self.step(
            "allocation",
            "Allocation by weighted headcount (largest remainder)",
            {
                "total seats": allocation["totals"]["academic_seats"],
                "total skills money": allocation["totals"]["skills_money"],
                "lines": [f"{l['unit_name']}: {l['academic_seats']} seats, {l['skills_money']}" for l in largest]
                + [f"{self.lines[SMALL_UNIT]['unit_name']}: {self.lines[SMALL_UNIT]['academic_seats']} seats"],
            },
        )
        self.allocation_totals = allocation["totals"]

    def fund_transfers(self):
        wanted = [
            (THIS_UNIT, "skills", self.lines[THIS_UNIT]["skills_money"]),
            (
                SMALL_UNIT,
                "academic",
                str(self.lines[SMALL_UNIT]["academic_seats"] * money(self.body["academic_subsidy_per_student"])),
            ),
        ]
        done = {(t["unit_id"], t["kind"]) for t in self.fed.all("/api/finance/transfers", campaign_id=self.campaign_id)}
        for unit, kind, amount in wanted:
            if (unit, kind) in done:
                continue
            key = f"demo-transfer-{self.campaign_id}-{unit}-{kind}"  # the same transfer if the demo runs again
            self.until_accepted(
                lambda: self.fed.post(
                    "/api/finance/transfers",
                    {
                        "campaign_id": self.campaign_id,
                        "unit_id": unit,
                        "kind": kind,
                        "amount": amount,
                        "transferred_on": self.today.isoformat(),
                        "reference": f"穗工财〔{self.today.year}〕88号",
                    },
                    headers={"Idempotency-Key": key},
                ),
                f"finance to accept the transfer to {unit}",
            )
        transfers = self.fed.all("/api/finance/transfers", campaign_id=self.campaign_id)
        self.step(
            "fund_transfers",
            "Earmarked funds transferred (专款专用)",
            {"transfers": [f"{t['unit_id']} {t['kind']}: {t['amount']}" for t in transfers]},
        )

    def until_accepted(self, action, what: str, retry_on: tuple[int, ...] = (404, 409, 422)):
        """The action's answer once accepted: refused while another service has not heard of what it needs."""

        def attempt():
            try:
                return action() or True
            except ApiError as error:
                if error.status not in retry_on:
                    raise
                self.last_refusal = str(error)
                return None

        return eventually(attempt, what, last=lambda: self.last_refusal)

    def catalogue(self):
        added = 0
        for programme in programmes(self.shift):
            pid = programme["programme_id"]
            current = self.fed.exists(f"/api/enrollment/programmes/{pid}")
            if current is None:
                self.fed.put(
                    f"/api/enrollment/programmes/{pid}", {k: v for k, v in programme.items() if k != "programme_id"}
                )
                added += 1
            if current is None or current["status"] != "published":
                self.fed.post(f"/api/enrollment/programmes/{pid}/publish")
        listed = self.fed.all("/api/enrollment/programmes")
        self.step(
            "catalogue",
            "Training catalogue of the 7 institutions",
            {
                "programmes": len(listed),
                "added now": added,
                **{kind: sum(p["kind"] == kind for p in listed) for kind in ("skills", "academic")},
            },
        )

    def plans(self):
        wanted = {THIS_UNIT: [ELECTRICIAN, WELDER, TEA_FCG, TEA_SYG], SMALL_UNIT: [ACCOUNTING]}
        for unit, programme_ids in wanted.items():
            officer = self.user({THIS_UNIT: "tianhe.officer", SMALL_UNIT: "jiguan.officer"}[unit])
            path = f"/api/enrollment/units/{unit}/plans/{self.campaign_id}"
            plan = officer.exists(path)
            if plan and sorted(p["programme_id"] for p in plan["programmes"]) == sorted(programme_ids):
                continue
            self.until_accepted(
                lambda: officer.put(path, {"programme_ids": programme_ids}),
                f"enrollment to know the campaign and unit {unit}",
            )
        self.step(
            "plans",
            "Units' plans (programmes and institutions they chose)",
            {unit: ", ".join(ids) for unit, ids in wanted.items()},
        )

    def nominations(self):
        made = 0
        objected = self._objected()
        for cohort in self.cohorts.values():
            officer, known = self.officer_of(cohort.union), self.enrolments(cohort.union)
            for number in cohort.numbers:
                worker = person(number, cohort.education)
                if worker["resident_id"] not in known:
                    officer.post(
                        "/api/enrollment/enrolments",
                        {
                            **worker,
                            "campaign_id": self.campaign_id,
                            "programme_id": cohort.programme,
                            # the one objected to is still on its notice: objections come during it
                            "notice_start": self.day(-2 if number == objected else -7),
                            "attestation": "职工代表大会民主推荐：一线技术骨干，年度考核优秀",
                            "recommendation": {
                                "meeting_on": self.day(-9),
                                "method": "vote",
                                "voters": 86,
                                "votes_for": 79,
                                "votes_against": 4,
                                "votes_abstained": 3,
                            },
                        },
                    )
                    made += 1
        employees = self._employee_logins()
        notice, objection = self._objection()
        self.step(
            "nominations",
            "Nominations recorded with their democratic recommendation; public notice (5 days); one objection",
            {
                "nominated now": made,
                "nominations": sum(len(c.numbers) for c in self.cohorts.values()),
                "recommendation": "职工代表大会表决：到会 86 人，赞成 79、反对 4、弃权 3",
                "public notice": notice,
                **objection,
                "employee logins": ", ".join(employees),
            },
        )

    def _objected(self) -> int:
        return self.cohorts["electricians"].numbers[-1]

    def _objection(self) -> tuple[str, dict]:
        """The last electrician, still on the public notice (read without login): a co-worker objects with his
        own login, the union sees who objected and upholds it with a reason, the nomination is rejected."""
        union, number = self.cohorts["electricians"].union, self._objected()
        officer, row = self.officer_of(union), self.enrolment(number, union)
        listed = self.gateway.all(
            "/api/enrollment/public/notices", campaign_id=self.campaign_id, grassroots_union_id=union
        )
        notice = f"{union}: {len(listed)} 人公示中" + (
            f"（{listed[0]['name']} {listed[0]['resident_id']}，至 {listed[0]['notice_end']}）" if listed else ""
        )
        objector = self.cohorts["electricians"].numbers[0]
        if not row["objections"]:
            self.user(f"worker{objector:02d}").post(
                f"/api/enrollment/notices/{row['enrolment_id']}/objections",
                {
                    "summary": "同车间职工反映：该职工本年度有两次安全操作违规记录",
                    "objector_name": person(objector)["name"],
                },
            )
            row = officer.get(f"/api/enrollment/enrolments/{row['enrolment_id']}")
        objection = row["objections"][0]
        if objection["outcome"] is None:
            row = officer.post(
                f"/api/enrollment/enrolments/{row['enrolment_id']}/objections/{objection['objection_id']}/outcome",
                {"outcome": "upheld", "note": "经核实属实，取消本批次推荐资格"},
            )
        objection = row["objections"][0]
        seen_by_unit = self.user("tianhe.officer").get(f"/api/enrollment/enrolments/{row['enrolment_id']}")
        return notice, {
            "objection": f"{row['name']}: {row['status']}",
            "objector (seen by the union)": objection["objector_name"],
            "objector seen by the unit": seen_by_unit["objections"][0]["objector_name"] or "—",
            "outcome": f"{objection['outcome']}: {objection['outcome_note']}",
        }

    def _employee_logins(self) -> list[str]:
        """A login for the first electricians (they answer the survey; the first consents by themself)."""
        names = []
        for number in self.cohorts["electricians"].numbers[: self.cohort_numbers["survey_respondents"]]:
            row = self.enrolment(number, self.cohorts["electricians"].union)
            username = f"worker{number:02d}"
            self.make_user(username, "employee", employee_id=row["employee_id"])
            names.append(username)
        return names

    def confirmation(self):
        consented = confirmed = 0
        first = self.cohorts["electricians"].numbers[0]
        for row in self.all_enrolments():
            if row["status"] != "nominated":
                continue
            officer = self.officer_of(row["grassroots_union_id"])
            if row["consent_on"] is None:
                own = row["resident_id"] == person(first)["resident_id"]
                caller = self.user(f"worker{first:02d}") if own else officer
                caller.post(
                    f"/api/enrollment/enrolments/{row['enrolment_id']}/consent",
                    {} if own else {"written_consent_on": self.day(-2)},
                )
                consented += 1
            officer.post(f"/api/enrollment/enrolments/{row['enrolment_id']}/confirm")
            confirmed += 1
        self.step(
            "confirmation",
            "Consent (one by the worker, the others written); the unions confirm their lists after the notice",
            {
                "consents recorded now": consented,
                "confirmed now": confirmed,
                "not rejected": sum(r["status"] != "rejected" for r in self.all_enrolments()),
            },
        )

    def list_send(self):
        """Each first-level unit sends its unions' confirmed lists to the institutions: one dated send per list."""
        sent_now = 0
        for unit, officer_name in ((THIS_UNIT, "tianhe.officer"), (SMALL_UNIT, "jiguan.officer")):
            officer = self.user(officer_name)
            unions = sorted({row["grassroots_union_id"] for row in self.all_enrolments() if row["unit_id"] == unit})
            for union in unions:
                waiting = officer.all(
                    "/api/enrollment/enrolments",
                    campaign_id=self.campaign_id,
                    grassroots_union_id=union,
                    status="confirmed",
                )
                if waiting:
                    officer.post(
                        "/api/enrollment/lists", {"campaign_id": self.campaign_id, "grassroots_union_id": union}
                    )
                    sent_now += 1
        lists = self.fed.all("/api/enrollment/lists", campaign_id=self.campaign_id)
        unsent = self.operator_of("GZ-GCJS").all(
            "/api/enrollment/enrolments", campaign_id=self.campaign_id, status="confirmed"
        )
        self.step(
            "list_send",
            "First-level units send their unions' lists to the institutions (one dated send per list)",
            {
                "lists sent now": sent_now,
                "lists": [f"{n['grassroots_union_name']}: {n['nominees']} 人，{n['sent_on']} 报送" for n in lists],
                "unsent seen by an institution": len(unsent),
            },
        )

    def registration(self):
        """Institutions register; quota answers. The small unit has one seat: its second student is refused
        (until the first is rejected: see `entrance_tests`). The second tea-art student stays `sent`: her
        institution is disqualified before she is registered."""
        late = person(self.cohort_numbers["tea_late"])["resident_id"]
        due = [
            row
            for row in sorted(self.all_enrolments(), key=lambda r: r["resident_id"])
            if row["status"] == "sent" and row["resident_id"] != late
        ]
        progress = Progress("建档", len(due))
        for row in due:
            operator = self.operator_of(row["institution_id"])
            operator.post(f"/api/enrollment/enrolments/{row['enrolment_id']}/register")
            self.wait_status(operator, row["enrolment_id"], ("registered", "refused"), "quota's answer")
            progress.advance()
        rows = self.all_enrolments()
        refused = [r for r in rows if r["status"] == "refused"]
        report = self.fed.get(f"/api/quota/campaigns/{self.campaign_id}/report")
        self.step(
            "registration",
            "Registration with quota reserved",
            {
                "by status": {s: sum(r["status"] == s for r in rows) for s in sorted({r["status"] for r in rows})},
                "refused": [f"{r['name']} ({r['unit_id']}): {r['refusal_reason']}" for r in refused],
                "quota used": f"seats {report['totals']['seats']}; money {report['totals']['money']}",
            },
        )

    def seats(self, unit: str) -> dict:
        """The unit's seats as quota counts them (allocated, reserved, consumed, spent, released, available)."""
        report = self.fed.get(f"/api/quota/campaigns/{self.campaign_id}/report")
        return next(u for u in report["units"] if u["unit_id"] == unit)["seats"]

    def entrance_tests(self):
        """The small unit's one seat: its holder fails the entrance test and the institution rejects the
        registration; quota releases the seat, the nominee refused for want of it is registered on it, passes
        and is admitted."""
        operator = self.operator_of("GZ-ZGJY")
        rows = sorted(self.enrolments(self.cohorts["academic"].union).values(), key=lambda r: r["resident_id"])
        holder = next((r for r in rows if r["status"] == "registered" and r["entrance_test_passed"] is None), None)
        waiting = next((r for r in rows if r["status"] == "refused" and r["refusal_reason"] == "no_quota_left"), None)
        counts = {"now": self.seats(SMALL_UNIT)}
        if holder and waiting:
            self.rejected = holder["enrolment_id"]
            counts = {"held": counts["now"]}
            path = f"/api/enrollment/enrolments/{holder['enrolment_id']}"
            operator.post(
                f"{path}/entrance-test", {"held_on": self.today.isoformat(), "score": "41.50", "passed": False}
            )
            operator.post(f"{path}/rejection", {"reason": "entrance_test_failed", "note": "入学测试未达录取线"})
            counts["released"] = eventually(
                lambda: (seats := self.seats(SMALL_UNIT))["available"] == 1 and seats, "quota to release the seat"
            )
            operator.post(f"/api/enrollment/enrolments/{waiting['enrolment_id']}/register")
            self.wait_status(operator, waiting["enrolment_id"], ("registered", "refused"), "quota's answer")
            counts["reused"] = self.seats(SMALL_UNIT)
        admitted = 0
        for row in self.enrolments(self.cohorts["academic"].union).values():
            if row["status"] == "registered":
                path = f"/api/enrollment/enrolments/{row['enrolment_id']}"
                if row["entrance_test_passed"] is None:
                    operator.post(
                        f"{path}/entrance-test", {"held_on": self.today.isoformat(), "score": "78.50", "passed": True}
                    )
                operator.post(f"{path}/admit")
                self.wait_status(operator, row["enrolment_id"], ("admitted",), "admission")
                admitted += 1
        self.seat_counts = counts
        rows = self.enrolments(self.cohorts["academic"].union).values()
        self.step(
            "entrance_tests",
            "Entrance tests: one fails and is rejected; the seat goes back to the unit and its other nominee takes it",
            {
                "admitted now": admitted,
                "rejected registrations": [
                    f"{r['name']}: {r['refusal_reason']}（{r['refusal_detail']}）"
                    for r in rows
                    if r["refusal_reason"] == "entrance_test_failed"
                ],
                "seat taken by": [f"{r['name']}: {r['status']}" for r in rows if r["status"] in ACTIVE],
                "seats of the unit": [seat_line(moment, seats) for moment, seats in counts.items()],
            },
        )

    def payments(self):
        paid, by_payer = 0, {"federation": Decimal(0), "unit": Decimal(0), "employee": Decimal(0)}
        active = [row for row in self.all_enrolments() if row["status"] in ACTIVE]
        progress = Progress("缴费", len(active))
        for row in active:
            progress.advance()
            operator = self.operator_of(row["institution_id"])
            path = f"/api/finance/enrolments/{row['enrolment_id']}/breakdown"
            breakdown = eventually(lambda: operator.exists(path), "finance's fee breakdown")
            if breakdown["payment_status"] != "full":
                operator.post(
                    f"/api/finance/enrolments/{row['enrolment_id']}/payments",
                    {"amount": breakdown["total"], "paid_on": self.today.isoformat(), "reference": "POS-刷卡"},
                    headers={"Idempotency-Key": f"demo-pay-{row['enrolment_id']}"},
                )
                paid += 1
            for payer in by_payer:
                by_payer[payer] += money(breakdown[payer])
            eventually(
                lambda: operator.get(f"/api/enrollment/enrolments/{row['enrolment_id']}")["payment_status"] == "full",
                "enrollment to hear of the payment",
            )
        self.step(
            "payments",
            "Students pay the institutions in full; shares per payer",
            {"payments recorded now": paid, **{f"{payer} share": str(total) for payer, total in by_payer.items()}},
            payers=by_payer,
            note="每名学员的费用由总工会、单位、职工三方分担；学员先向机构全额缴费，"
            "总工会份额在取得证书后返还（见“发放补贴”一步）。",
        )

    def transfer(self):
        """The tea-art student alone at 芳村: transferred to 市一宫 (institution asks, unit agrees, federation reviews)."""
        row = self.enrolment(self.cohort_numbers["tea_transfer"], self.cohorts["tea"].union)
        if row["institution_id"] == "GZ-FCG":
            operator = self.operator_of("GZ-FCG")
            path = f"/api/enrollment/enrolments/{row['enrolment_id']}/status-changes"
            change = next(iter(operator.get(path)), None) or operator.post(
                path,
                {
                    "kind": "transfer",
                    "reason": "本机构该工种报名不足开班人数，转至市一宫插班",
                    "effective_on": self.day(1),
                    "to_programme_id": TEA_SYG,
                },
            )
            decision = f"/api/enrollment/status-changes/{change['change_id']}/decision"
            if change["state"] == "requested":
                change = self.user("tianhe.officer").post(decision, {"decision": "approve", "note": "同意转学"})
            if change["state"] == "unit_agreed":
                change = self.fed.post(decision, {"decision": "approve", "note": "审核通过"})
            # A dearer programme asks quota for the larger subsidy first: the move waits for its answer.
            change = eventually(
                lambda: next(
                    (
                        c
                        for c in self.fed.get(path)
                        if c["change_id"] == change["change_id"] and c["state"] != "awaiting_quota"
                    ),
                    None,
                ),
                "quota's answer to the transfer",
            )
            if change["state"] != "approved":
                raise RuntimeError(f"the transfer was {change['state']}: {change}")
            row = self.fed.get(f"/api/enrollment/enrolments/{row['enrolment_id']}")
        topped_up = self._top_up(row["enrolment_id"])
        self.step(
            "transfer",
            "One transfer of institution (the student pays the new institution the difference)",
            {
                "difference paid": topped_up,
                "student": row["name"],
                "enrolment_id": row["enrolment_id"],
                "now at": f"{row['institution_id']} {row['programme_id']}",
                "status": row["status"],
            },
        )

    def _top_up(self, enrolment_id: str) -> str:
        """The new programme's fees replace the old ones; what was paid stays paid, the rest is paid now."""
        operator = self.operator_of("GZ-SYG")
        breakdown = eventually(
            lambda: (
                (b := operator.exists(f"/api/finance/enrolments/{enrolment_id}/breakdown"))
                and b["programme_id"] == TEA_SYG
                and b
            ),
            "finance to apply the new programme's fees",
        )
        owed = money(breakdown["total"]) - money(breakdown["paid"])
        if owed > 0:
            operator.post(
                f"/api/finance/enrolments/{enrolment_id}/payments",
                {"amount": str(owed), "paid_on": self.today.isoformat(), "reference": "转学补缴差额"},
                headers={"Idempotency-Key": f"demo-topup-{enrolment_id}"},
            )
        return str(max(owed, Decimal(0)))

    def working_day_calendar(self):
        """Roster deadlines and a notice's rectification (10 working days) count Chinese working days. A year the
        official data does not cover yet (chinesecalendar stops at 2026) gets the demo's illustrative calendar,
        loaded as the federation would."""
        for year in sorted({self.today.year, (self.today + timedelta(days=30)).year}):
            if self.fed.get(f"/api/enrollment/calendar/{year}")["source"] == "missing":
                self.fed.put(f"/api/enrollment/calendar/{year}", illustrative_calendar(year))

    def classes(self):
        self.working_day_calendar()
        opened = [self._class(ELECTRICIAN, "GZ-GCJS", None), self._class(WELDER, "GZ-ZGJS", "焊工中级社会班（周末班）")]
        lessons = self._timetable(opened[0], "GZ-GCJS")
        roster = self.gateway.all("/api/enrollment/public/rosters", campaign_id=self.campaign_id)
        self.step(
            "classes",
            "Classes: dedicated (>30) and public (插班); rosters on working days, published masked",
            {
                "classes": [
                    f"{c['programme_id']} dedicated={c['dedicated']} students={len(c['students'])} "
                    f"opens {c['opens_on']} status={c['status']}"
                    for c in opened
                ],
                "public roster sample": [
                    f"{s['name']} {s['resident_id']} {s['unit_name']}" for s in roster[0]["students"][:3]
                ]
                if roster
                else [],
                "timetable (electricians)": [
                    f"{x['day']} {x['starts']}-{x['ends']} {x['course']} ({x['teacher']}) {x['status']}"
                    for x in lessons
                ],
            },
        )
        self.classes_opened = opened

    def _timetable(self, klass: dict, institution: str) -> list[dict]:
        """The dedicated class's first weekends (its students work on weekdays): two lessons a day, one cancelled
        with its reason, as the institution keeps the timetable."""
        operator = self.operator_of(institution)
        path = f"/api/enrollment/classes/{klass['class_id']}/lessons"
        if not operator.all("/api/enrollment/lessons", class_id=klass["class_id"]):
            opens = date.fromisoformat(klass["opens_on"])
            saturday = opens + timedelta(days=(5 - opens.weekday()) % 7)
            plan = [
                (0, "09:00", "12:00", "电工基础与安全用电", "陈志明"),
                (0, "14:00", "17:00", "低压电器安装实训", "刘建华"),
                (1, "09:00", "12:00", "电气识图", "陈志明"),
                (7, "09:00", "12:00", "电力拖动控制线路", "刘建华"),
                (7, "14:00", "17:00", "模拟鉴定：实操", "刘建华"),
            ]
            made = [
                operator.post(
                    path,
                    {
                        "day": (saturday + timedelta(days=offset)).isoformat(),
                        "starts": starts,
                        "ends": ends,
                        "course": course,
                        "teacher": teacher,
                    },
                )
                for offset, starts, ends, course, teacher in plan
            ]
            operator.post(f"{path}/{made[2]['lesson_id']}/cancel", {"reason": "授课教师出差，补课时间另行通知"})
        return operator.all("/api/enrollment/lessons", class_id=klass["class_id"])

    def _class(self, programme_id: str, institution: str, public_name: str | None) -> dict:
        operator = self.operator_of(institution)
        found = [c for c in operator.all("/api/enrollment/classes") if c["programme_id"] == programme_id]
        if found:
            klass = operator.get(f"/api/enrollment/classes/{found[0]['class_id']}")
        else:
            programme = next(p for p in programmes(self.shift) if p["programme_id"] == programme_id)
            klass = operator.post(
                "/api/enrollment/classes",
                {
                    "campaign_id": self.campaign_id,
                    "programme_id": programme_id,
                    "opens_on": self.day(14),
                    "site": programme["teaching_sites"][0],
                    "on_site": False,
                    "public_class_name": public_name,
                    **({} if public_name else {"head_teacher": "陈志明", "learning_assistant": "黄晓琳"}),
                },
            )
        path = f"/api/enrollment/classes/{klass['class_id']}"
        if klass["status"] == "forming":
            klass = operator.post(f"{path}/roster")
        if klass["status"] == "submitted":
            klass = self.fed.post(f"{path}/review", {"decision": "approve", "comments": "名单齐全"})
        if klass["status"] == "approved":
            klass = self.fed.post(f"{path}/publish")
        if klass["status"] == "published":
            klass = operator.post(f"{path}/open")
        return operator.get(path)

    def exams(self):
        """Institution systems publish results with signed requests; one electrician fails, then passes a retake."""
        failing = person(self.cohorts["electricians"].numbers[1])["resident_id"]
        published = {(r["enrolment_id"], r["attempt"]) for r in self.fed.all("/api/evaluation/results")}
        attempts = {}
        for cohort, exam, institution in (
            ("electricians", "电工中级职业技能鉴定", "GZ-GCJS"),
            ("welders", "焊工中级职业技能鉴定", "GZ-ZGJS"),
        ):
            machine = self.gateway.as_machine(self.clients[institution]["key_id"], self.clients[institution]["secret"])
            rows = [
                r
                for r in self.enrolments(self.cohorts[cohort].union).values()
                if r["status"] in ACTIVE and r["programme_id"] == self.cohorts[cohort].programme
            ]
            lines = [
                {
                    "enrolment_id": r["enrolment_id"],
                    "exam": exam,
                    "held_on": self.day(-2),
                    "score": "52.00" if r["resident_id"] == failing else "81.50",
                    "passed": r["resident_id"] != failing,
                }
                for r in rows
            ]
            if any((line["enrolment_id"], 1) not in published for line in lines):
                self._batch(machine, f"demo-{self.campaign_id}-{institution}-1", lines)
            retake = [
                dict(line, held_on=self.today.isoformat(), score="74.00", passed=True)
                for line in lines
                if not line["passed"]
            ]
            if retake:
                self.re_examined = retake[0]["enrolment_id"]
            missing = [line for line in retake if (line["enrolment_id"], 2) not in published]
            if missing:
                self._batch(machine, f"demo-{self.campaign_id}-{institution}-retake", missing)
            for line in missing:  # the re-exam fee the student alone pays (补考费), not paid yet
                machine.post(
                    f"/api/finance/enrolments/{line['enrolment_id']}/charges",
                    {
                        "line": "re_exam",
                        "amount": RE_EXAM_FEE,
                        "charged_on": self.today.isoformat(),
                        "reference": f"补考费-{line['enrolment_id'][:8]}",
                    },
                )
            attempts[exam] = len(lines) + len(retake)
        results = self.fed.all("/api/evaluation/results")
        self.step(
            "exams",
            "Exam results published by institution systems (signed requests)",
            {
                "attempts": attempts,
                "failed attempts": sum(not r["passed"] for r in results),
                "retakes": [
                    f"{r['enrolment_id'][:8]} attempt {r['attempt']}: {r['score']} passed={r['passed']}"
                    for r in results
                    if r["attempt"] > 1 or not r["passed"]
                ],
            },
        )

    def _batch(self, machine: Gateway, key: str, lines: list[dict]):
        self.until_accepted(
            lambda: machine.post("/api/evaluation/results/batches", {"lines": lines}, headers={"Idempotency-Key": key}),
            "evaluation to know the enrolments",
            retry_on=(422,),
        )

    def certificates(self):
        issued, held = 0, {c["enrolment_id"] for c in self.fed.all("/api/evaluation/certificates")}
        for cohort, institution in (("electricians", "GZ-GCJS"), ("welders", "GZ-ZGJS")):
            machine = self.gateway.as_machine(self.clients[institution]["key_id"], self.clients[institution]["secret"])
            rows = sorted(
                (
                    r
                    for r in self.enrolments(self.cohorts[cohort].union).values()
                    if r["status"] in ACTIVE and r["programme_id"] == self.cohorts[cohort].programme
                ),
                key=lambda r: r["resident_id"],
            )
            for index, row in enumerate(rows, 1):
                if row["enrolment_id"] in held:
                    continue
                answer = machine.call(
                    "POST",
                    "/api/evaluation/certificates",
                    {
                        "enrolment_id": row["enrolment_id"],
                        "number": f"{institution}-{self.today.year}-{index:04d}",
                        "issued_on": self.today.isoformat(),
                    },
                    raw=True,
                )
                issued += answer.status_code == 201
        certificates = self.fed.all("/api/evaluation/certificates")
        sample = certificates[0]
        verified = self.gateway.get(
            "/api/evaluation/public/certificates/verification",
            institution_id=sample["institution_id"],
            number=sample["number"],
        )
        self.step(
            "certificates",
            "Certificates issued",
            {
                "issued now": issued,
                "certificates": len(certificates),
                "public verification": f"{sample['number']}: {verified['status']}, holder {verified['holder_name_masked']}, "
                f"{verified['programme']['trade'] or verified['programme']['major']}"
                f"（{verified['programme']['level']}）",
            },
        )
        self.certificate_count = len(certificates)

    def reimbursements(self):
        """The federation's share is paid to each certified student by the unit (from its earmarked account)."""
        officer = self.user("tianhe.officer")
        eventually(
            lambda: (
                len(
                    [
                        r
                        for r in officer.all(
                            "/api/finance/reimbursements", campaign_id=self.campaign_id, share="federation"
                        )
                        if r["status"] in ("payable", "paid", "awaiting_payment")
                    ]
                )
                >= self.certificate_count
            ),
            "finance to owe the certified students their reimbursements",
        )
        waited = self._awaiting_full_payment(officer)
        paid = 0
        for item in officer.all("/api/finance/reimbursements", campaign_id=self.campaign_id, status="payable"):
            officer.post(
                f"/api/finance/reimbursements/{item['reimbursement_id']}/payment",
                self._reimbursement_paid(item),
                headers={"Idempotency-Key": f"demo-reimburse-{item['reimbursement_id']}"},
            )
            paid += 1
        rows = officer.all("/api/finance/reimbursements", campaign_id=self.campaign_id)
        totals = {}
        for row in rows:
            totals[row["share"]] = totals.get(row["share"], Decimal(0)) + money(row["amount"])
        self.step(
            "reimbursements",
            "Reimbursements paid to certified students",
            {
                "awaiting full payment": waited,
                "paid now": paid,
                "paid": sum(r["status"] == "paid" for r in rows),
                **{f"{share} share paid out": str(total) for share, total in totals.items()},
            },
            payers=totals,
            note="单位从专项账户代发：总工会份额返还给每名取得证书的学员（金额按付款方汇总）。",
        )

    def _reimbursement_paid(self, item: dict) -> dict:
        return {
            "paid_on": self.today.isoformat(),
            "reference": "天河区总工会代发",
            "bank_name": "中国工商银行广州天河支行",
            "bank_account": f"6222{int(item['reimbursement_id'].replace('-', '')[:12], 16) % 10**15:015d}",
        }

    def _awaiting_full_payment(self, officer: Gateway) -> list[str]:
        """A certified student who still owes the re-exam fee: the federation's share waits (409) until the
        institution records the rest of the payment, then it is payable."""
        told = []
        for item in officer.all("/api/finance/reimbursements", campaign_id=self.campaign_id, status="awaiting_payment"):
            refused = officer.call(
                "POST",
                f"/api/finance/reimbursements/{item['reimbursement_id']}/payment",
                self._reimbursement_paid(item),
                ok=(409,),
            )
            enrolment_id = item["enrolment_id"]
            machine = self.gateway.as_machine(self.clients["GZ-GCJS"]["key_id"], self.clients["GZ-GCJS"]["secret"])
            breakdown = machine.get(f"/api/finance/enrolments/{enrolment_id}/breakdown")
            owed = money(breakdown["total"]) - money(breakdown["paid"])
            machine.post(
                f"/api/finance/enrolments/{enrolment_id}/payments",
                {"amount": str(owed), "paid_on": self.today.isoformat(), "reference": "补缴补考费"},
                headers={"Idempotency-Key": f"demo-re-exam-{enrolment_id}"},
            )
            eventually(
                lambda: (
                    item["reimbursement_id"]
                    in {
                        r["reimbursement_id"]
                        for r in officer.all(
                            "/api/finance/reimbursements", campaign_id=self.campaign_id, status="payable"
                        )
                    }
                ),
                "finance to set the share aside once the whole fee is paid",
            )
            told.append(f"{enrolment_id[:8]}: 409 {refused.get('code')}；补缴 {owed} 元后可发放")
        return told

    def surveys(self):
        """Anonymous survey of 工程技术学院 by RFC 9474 blind signatures: the answer cannot be traced to the student."""
        existing = [
            s
            for s in self.fed.all("/api/evaluation/surveys")
            if s["institution_id"] == "GZ-GCJS" and s["campaign_id"] == self.campaign_id
        ]
        survey = (
            existing[0]
            if existing
            else self.fed.post(
                "/api/evaluation/surveys",
                {"campaign_id": self.campaign_id, "institution_id": "GZ-GCJS", "closes_on": self.day(30)},
            )
        )
        answered = 0
        for number in self.cohorts["electricians"].numbers[: self.cohort_numbers["survey_respondents"]]:
            scores = {"teaching": 4 + number % 2, "service": 4, "organisation": 5 - number % 2}
            answered += answer_survey(
                self.user(f"worker{number:02d}"),
                self.gateway,
                survey["survey_id"],
                {**scores, "comment": "老师讲解清楚，实操机会多"},
            )
        results = self.fed.get(f"/api/evaluation/surveys/{survey['survey_id']}/results")
        self.step(
            "surveys",
            "Anonymous survey (blind signatures)",
            {
                "answered now": answered,
                "answers": results["answers"],
                "overall (1-5)": results["overall"],
                "averages": results["averages"],
            },
        )

    def inspection_and_scores(self):
        marks = {
            "GZ-GCJS": {"教学场地": 90, "师资配备": 88, "教学管理": 86},
            "GZ-FCG": {"教学场地": 45, "师资配备": 40, "教学管理": 38},
        }
        done = {
            i["institution_id"]
            for i in self.fed.all("/api/evaluation/inspections")
            if i["campaign_id"] == self.campaign_id
        }
        for institution, scores in marks.items():
            if institution not in done:
                self.fed.post(
                    "/api/evaluation/inspections",
                    {
                        "campaign_id": self.campaign_id,
                        "institution_id": institution,
                        "inspector": "市总宣教部检查组",
                        "inspected_on": self.today.isoformat(),
                        "scores": scores,
                        "notes": "实地查看教室、实训设备和学员考勤",
                    },
                )
        scores = {}
        for institution in marks:  # kept while the campaign runs; a closed one's are read only
            scores[institution] = (
                self.fed.get(f"/api/evaluation/institutions/{institution}/scores", campaign_id=self.campaign_id)
                if self.closed
                else self.fed.post(
                    f"/api/evaluation/institutions/{institution}/evaluations", {"campaign_id": self.campaign_id}
                )
            )
        self.scores = scores
        self.step(
            "scores",
            "Inspections and institution scores",
            {
                institution: f"score {s['score']} (threshold {s['notice_threshold']}), below: {s['below_threshold']}"
                for institution, s in scores.items()
            },
        )

    def disqualification(self):
        if not self.fed.get("/api/evaluation/institutions/GZ-FCG/decisions")["disqualified"]:
            self.fed.post(
                "/api/evaluation/institutions/GZ-FCG/disqualification",
                {"reason": "实地考察评估不合格，学员满意度低：取消本计划培训资格"},
            )
        eventually(
            lambda: next(i for i in self.fed.all("/api/enrollment/institutions") if i["institution_id"] == "GZ-FCG")[
                "disqualified"
            ],
            "enrollment to hear of it",
        )
        late = self.enrolment(self.cohort_numbers["tea_late"], self.cohorts["tea"].union)
        answer = self.operator_of("GZ-FCG").call(
            "POST", f"/api/enrollment/enrolments/{late['enrolment_id']}/register", ok=(409,)
        )
        self.refused_registration = answer
        self.step(
            "disqualification",
            "芳村工人文化宫 disqualified: its new registrations are refused",
            {
                "registration answer": f"409 {answer.get('code')}: {answer.get('title')}",
                "student stays": self.fed.get(f"/api/enrollment/enrolments/{late['enrolment_id']}")["status"],
            },
        )

    def transfer_deadline(self):
        """The year-end transfer deadline: what each unit has still to receive, and how it stands."""
        report = self.fed.get("/api/finance/reports/transfer-deadline", campaign_id=self.campaign_id)
        self.deadline_report = report
        self.step(
            "transfer_deadline",
            "Year-end transfer deadline: untransferred money per unit",
            {
                "deadline": f"{report['transfer_deadline']} ({report['days_left']} days left)",
                "deadline status": report["status"],
                "not transferred": report["not_transferred"],
                "units not fully transferred": sum(u["status"] != "transferred" for u in report["units"]),
                "largest": [
                    f"{u['unit_name']} {u['kind']}: {u['not_transferred']} ({u['status']})"
                    for u in sorted(report["units"], key=lambda u: -money(u["not_transferred"]))[:3]
                ],
            },
        )

    def checks(self):
        invariants = self.fed.get("/api/finance/invariants")
        report = self.fed.get(f"/api/quota/campaigns/{self.campaign_id}/report")
        ledger = self.fed.get("/api/finance/ledger", campaign_id=self.campaign_id, format="json")
        export = self.fed.call(
            "GET", "/api/enrollment/ledger", params={"campaign_id": self.campaign_id, "format": "csv"}, raw=True
        )
        self.training_ledger = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
        self.reservations = self.fed.all(f"/api/quota/campaigns/{self.campaign_id}/reservations")
        self.invariants, self.report, self.ledger = invariants, report, ledger
        self.step(
            "checks",
            "Checks: money traceable to the fen",
            {
                "finance invariants": f"passed={invariants['passed']} checks={invariants['checks']} "
                f"drift={len(invariants['drift'])}",
                "quota": f"pools {report['pools']}, unallocated {report['unallocated']}",
                f"ledger rows (of {len(ledger)})": [
                    f"{r['unit_id']} {r['programme_id']} {r['enrolment_status']}: fees {r['fees_total']} = federation "
                    f"{r['federation_share']} + unit {r['unit_share']} + employee {r['employee_share']}; paid "
                    f"{r['paid_to_institution']}; federation share to the student: {r['federation_reimbursement']}"
                    for r in ledger[:3]
                ],
            },
            note=self._ledger_line_explained(ledger[0]) if ledger else None,
        )

    @staticmethod
    def _ledger_line_explained(r: dict) -> str:
        """The first ledger line, read out in Chinese."""
        return (
            f"以第一行为例：单位 {r['unit_id']} 的学员（项目 {r['programme_id']}，{r['enrolment_status']}）"
            f"费用合计 {yuan(r['fees_total'])} = 总工会 {yuan(r['federation_share'])} + 单位 {yuan(r['unit_share'])}"
            f" + 职工 {yuan(r['employee_share'])}；已付机构 {yuan(r['paid_to_institution'])}；"
            f"总工会份额返还学员：{r['federation_reimbursement']}。" + LEDGER_EXPLAINED
        )

    def closeout(self):
        """结项: the federation reads the checklist and the report per unit and per institution, closes the
        campaign (each unit's unspent earmarked money back to the pool) and it is read-only everywhere
        (`close=False`: the checklist and the report only, the campaign stays open)."""
        path = f"/api/campaigns/{self.campaign_id}/closeout"
        before = report = self.fed.get(path)
        closed_now = self.close and before["status"] != "closed"
        if closed_now:
            self.fed.post(
                f"/api/quota/campaigns/{self.campaign_id}/close",
                {
                    "reason": "培训、考试、发证和补贴发放已完成，结项；单位结余资金退回资金池",
                    "unspent_funds": "return_to_pool",
                },
            )
        facts = {
            "closed now": closed_now,
            "ready": before["ready"],
            "checklist": [checklist_line(item) for item in before["checklist"]],
        }
        if closed_now or before["status"] == "closed":
            # finance returns the unspent money once it hears campaign.closed
            report = eventually(
                lambda: (
                    (r := self.fed.get(path))["status"] == "closed"
                    and all(u.get("unspent", "0.00") == "0.00" for u in r["units"])
                    and r
                ),
                "finance to return the units' unspent money to the pool",
            )
            self.refused_after_close = refused = self.fed.call(
                "PATCH",
                f"/api/quota/campaigns/{self.campaign_id}",
                {"name": "结项后改名"},
                ok=(409,),
                headers={"Accept-Language": "zh-CN"},
            )
            facts["write after close"] = f"{refused['status']} {refused['code']}: {refused['title']}"
        sheet = self.fed.call("GET", path, params={"format": "xlsx"}, raw=True)
        self.closeout_before, self.closeout_report, self.closeout_sheet = before, report, sheet.content
        self.step(
            "closeout",
            "Close-out: the checklist, the close (read-only from then on), the report per unit and per institution",
            {
                **facts,
                "status": report["status"],
                "units": [
                    closeout_line(u, "unit_id") for u in report["units"] if u["unit_id"] in (THIS_UNIT, SMALL_UNIT)
                ],
                "institutions": [closeout_line(i, "institution_id") for i in report["institutions"]],
                "report (.xlsx) bytes": len(sheet.content),
            },
            note="结项后本批次只可查看、不可修改；单位专项账户结余按总工会决定退回资金池（见“结项退回”）。",
        )
