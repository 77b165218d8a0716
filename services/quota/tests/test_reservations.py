"""The reservation saga over the real broker: requests answered, quota released, consumed and spent."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.quota.models import AllocationLine, Reservation
from tests.support.processes import Process, handled_in_batches, wait_for

from .conftest import TODAY_WINDOWS

pytestmark = pytest.mark.servers
FEES = {
    "tuition_or_training": "2350.00",
    "appraisal_exam": "0.00",
    "textbook": "0.00",
    "registration": "0.00",
    "entrance_test": "0.00",
}
CLOSED_WINDOWS = {
    "registration_start": "2020-11-01",
    "registration_end": "2021-01-15",
    "study_start": "2020-12-01",
    "study_end": "2021-06-30",
    "exams_from": "2021-03-01",
}


class Saga:
    """Plays the enrollment and evaluation services against quota, and collects quota's answers."""

    def __init__(self, quota, campaign_id: str):
        self.quota, self.campaign_id = quota, campaign_id
        self.taps = [quota.stack.tap("quota.reserved"), quota.stack.tap("quota.refused")]
        self.answers: list[dict] = []

    def request(
        self,
        enrolment: str,
        kind: str = "academic",
        unit: str = "GZ-HZ",
        revision: int = 1,
        campaign: str | None = None,
        amount: str = "600.00",
    ) -> dict:
        data = {
            "enrolment_id": enrolment,
            "revision": revision,
            "campaign_id": campaign or self.campaign_id,
            "kind": kind,
            "unit_id": unit,
            "grassroots_union_id": f"{unit}-001",
            "institution_id": "GZ-ZGJS",
            "programme_id": "P-1",
        }
        if kind == "skills":
            data["amount"] = amount
        return data

    def send(self, event_type: str, data: dict) -> None:
        self.quota.stack.publish(event_type, data)

    def send_many(self, event_type: str, payloads: list[dict]) -> None:
        """One connection for a burst, as a busy producer would send it."""
        self.quota.stack.publish_many([(event_type, data) for data in payloads], producer="enrollment")

    def collect(self) -> list[dict]:
        for tap in self.taps:
            for message in self.quota.stack.drain(tap):
                body = json.loads(message.body)
                self.answers.append({"type": body["type"], **body["data"]})
        return self.answers

    def answer_for(self, enrolment: str, count: int = 1) -> dict:
        found = wait_for(
            lambda: len(mine := [a for a in self.collect() if a["enrolment_id"] == enrolment]) >= count and mine,
            timeout=60,
            message=f"answer {count} for {enrolment}",
        )
        return found[count - 1]

    def asked(self, data: dict, count: int = 1) -> dict:
        self.send("enrollment.requested", data)
        return self.answer_for(data["enrolment_id"], count)

    def withdraw(self, data: dict, revision: int) -> None:
        keys = ("enrolment_id", "campaign_id", "kind", "unit_id", "institution_id")
        self.send(
            "enrollment.withdrawn",
            {
                **{k: data[k] for k in keys},
                "revision": revision,
                "reason": "本人申请退学",
                "withdrawn_on": "2026-11-20",
            },
        )

    def transfer(self, data: dict, revision: int, unit: str) -> dict:
        return {
            "enrolment_id": data["enrolment_id"],
            "revision": revision,
            "campaign_id": data["campaign_id"],
            "kind": data["kind"],
            "unit_id": unit,
            "from_institution_id": "GZ-ZGJS",
            "to_institution_id": "GZ-SYG",
            "from_programme_id": "P-1",
            "to_programme_id": "P-2",
            "fees": FEES,
            "reason": "人数不足30人，转入市一宫",
            "transferred_on": "2026-12-10",
        }

    def enrolment(self, data: dict, revision: int, **extra) -> dict:
        body = {
            k: data[k]
            for k in (
                "enrolment_id",
                "campaign_id",
                "kind",
                "unit_id",
                "grassroots_union_id",
                "institution_id",
                "programme_id",
            )
        }
        body.update(revision=revision, fees=FEES, employee_id="emp-1", **extra)
        if data["kind"] == "skills":
            body["trade"] = "电工"
        return body


