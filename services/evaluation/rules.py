"""Pure evaluation rules: exam batches, retakes, certificates, survey summaries, scores (no Flask, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from servicekit.i18n import _

# skills: a later class of the same trade at the same institution, free of training fee
FREE_LATER_CLASS = "free_later_class"
COURSE_RETAKE = "course_retake"  # academic: the failed course is retaken under national rules
ACTIVE = ("registered", "admitted")


@dataclass(frozen=True)
class EnrolmentFacts:
    institution_id: str
    kind: str
    status: str
    exams_from: date | None  # the campaign's exam window, when the campaign is known


@dataclass(frozen=True)
class Attempt:
    held_on: date
    passed: bool
    attempt: int


@dataclass(frozen=True)
class NewResult:
    line: int
    enrolment_id: str
    exam: str
    held_on: date
    score: Decimal
    passed: bool
    attempt: int
    retake: str | None


def retake_after(kind: str, passed: bool) -> str | None:
    if passed:
        return None
    return FREE_LATER_CLASS if kind == "skills" else COURSE_RETAKE


def plan_batch(
    lines: list[dict],
    institution_id: str,
    enrolments: dict[str, EnrolmentFacts],
    history: dict[tuple[str, str], list[Attempt]],
    today: date,
) -> tuple[list[NewResult], dict[int, list[str]]]:
    """The results a batch records, numbered as attempts, or the errors of every bad line (by 0-based index)."""
    errors: dict[int, list[str]] = {}
    planned: list[NewResult] = []
    seen: dict[tuple[str, str], list[Attempt]] = {}
    for number, line in enumerate(lines):
        problems: list[str] = []
        facts = enrolments.get(line["enrolment_id"])
        # Unknown and foreign enrolments get the same answer: another institution's students stay invisible.
        if facts is None or facts.institution_id != institution_id:
            errors[number] = [_("Not an enrolment of your institution.")]
            continue
        if facts.status not in ACTIVE:
            problems.append(_("The enrolment is withdrawn."))
        if line["held_on"] > today:
            problems.append(_("The exam date is in the future."))
        if facts.exams_from and line["held_on"] < facts.exams_from:
            problems.append(
                _("The campaign's exams start on {exams_from}.").format(exams_from=facts.exams_from.isoformat())
            )
        key = (line["enrolment_id"], line["exam"])
        attempts = history.get(key, []) + seen.get(key, [])
        if any(a.held_on == line["held_on"] for a in attempts):
            problems.append(_("A result of this exam on this date is already recorded."))
        elif any(a.passed for a in attempts if a.held_on < line["held_on"]):
            problems.append(_("This exam was already passed."))
        if problems:
            errors[number] = problems
            continue
        attempt = max((a.attempt for a in attempts), default=0) + 1
        seen.setdefault(key, []).append(Attempt(line["held_on"], line["passed"], attempt))
        planned.append(
            NewResult(
                number,
                line["enrolment_id"],
                line["exam"],
                line["held_on"],
                line["score"],
                line["passed"],
                attempt,
                retake_after(facts.kind, line["passed"]),
            )
        )
    return ([] if errors else planned), errors


def latest_attempts(attempts: list[tuple[str, int, bool, date]]) -> dict[str, tuple[bool, date]]:
    """exam -> (passed, held_on) of its latest attempt."""
    latest: dict[str, tuple[int, bool, date]] = {}
    for exam, attempt, passed, held_on in attempts:
        if exam not in latest or attempt > latest[exam][0]:
            latest[exam] = (attempt, passed, held_on)
    return {exam: (passed, held_on) for exam, (_, passed, held_on) in latest.items()}


def has_passed(attempts: list[tuple[str, int, bool, date]]) -> bool:
    """Examined and the latest attempt at every exam passed (a failed course still open blocks completion)."""
    latest = latest_attempts(attempts)
    return bool(latest) and all(passed for passed, _ in latest.values())


@dataclass(frozen=True)
class Refusal:
    field: str  # the request field the refusal is about, for a per-row report
    message: str


def certificate_refusal(
    attempts: list[tuple[str, int, bool, date]], enrolment_status: str | None, issued_on: date, today: date
) -> Refusal | None:
    """Why a certificate may not be issued, or None: only after a pass, never for a withdrawn student."""
    if enrolment_status is None:
        return Refusal("enrolment_id", _("Not an enrolment of your institution."))
    if enrolment_status not in ACTIVE:
        return Refusal("enrolment_id", _("The enrolment is withdrawn."))
    if issued_on > today:
        return Refusal("issued_on", _("The issue date is in the future."))
    if not has_passed(attempts):
        return Refusal("enrolment_id", _("The student has not passed every exam recorded for this enrolment."))
    last_pass = max(held_on for _, held_on in latest_attempts(attempts).values())
    if issued_on < last_pass:
        return Refusal(
            "issued_on",
            _("A certificate cannot be dated before the last pass ({last_pass}).").format(
                last_pass=last_pass.isoformat()
            ),
        )
    return None


def repeated_in_batch(requests: list[tuple[int, str, str]]) -> dict[int, Refusal]:
    """Rows (row, enrolment_id, number) repeating an earlier row's number or enrolment: a batch certifies once."""
    numbers: dict[str, int] = {}
    enrolments: dict[str, int] = {}
    repeated = {}
    for row, enrolment_id, number in requests:
        if number in numbers:
            repeated[row] = Refusal(
                "number", _("Number {number} is also in row {row}.").format(number=number, row=numbers[number])
            )
        elif enrolment_id in enrolments:
            repeated[row] = Refusal(
                "enrolment_id", _("The enrolment is also certified in row {row}.").format(row=enrolments[enrolment_id])
            )
        numbers.setdefault(number, row)
        enrolments.setdefault(enrolment_id, row)
    return repeated


