"""Pure rules: batch planning, retakes, certificate eligibility, survey summaries, scores."""

from datetime import date
from decimal import Decimal

import pytest

from services.evaluation import rules
from services.evaluation.rules import Attempt, ClassFacts, EnrolmentFacts

TODAY = date(2014, 7, 1)
SKILLS = EnrolmentFacts("GZ-ZGJS", "skills", "registered", date(2014, 3, 1))


def result_line(enrolment="e1", exam="鉴定", held_on=date(2014, 4, 1), passed=True):
    return {"enrolment_id": enrolment, "exam": exam, "held_on": held_on, "score": Decimal("60"), "passed": passed}


def test_attempts_are_numbered_after_the_history_and_within_the_batch():
    history = {("e1", "鉴定"): [Attempt(date(2014, 3, 10), False, 1)]}
    planned, errors = rules.plan_batch(
        [result_line(held_on=date(2014, 4, 1), passed=False), result_line(held_on=date(2014, 5, 1))],
        "GZ-ZGJS",
        {"e1": SKILLS},
        history,
        TODAY,
    )
    assert errors == {}
    assert [(p.attempt, p.retake) for p in planned] == [(2, "free_later_class"), (3, None)]


def test_a_batch_with_one_bad_line_plans_nothing():
    planned, errors = rules.plan_batch(
        [result_line(), result_line("e2"), result_line(held_on=date(2014, 4, 1))], "GZ-ZGJS", {"e1": SKILLS}, {}, TODAY
    )
    assert planned == []
    assert errors == {
        1: ["Not an enrolment of your institution."],
        2: ["A result of this exam on this date is already recorded."],
    }


@pytest.mark.parametrize(
    ("kind", "passed", "retake"),
    [("skills", False, "free_later_class"), ("academic", False, "course_retake"), ("skills", True, None)],
)
def test_retake_after_a_fail(kind, passed, retake):
    assert rules.retake_after(kind, passed) == retake


def test_a_certificate_needs_the_latest_attempt_at_every_exam_passed():
    failed_then_passed = [("理论", 1, False, date(2014, 4, 1)), ("理论", 2, True, date(2014, 5, 1))]
    assert rules.certificate_refusal(failed_then_passed, "registered", date(2014, 5, 2), TODAY) is None
    one_still_failed = failed_then_passed + [("实操", 1, False, date(2014, 5, 1))]
    refusal = rules.certificate_refusal(one_still_failed, "registered", date(2014, 5, 2), TODAY)
    assert refusal.field == "enrolment_id" and "not passed" in refusal.message
    assert rules.certificate_refusal(failed_then_passed, "registered", date(2014, 5, 1), TODAY) is None
    early = rules.certificate_refusal(failed_then_passed, "registered", date(2014, 4, 30), TODAY)
    assert early.field == "issued_on" and "2014-05-01" in early.message
    assert rules.certificate_refusal(failed_then_passed, "withdrawn", date(2014, 5, 2), TODAY)
    assert rules.certificate_refusal([], "registered", date(2014, 5, 2), TODAY)


def test_survey_results_need_five_answers():
    four = [{"teaching": 5, "service": 4, "organisation": 3}] * 4
    assert rules.summarise_answers(four) is None
    summary = rules.summarise_answers(four + [{"teaching": 1, "service": 1, "organisation": 1}])
    assert summary["averages"] == {
        "teaching": Decimal("4.20"),
        "service": Decimal("3.40"),
        "organisation": Decimal("2.60"),
    }
    assert summary["distribution"]["teaching"] == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 4}


def weekdays(start: date, end: date) -> int:
    return sum(1 for n in range((end - start).days) if date.fromordinal(start.toordinal() + n).weekday() < 5)


def test_plan_execution_counts_opening_dates_and_roster_lead_times():
    classes = [
        ClassFacts(date(2014, 1, 6), date(2014, 1, 6), date(2013, 12, 30)),  # 5 working days: on time
        ClassFacts(date(2014, 1, 7), date(2014, 1, 6), None),  # late, no roster
        ClassFacts(date(2014, 1, 6), None, date(2014, 1, 2)),
    ]  # programme unknown; roster late
    score, figures = rules.plan_execution(classes, 5, weekdays)
    assert figures == {"classes": 3, "opened_on_time": 1, "opening_checked": 2, "rosters_on_time": 1}
    assert score == Decimal("40.00")


def test_the_overall_score_spreads_missing_criteria_weights():
    weights = rules.DEFAULT_WEIGHTS
    assert rules.overall({"results": Decimal("80"), "inspection": None}, weights) == Decimal("80.00")
    assert rules.overall({name: None for name in rules.CRITERIA}, weights) is None
    assert rules.check_weights({**weights, "results": Decimal("0.30")}) == "The weights must add up to 1."