def published_campaign(quota, seats: int, money: str, windows=TODAY_WINDOWS) -> str:
    campaign = quota.campaign(windows=windows)
    url = f"/campaigns/{campaign['id']}/allocation"
    quota.ok("POST", url, 201)
    quota.ok("PATCH", f"{url}/lines/GZ-HZ", json={"academic_seats": seats, "skills_money": money, "reason": "test"})
    quota.ok("POST", f"/campaigns/{campaign['id']}/publish")
    quota.ok("POST", f"{url}/publish")
    return campaign["id"]


def enrolment_id() -> str:
    return str(uuid.uuid4())


def batching(quota, seats: int, money: str) -> tuple[str, Saga, Process]:
    """A published campaign with quota for GZ-HZ, and a worker taking up to 50 deliveries a batch, consuming."""
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=seats, money=money)
    worker = quota.stack.worker(BUS_PREFETCH="50")
    wait_for(lambda: "consumer ready" in worker.log(), message="the worker consuming")
    return campaign_id, Saga(quota, campaign_id), worker


def report_line(quota, campaign_id: str, unit: str = "GZ-HZ") -> dict:
    report = quota.ok("GET", f"/campaigns/{campaign_id}/report")
    return next(u for u in report["units"] if u["unit_id"] == unit)


def test_the_saga_reserves_refuses_releases_consumes_and_spends(quota):
    quota.unit("GZ-HZ", 1000)
    quota.unit("GZ-TH", 1000)
    campaign_id = published_campaign(quota, seats=2, money="1000.00")
    saga = Saga(quota, campaign_id)
    quota.stack.worker()
    first, second, third = (saga.request(enrolment_id()) for _ in range(3))

    assert saga.asked(first)["type"] == "quota.reserved"
    assert saga.asked(second) == {
        "type": "quota.reserved",
        "enrolment_id": second["enrolment_id"],
        "campaign_id": campaign_id,
        "unit_id": "GZ-HZ",
        "kind": "academic",
        "seats": 1,
        "revision": 1,
    }
    refused = saga.asked(third)
    assert (refused["type"], refused["reason"]) == ("quota.refused", "no_quota_left")
    below = quota.call(
        "PATCH", f"/campaigns/{campaign_id}/allocation/lines/GZ-HZ", json={"academic_seats": 1, "reason": "调减"}
    )
    assert below.status_code == 409 and below.get_json()["code"] == "allocation_below_use"

    skills = saga.request(enrolment_id(), kind="skills", amount="600.00")
    assert saga.asked(skills)["amount"] == "600.00"
    too_much = saga.asked(saga.request(enrolment_id(), kind="skills", amount="400.01"))
    assert (too_much["type"], too_much["reason"]) == ("quota.refused", "no_quota_left")

    # the same request again (a new event id): the same answer, nothing reserved twice
    assert saga.asked(first, count=2)["type"] == "quota.reserved"

    saga.withdraw(first, revision=2)
    retried = saga.asked({**third, "revision": 2}, count=2)  # the freed seat goes to the next request
    assert retried["type"] == "quota.reserved"

    saga.send("enrollment.admitted", saga.enrolment(second, 3, admitted_on="2026-12-01"))
    saga.send("enrollment.registered", saga.enrolment(skills, 2, registered_on="2026-11-21"))
    saga.send(
        "certificate.issued",
        {
            "certificate_id": str(uuid.uuid4()),
            "revision": 1,
            "number": "C-1",
            "enrolment_id": second["enrolment_id"],
            "institution_id": "GZ-ZGJS",
            "kind": "academic",
            "issued_on": "2027-06-30",
        },
    )
    saga.send("enrollment.transferred", saga.transfer(skills, 3, unit="GZ-HZ"))  # same unit: the money stays held
    saga.send("enrollment.transferred", saga.transfer(third, 3, unit="GZ-TH"))  # out of the unit: released
    expected = {
        "seats": {"allocated": 2, "reserved": 0, "consumed": 0, "spent": 1, "released": 2, "available": 1},
        "money": {
            "allocated": "1000.00",
            "reserved": "0.00",
            "consumed": "600.00",
            "spent": "0.00",
            "released": "0.00",
            "available": "400.00",
        },
    }
    line = wait_for(
        lambda: (
            (found := report_line(quota, campaign_id))
            and {k: found[k] for k in ("seats", "money")} == expected
            and found
        ),
        message="the report",
    )
    with quota.stack.runtime.engine.connect() as db:
        statuses = dict(db.execute(select(Reservation.enrolment_id, Reservation.status)).all())
    assert statuses[first["enrolment_id"]] == "released" and statuses[second["enrolment_id"]] == "spent"
    assert statuses[third["enrolment_id"]] == "released" and statuses[skills["enrolment_id"]] == "consumed"
    assert line["unit_name"] == "GZ-HZ 总工会"