# --- anonymous surveys -------------------------------------------------------------------------

MIN_GROUP = 5  # results of fewer answers are withheld: too few to hide who said what
QUESTIONS = ("teaching", "service", "organisation")
HUNDREDTH = Decimal("0.01")


def summarise_answers(answers: list[dict]) -> dict | None:
    """Averages (to the hundredth) and the distribution per question, or None for a group under MIN_GROUP."""
    if len(answers) < MIN_GROUP:
        return None
    count = len(answers)
    averages = {q: (Decimal(sum(a[q] for a in answers)) / count).quantize(HUNDREDTH, ROUND_HALF_UP) for q in QUESTIONS}
    overall = (Decimal(sum(a[q] for a in answers for q in QUESTIONS)) / (count * len(QUESTIONS))).quantize(
        HUNDREDTH, ROUND_HALF_UP
    )
    distribution = {q: {str(v): sum(1 for a in answers if a[q] == v) for v in range(1, 6)} for q in QUESTIONS}
    return {"answers": count, "averages": averages, "overall": overall, "distribution": distribution}


# --- institution scores ------------------------------------------------------------------------

CRITERIA = ("plan_execution", "satisfaction", "results", "use_of_funds", "inspection")
# [decided] defaults, editable by the federation (scoring settings)
DEFAULT_WEIGHTS = {
    "plan_execution": Decimal("0.20"),
    "satisfaction": Decimal("0.25"),
    "results": Decimal("0.25"),
    "use_of_funds": Decimal("0.15"),
    "inspection": Decimal("0.15"),
}
DEFAULT_NOTICE_THRESHOLD = Decimal("60.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ClassFacts:
    opens_on: date
    programme_starts_on: date | None  # None: the programme is not known here yet
    roster_submitted_on: date | None  # None: no roster submitted (late by definition)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    return None if not whole else (HUNDRED * Decimal(part) / Decimal(whole)).quantize(HUNDREDTH, ROUND_HALF_UP)


def plan_execution(classes: list[ClassFacts], lead_working_days: int, working_days) -> tuple[Decimal | None, dict]:
    """Classes opened by their programme's start date, and rosters in at least `lead_working_days` working
    days before the class opens (`working_days(a, b)` counts working days d with a <= d < b)."""
    dated = [(c.opens_on, c.programme_starts_on) for c in classes if c.programme_starts_on]
    opened_on_time = sum(1 for opens_on, starts_on in dated if opens_on <= starts_on)
    rosters_on_time = sum(
        1
        for c in classes
        if c.roster_submitted_on and working_days(c.roster_submitted_on, c.opens_on) >= lead_working_days
    )
    figures = {
        "classes": len(classes),
        "opened_on_time": opened_on_time,
        "opening_checked": len(dated),
        "rosters_on_time": rosters_on_time,
    }
    return percent(opened_on_time + rosters_on_time, len(dated) + len(classes)), figures


def satisfaction(summary: dict | None, answers: int) -> tuple[Decimal | None, dict]:
    """The overall 1-5 average mapped to 0-100; nothing from a group under MIN_GROUP."""
    if summary is None:
        return None, {"answers": "withheld" if answers else 0}
    score = ((summary["overall"] - 1) / 4 * HUNDRED).quantize(HUNDREDTH, ROUND_HALF_UP)
    return score, {"answers": summary["answers"], "overall_1_to_5": str(summary["overall"])}


def results(passed_by_enrolment: list[bool]) -> tuple[Decimal | None, dict]:
    """Pass rate of the examined students: passed = the latest attempt at every exam passed."""
    passed = sum(passed_by_enrolment)
    return percent(passed, len(passed_by_enrolment)), {"examined": len(passed_by_enrolment), "passed": passed}


def use_of_funds(
    active: int, paid_in_full: int, certified: int, federation_share_paid: int, funds_transferred: Decimal
) -> tuple[Decimal | None, dict]:
    """Fees collected in full from active students, and the federation's share paid to certified ones; beside
    them, the campaign's federation money held by the units (transferred less reclaimed), for the record."""
    figures = {
        "active_enrolments": active,
        "paid_in_full": paid_in_full,
        "certified": certified,
        "federation_share_paid": federation_share_paid,
        "funds_transferred": f"{funds_transferred:.2f}",
    }
    return percent(paid_in_full + federation_share_paid, active + certified), figures


def inspection(score_sheets: list[dict[str, int]]) -> tuple[Decimal | None, dict]:
    marks = [mark for sheet in score_sheets for mark in sheet.values()]
    score = None if not marks else (Decimal(sum(marks)) / len(marks)).quantize(HUNDREDTH, ROUND_HALF_UP)
    return score, {"inspections": len(score_sheets), "marks": len(marks)}


def overall(scores: dict[str, Decimal | None], weights: dict[str, Decimal]) -> Decimal | None:
    """Weighted mean of the criteria that have data; the weights of the others are spread over them."""
    present = {name: score for name, score in scores.items() if score is not None and weights.get(name)}
    total = sum((weights[name] for name in present), Decimal(0))
    if not total:
        return None
    return (sum(weights[name] * score for name, score in present.items()) / total).quantize(HUNDREDTH, ROUND_HALF_UP)


def check_weights(weights: dict[str, Decimal]) -> str | None:
    if set(weights) != set(CRITERIA):
        return _("Give a weight for each of: {values}.").format(values=", ".join(CRITERIA))
    if sum(weights.values()) != 1:
        return _("The weights must add up to 1.")
    return None
