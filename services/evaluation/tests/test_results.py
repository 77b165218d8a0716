"""Exam results in bulk from institution systems: all or nothing, idempotent, own students only, retakes."""

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.processes import wait_for

from .helpers import line

pytestmark = pytest.mark.servers


def test_a_batch_records_each_result_and_announces_it(evaluation):
    tap = evaluation.stack.tap("exam.result_recorded")
    evaluation.stack.worker()
    a, b = evaluation.enrol(), evaluation.enrol()
    response = evaluation.post_batch([line(a), line(b, passed=False, score="41.00")])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["recorded"] == 2
    messages = wait_for(
        lambda: (found := evaluation.stack.drain(tap)) and len(found) >= 2 and found, message="two exam.result_recorded"
    )
    events = sorted((json.loads(m.body)["data"] for m in messages), key=lambda d: d["passed"])
    assert [(e["enrolment_id"], e["passed"], e["attempt"], e.get("retake")) for e in events] == [
        (b["enrolment_id"], False, 1, "free_later_class"),
        (a["enrolment_id"], True, 1, None),
    ]
    assert events[0]["score"] == "41.00"


def test_one_bad_line_rejects_the_whole_batch_with_a_report_per_line(evaluation):
    good = evaluation.enrol()
    response = evaluation.post_batch(
        [
            line(good),
            line(good, held_on="2099-01-01", exam="理论"),
            {**line(good, exam="实操"), "passed": "yes"},
        ]
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["lines"]) == {"2"}  # schema errors come first
    response = evaluation.post_batch(
        [line(good), line(good, held_on="2099-01-01", exam="理论"), line(good, held_on="2014-02-01", exam="实操")]
    )
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "evaluation_batch_rejected"
    assert body["errors"]["lines"] == {
        "1": ["The exam date is in the future."],
        "2": ["The campaign's exams start on 2014-03-01."],
    }
    assert evaluation.client.get("/results", headers=evaluation.admin()).get_json() == []


def test_a_replayed_batch_is_accepted_once_and_a_changed_one_refused(evaluation):
    student = evaluation.enrol()
    key = str(uuid.uuid4())
    first = evaluation.post_batch([line(student)], key=key)
    again = evaluation.post_batch([line(student)], key=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(evaluation.client.get("/results", headers=evaluation.admin()).get_json()) == 1
    changed = evaluation.post_batch([line(student, score="99.00")], key=key)
    assert changed.status_code == 422 and changed.get_json()["code"] == "idempotency_key_reused"
    missing = evaluation.client.post(
        "/results/batches", json={"lines": [line(student)]}, headers=evaluation.institution()
    )
    assert (missing.status_code, missing.get_json()["code"]) == (400, "idempotency_key_required")
    # the key is the caller's own: the institution's operator may use the same one for a batch of theirs
    operator = evaluation.stack.as_caller("institution_operator", subject="operator-1", institution_id="GZ-ZGJS")
    other = evaluation.enrol()
    theirs = evaluation.client.post(
        "/results/batches", json={"lines": [line(other)]}, headers={**operator, "Idempotency-Key": key}
    )
    assert theirs.status_code == 201 and theirs.headers["Idempotent-Replayed"] == "false"
    assert len(evaluation.client.get("/results", headers=evaluation.admin()).get_json()) == 2


def test_an_institution_cannot_publish_for_another_institutions_student(evaluation):
    ours, theirs = evaluation.enrol("GZ-ZGJS"), evaluation.enrol("GZ-FCG")
    response = evaluation.post_batch([line(ours), line(theirs), line({"enrolment_id": str(uuid.uuid4())})])
    assert response.status_code == 422
    assert response.get_json()["errors"]["lines"] == {
        "1": ["Not an enrolment of your institution."],
        "2": ["Not an enrolment of your institution."],
    }
    employee = evaluation.stack.as_caller("employee", employee_id=ours["employee_id"])
    forbidden = evaluation.client.post(
        "/results/batches", json={"lines": [line(ours)]}, headers={**employee, "Idempotency-Key": "k"}
    )
    assert forbidden.status_code == 403


def test_retakes_are_kept_as_new_attempts_and_students_see_their_own(evaluation):
    skills, academic = evaluation.enrol(), evaluation.enrol(kind="academic")
    assert (
        evaluation.post_batch(
            [
                line(skills, passed=False, score="50.00"),
                line(academic, passed=False, exam="高等数学", held_on="2014-03-20"),
            ]
        ).status_code
        == 201
    )
    assert evaluation.post_batch([line(skills, held_on="2014-06-10", score="81.00")]).status_code == 201
    again = evaluation.post_batch([line(skills, held_on="2014-07-10")])
    assert again.get_json()["errors"]["lines"] == {"0": ["This exam was already passed."]}

    mine = evaluation.client.get("/results", headers=evaluation.employee(skills["employee_id"])).get_json()
    assert [(r["attempt"], r["passed"], r["score"], r["retake"]) for r in mine] == [
        (1, False, "50.00", "free_later_class"),
        (2, True, "81.00", None),
    ]
    theirs = evaluation.client.get("/results", headers=evaluation.employee(academic["employee_id"])).get_json()
    assert [(r["exam"], r["retake"]) for r in theirs] == [("高等数学", "course_retake")]
    other_institution = evaluation.client.get("/results", headers=evaluation.institution("GZ-FCG")).get_json()
    assert other_institution == []


def test_racing_batches_record_each_sitting_once(evaluation):
    student = evaluation.enrol()

    def race(*batches):
        barrier = threading.Barrier(len(batches))

        def send(args):
            barrier.wait()
            return evaluation.post_batch([line(student, **args[0])], key=args[1]).status_code

        with ThreadPoolExecutor(len(batches)) as pool:
            return sorted(pool.map(send, batches))

    same_key = str(uuid.uuid4())
    failed = {"passed": False}
    assert race((failed, same_key), (failed, same_key)) in ([201, 201], [201, 409])  # replayed, or still in flight
    other_day = {"held_on": "2014-05-20"}
    assert race((other_day, "a"), (other_day, "b")) in ([201, 409], [201, 422])
    attempts = evaluation.client.get("/results", headers=evaluation.admin()).get_json()
    assert [(r["held_on"], r["attempt"]) for r in attempts] == [("2014-04-19", 1), ("2014-05-20", 2)]