def test_every_refusal_reason(quota):
    quota.unit("GZ-HZ", 1000)
    quota.unit("GZ-HZ-001", 10, level="grassroots", category="grassroots", parent_id="GZ-HZ")
    open_id = published_campaign(quota, seats=5, money="100.00")
    closed_id = quota.campaign(windows=CLOSED_WINDOWS)["id"]
    quota.ok("POST", f"/campaigns/{closed_id}/publish")
    draft_id = quota.campaign()["id"]
    saga = Saga(quota, open_id)
    quota.stack.worker()
    cases = {
        "unit_unknown": saga.request(enrolment_id(), unit="GZ-NOWHERE"),
        "campaign_not_published": saga.request(enrolment_id(), campaign=draft_id),
        "window_closed": saga.request(enrolment_id(), campaign=closed_id),
    }
    for reason, data in cases.items():
        answer = saga.asked(data)
        assert (answer["type"], answer["reason"]) == ("quota.refused", reason)
        assert answer["detail"]
    unknown_campaign = saga.asked(saga.request(enrolment_id(), campaign=str(uuid.uuid4())))
    assert unknown_campaign["reason"] == "campaign_not_published"
    grassroots = saga.asked(saga.request(enrolment_id(), unit="GZ-HZ-001"))
    assert grassroots["reason"] == "unit_unknown"  # quota is held by first-level units
    quota.ok("POST", "/units/GZ-HZ/retirement", json={"reason": "机构改革撤销"})
    retired = saga.asked(saga.request(enrolment_id()))
    assert (retired["type"], retired["reason"]) == ("quota.refused", "unit_retired")
    assert report_line(quota, open_id)["seats"]["reserved"] == 0, "nothing taken for a refused request"


def test_a_withdrawal_overtaking_its_request_leaves_nothing_reserved(quota):
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=3, money="0.00")
    saga = Saga(quota, campaign_id)
    quota.stack.worker()
    late = saga.request(enrolment_id())
    saga.withdraw(late, revision=2)
    saga.send("enrollment.requested", late)  # the stale request, arriving after its withdrawal
    marker = saga.request(enrolment_id())
    assert saga.asked(marker)["type"] == "quota.reserved"
    assert [a for a in saga.collect() if a["enrolment_id"] == late["enrolment_id"]] == []
    assert report_line(quota, campaign_id)["seats"]["reserved"] == 1


def test_200_requests_racing_for_the_last_10_seats_on_two_workers(quota):
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=11, money="0.00")
    saga = Saga(quota, campaign_id)
    workers = [quota.stack.worker(BUS_PREFETCH="5") for _ in range(2)]
    assert saga.asked(saga.request(enrolment_id()))["type"] == "quota.reserved"  # now 10 seats are left
    wait_for(lambda: all("consumer ready" in w.log() for w in workers), message="both workers consuming")

    before = [len(w.log()) for w in workers]
    racers = [saga.request(enrolment_id()) for _ in range(200)]
    saga.send_many("enrollment.requested", racers)
    ids = {r["enrolment_id"] for r in racers}
    answers = wait_for(
        lambda: len(found := [a for a in saga.collect() if a["enrolment_id"] in ids]) >= 200 and found,
        timeout=60,
        message="200 answers",
    )
    assert len(answers) == 200 and {a["enrolment_id"] for a in answers} == ids
    reserved = [a for a in answers if a["type"] == "quota.reserved"]
    refused = [a for a in answers if a["type"] == "quota.refused"]
    assert (len(reserved), len(refused)) == (10, 190)
    assert {a["reason"] for a in refused} == {"no_quota_left"}
    held = reserved_count(quota, ids)
    with quota.stack.runtime.engine.connect() as db:
        line = db.execute(
            select(AllocationLine.seats_reserved, AllocationLine.academic_seats).where(
                AllocationLine.unit_id == "GZ-HZ"
            )
        ).one()
    assert held == 10 and tuple(line) == (11, 11)
    handled = [handled_events(w.log()[start:]) for w, start in zip(workers, before)]
    assert sum(handled) >= 200 and all(handled), handled  # both workers took part in the race


def reserved_count(quota, ids) -> int:
    with quota.stack.runtime.engine.connect() as db:
        return db.execute(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.enrolment_id.in_(ids), Reservation.status == "reserved")
        ).scalar_one()


def handled_events(log: str) -> int:
    lines = [json.loads(line) for line in log.splitlines() if '"batch handled"' in line]
    return sum(line["events"] - line["failed"] for line in lines)


def test_the_same_request_racing_on_two_workers_reserves_once(quota):
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=5, money="0.00")
    saga = Saga(quota, campaign_id)
    workers = [quota.stack.worker(BUS_PREFETCH="1") for _ in range(2)]
    wait_for(lambda: all("consumer ready" in w.log() for w in workers), message="both workers consuming")
    same = saga.request(enrolment_id())
    saga.send_many("enrollment.requested", [same] * 20)
    answers = [saga.answer_for(same["enrolment_id"], count=20)]
    assert answers[0]["type"] == "quota.reserved"
    assert {a["type"] for a in saga.collect()} == {"quota.reserved"}
    assert report_line(quota, campaign_id)["seats"] == {
        "allocated": 5,
        "reserved": 1,
        "consumed": 0,
        "spent": 0,
        "released": 0,
        "available": 4,
    }


def test_a_transfer_asks_again_and_the_held_subsidy_follows_when_it_fits(quota):
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=0, money="1000.00")
    saga = Saga(quota, campaign_id)
    quota.stack.worker()
    dearer, other = (
        saga.request(enrolment_id(), kind="skills", amount="640.00"),
        saga.request(enrolment_id(), kind="skills", amount="300.00"),
    )
    assert saga.asked(dearer)["revision"] == 1 and saga.asked(other)["type"] == "quota.reserved"
    saga.send("enrollment.registered", saga.enrolment(dearer, 2, registered_on="2026-11-21"))

    moved = {**dearer, "revision": 3, "institution_id": "GZ-SYG", "programme_id": "P-2", "amount": "672.00"}
    assert saga.asked(moved, count=2) == {
        "type": "quota.reserved",
        "enrolment_id": dearer["enrolment_id"],
        "campaign_id": campaign_id,
        "unit_id": "GZ-HZ",
        "kind": "skills",
        "amount": "672.00",
        "revision": 3,
    }
    money = {
        "allocated": "1000.00",
        "reserved": "300.00",
        "consumed": "672.00",
        "spent": "0.00",
        "released": "0.00",
        "available": "28.00",
    }
    assert report_line(quota, campaign_id)["money"] == money, "the difference is taken, still consumed"

    too_dear = {**other, "revision": 2, "amount": "328.01"}  # 28.01 more than the 300.00 held; 28.00 left
    refused = saga.asked(too_dear, count=2)
    assert (refused["type"], refused["reason"], refused["revision"], refused["amount"]) == (
        "quota.refused",
        "no_quota_left",
        2,
        "328.01",
    )
    assert saga.asked(too_dear, count=3)["type"] == "quota.refused", "asked again: the same answer"
    assert report_line(quota, campaign_id)["money"] == money, "refused: what was held stays untouched"

    saga.send("enrollment.transferred", {**saga.transfer(dearer, 4, unit="GZ-HZ"), "amount": "672.00"})
    cheaper = saga.asked({**moved, "revision": 5, "programme_id": "P-3", "amount": "500.00"}, count=3)
    assert (cheaper["type"], cheaper["amount"], cheaper["revision"]) == ("quota.reserved", "500.00", 5)
    given_back = {**money, "consumed": "500.00", "released": "172.00", "available": "200.00"}
    wait_for(lambda: report_line(quota, campaign_id)["money"] == given_back, message="the difference given back")
    saga.send("enrollment.transferred", {**saga.transfer(dearer, 5, unit="GZ-HZ"), "amount": "999.00"})  # stale
    saga.send("enrollment.transferred", {**saga.transfer(other, 3, unit="GZ-HZ"), "amount": "300.00"})
    assert saga.asked(saga.request(enrolment_id(), kind="skills", amount="200.00"))["type"] == "quota.reserved"
    assert report_line(quota, campaign_id)["money"] == {**given_back, "reserved": "500.00", "available": "0.00"}
    with quota.stack.runtime.engine.connect() as db:
        held = dict(db.execute(select(Reservation.enrolment_id, Reservation.amount)).all())
    assert (str(held[dearer["enrolment_id"]]), str(held[other["enrolment_id"]])) == ("500.00", "300.00")


def settled(data: dict, revision: int, federation: str, status: str = "settled") -> dict:
    """finance's breakdown.settled for a skills enrolment: 2,350.00 training, the unit 940.00, the employee the rest."""
    employee = str(Decimal("1410.00") - Decimal(federation))
    line = {
        "line": "tuition_or_training",
        "amount": "2350.00",
        "federation": federation,
        "unit": "940.00",
        "employee": employee,
    }
    return {key: data[key] for key in ("enrolment_id", "campaign_id", "unit_id", "institution_id", "kind")} | {
        "revision": revision,
        "status": status,
        "lines": [line],
        "total": "2350.00",
        "federation": federation,
        "unit": "940.00",
        "employee": employee,
    }


def test_a_settled_breakdown_resizes_the_held_subsidy_to_the_federation_share_when_it_fits(quota):
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=0, money="1000.00")
    saga = Saga(quota, campaign_id)
    worker = quota.stack.worker()
    raised, other = (
        saga.request(enrolment_id(), kind="skills", amount="600.00"),
        saga.request(enrolment_id(), kind="skills", amount="300.00"),
    )
    assert saga.asked(raised)["type"] == saga.asked(other)["type"] == "quota.reserved"
    saga.send("enrollment.registered", saga.enrolment(raised, 2, registered_on="2026-11-21"))
    saga.send("breakdown.settled", settled(raised, 1, "600.00"))
    saga.send("breakdown.settled", settled(raised, 2, "660.00"))  # a rate raise in finance
    grown = {
        "allocated": "1000.00",
        "reserved": "300.00",
        "consumed": "660.00",
        "spent": "0.00",
        "released": "0.00",
        "available": "40.00",
    }
    wait_for(lambda: report_line(quota, campaign_id)["money"] == grown, message="the held subsidy grown")

    # an older breakdown (its revision, not the enrolment's, counts), a cancelled one, one that does not fit
    ignored = [
        quota.stack.publish("breakdown.settled", data)
        for data in (
            settled(raised, 1, "600.00"),
            settled(raised, 3, "0.00", status="cancelled"),
            settled(other, 2, "340.01"),
        )
    ]  # 40.01 more; 40.00 left
    with quota.stack.runtime.engine.connect() as db:
        wait_for(
            lambda: (
                db.execute(
                    select(func.count())
                    .select_from(quota.stack.runtime.inbox)
                    .where(quota.stack.runtime.inbox.c.event_id.in_([e.id for e in ignored]))
                ).scalar_one()
                == 3
            ),
            message="the three breakdowns handled",
        )
    assert report_line(quota, campaign_id)["money"] == grown
    assert "settled federation share does not fit" in worker.log()

    saga.send("breakdown.settled", settled(other, 3, "340.00"))
    wait_for(
        lambda: report_line(quota, campaign_id)["money"] == {**grown, "reserved": "340.00", "available": "0.00"},
        message="a later breakdown that fits",
    )
    with quota.stack.runtime.engine.connect() as db:
        held = dict(db.execute(select(Reservation.enrolment_id, Reservation.amount)).all())
    assert (str(held[raised["enrolment_id"]]), str(held[other["enrolment_id"]])) == ("660.00", "340.00")


def test_a_rejected_registration_gives_its_seat_back_once_however_often_it_is_delivered(quota):
    quota.unit("GZ-HZ", 1000)
    campaign_id = published_campaign(quota, seats=2, money="0.00")
    saga = Saga(quota, campaign_id)
    quota.stack.worker()
    first, second, waiting, last = (saga.request(enrolment_id()) for _ in range(4))
    assert [saga.asked(r)["type"] for r in (first, second, waiting)] == ["quota.reserved"] * 2 + ["quota.refused"]
    rejected = {k: first[k] for k in ("enrolment_id", "campaign_id", "kind", "unit_id", "institution_id")}
    rejected |= {"revision": 2, "reason": "entrance_test_failed", "rejected_on": "2026-11-20"}
    saga.send_many("enrollment.registration_rejected", [rejected, rejected])  # redelivered: a new event id
    assert saga.asked({**waiting, "revision": 2}, count=2)["type"] == "quota.reserved"  # the unit uses it again
    assert saga.asked(last)["type"] == "quota.refused"  # released once, not twice
    line = report_line(quota, campaign_id)["seats"]
    assert (line["reserved"], line["released"], line["available"]) == (2, 1, 0)


def test_a_batch_of_requests_beyond_what_is_left_reserves_exactly_that_and_refuses_the_rest(quota):
    campaign_id, saga, worker = batching(quota, seats=4, money="1000.00")
    academic = [saga.request(enrolment_id()) for _ in range(10)]
    skills = [saga.request(enrolment_id(), kind="skills", amount=a) for a in ("600.00", "500.00", "400.00")]
    elsewhere = saga.request(enrolment_id(), unit="GZ-NOWHERE")
    before = len(worker.log())

    # one burst: the first request delivered again at the end (a redelivery: a new event id)
    batch = [*academic, *skills, elsewhere, academic[0]]
    saga.send_many("enrollment.requested", batch)
    ids = [r["enrolment_id"] for r in batch]
    wait_for(
        lambda: len([a for a in saga.collect() if a["enrolment_id"] in ids]) >= len(batch),
        timeout=60,
        message=f"{len(batch)} answers",
    )
    answers = {}
    for answer in saga.collect():
        answers.setdefault(answer["enrolment_id"], []).append(answer)

    outcomes = [(answers[r["enrolment_id"]][0]["type"], answers[r["enrolment_id"]][0].get("reason")) for r in academic]
    assert outcomes == [("quota.reserved", None)] * 4 + [("quota.refused", "no_quota_left")] * 6  # in delivery order
    assert [answers[r["enrolment_id"]][0]["type"] for r in skills] == [
        "quota.reserved",
        "quota.refused",  # 500.00 does not fit in the 400.00 left; the next 400.00 does
        "quota.reserved",
    ]
    assert answers[skills[1]["enrolment_id"]][0]["reason"] == "no_quota_left"
    assert [(a["type"], a["reason"]) for a in answers[elsewhere["enrolment_id"]]] == [("quota.refused", "unit_unknown")]
    assert [a["type"] for a in answers[academic[0]["enrolment_id"]]] == ["quota.reserved"] * 2  # answered again
    report = report_line(quota, campaign_id)
    assert (report["seats"]["reserved"], report["seats"]["available"]) == (4, 0)
    assert (report["money"]["reserved"], report["money"]["available"]) == ("1000.00", "0.00")
    assert reserved_count(quota, ids) == 6
    assert handled_in_batches(worker, before), "the requests were handled one by one"


def test_batches_of_registrations_admissions_and_breakdowns_end_as_if_handled_one_by_one(quota):
    campaign_id, saga, worker = batching(quota, seats=3, money="2000.00")
    skills = [saga.request(enrolment_id(), kind="skills", amount="400.00") for _ in range(4)]
    academic = [saga.request(enrolment_id()) for _ in range(3)]
    saga.send_many("enrollment.requested", skills + academic)
    ids = [r["enrolment_id"] for r in skills + academic]
    wait_for(lambda: len([a for a in saga.collect() if a["enrolment_id"] in ids]) == 7, message="7 answers")
    assert {a["type"] for a in saga.collect()} == {"quota.reserved"}
    before = len(worker.log())

    def registered(data, revision):
        return saga.enrolment(data, revision, registered_on="2026-11-21")

    # the first skills registration delivered again (a new event id), the last one stale (the request's revision);
    # an academic registration consumes nothing: its seat is used on admission
    saga.send_many(
        "enrollment.registered",
        [*(registered(r, 2) for r in skills[:3]), registered(skills[0], 2), registered(skills[3], 1)]
        + [registered(r, 2) for r in academic],
    )
    admitted = [saga.enrolment(r, 3, admitted_on="2026-12-01") for r in academic[:2]]
    saga.send_many(
        "enrollment.admitted", [*admitted, admitted[1], saga.enrolment(academic[2], 1, admitted_on="2026-12-01")]
    )
    # shares: one grows, one shrinks, one stays; a repeated and an older breakdown change nothing
    saga.send_many(
        "breakdown.settled",
        [
            settled(skills[0], 1, "500.00"),
            settled(skills[1], 1, "300.00"),
            settled(skills[2], 1, "400.00"),
            settled(skills[0], 1, "500.00"),
            settled(skills[3], 2, "450.00"),
            settled(skills[3], 1, "999.00"),
        ],
    )
    money = {"allocated": "2000.00", "reserved": "450.00", "consumed": "1200.00", "spent": "0.00"}
    seats = {"allocated": 3, "reserved": 1, "consumed": 2, "spent": 0, "released": 0, "available": 0}
    first = {**money, "released": "100.00", "available": "350.00"}
    wait_for(lambda: report_line(quota, campaign_id)["money"] == first, message=f"money {first}")
    wait_for(lambda: report_line(quota, campaign_id)["seats"] == seats, message=f"seats {seats}")

    # 400.00 more do not fit whole in the 350.00 left: one by one in delivery order, the first fits and the second
    # does not, though the shrink after it leaves room enough at the end
    saga.send_many(
        "breakdown.settled",
        [settled(skills[0], 2, "700.00"), settled(skills[2], 2, "600.00"), settled(skills[1], 2, "250.00")],
    )
    last = {**money, "consumed": "1350.00", "released": "150.00", "available": "200.00"}
    wait_for(lambda: report_line(quota, campaign_id)["money"] == last, message=f"money {last}")
    with quota.stack.runtime.engine.connect() as db:
        held = dict(db.execute(select(Reservation.enrolment_id, Reservation.amount)).all())
        statuses = dict(db.execute(select(Reservation.enrolment_id, Reservation.status)).all())
    assert [str(held[r["enrolment_id"]]) for r in skills] == ["700.00", "250.00", "400.00", "450.00"]
    assert [statuses[r["enrolment_id"]] for r in skills + academic] == ["consumed"] * 3 + ["reserved"] + [
        "consumed"
    ] * 2 + ["reserved"]
    assert "settled federation share does not fit" in worker.log()[before:]
    assert handled_in_batches(worker, before), "the events were handled one by one"
