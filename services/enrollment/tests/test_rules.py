"""Pure rules: ID numbers, phones, masks, the notice, the skills share, working days, classes, retakes."""

from datetime import date
from decimal import Decimal

import pytest

from servicekit.resident_id import check_digit
from services.enrollment.domain import classes
from services.enrollment.domain import enrolment as rules
from services.enrollment.domain import status_changes as changes
from services.enrollment.domain.people import (
    InvalidPersonalData,
    mask_name,
    mask_phone,
    mask_resident_id,
    normalise_mobile,
    normalise_resident_id,
)
from services.enrollment.domain.workdays import CalendarMissing, WorkCalendar, roster_deadline

TODAY = date(2013, 11, 20)


def with_check(first17: str) -> str:
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    "first17, expected",
    [
        ("11010519491231002", "X"),  # the example of GB 11643
        ("44052418800101001", "4"),
        ("44010419850312001", "2"),
    ],
)
def test_check_digit_is_iso_7064_mod_11_2(first17, expected):
    assert check_digit(first17) == expected


def test_valid_number_is_normalised_to_upper_case_x():
    assert normalise_resident_id(" 44010419800101018x ", TODAY) == "44010419800101018X"
    assert normalise_resident_id("440104198503120012", TODAY) == "440104198503120012"


@pytest.mark.parametrize(
    "number, reason",
    [
        ("44010419850312001", "18 characters"),
        ("4401041985031200122", "18 characters"),
        ("44010419850312001A", "18 characters"),
        (with_check("99010419850312001"), "region"),
        (with_check("44000419850312001"), "region"),
        (with_check("44010419850230001"), "not a real date"),
        (with_check("44010420100101001"), "working age"),  # 3 years old
        (with_check("44010419300101001"), "working age"),  # 83 years old
        ("440104198503120013", "check digit"),
        ("44010419850312X012", "18 characters"),  # X only as the check character
    ],
)
def test_invalid_numbers_say_what_is_wrong(number, reason):
    with pytest.raises(InvalidPersonalData, match=reason):
        normalise_resident_id(number, TODAY)


def test_working_age_bounds_are_inclusive():
    assert normalise_resident_id(with_check("44010419971120001"), TODAY)  # 16 today
    assert normalise_resident_id(with_check("44010419481120001"), TODAY)  # 65 today
    with pytest.raises(InvalidPersonalData, match="working age"):
        normalise_resident_id(with_check("44010419971121001"), TODAY)  # 16 tomorrow
    with pytest.raises(InvalidPersonalData, match="working age"):
        normalise_resident_id(with_check("44010419471120001"), TODAY)  # 66 today


@pytest.mark.parametrize(
    "raw, phone",
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("8619912345678", "19912345678")],
)
def test_mainland_mobiles(raw, phone):
    assert normalise_mobile(raw) == phone


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "020-83331234", "138001380001"])
def test_not_mainland_mobiles(raw):
    with pytest.raises(InvalidPersonalData):
        normalise_mobile(raw)


def test_masks_keep_only_the_edges():
    assert mask_resident_id("44010419800101018X") == "4401**********018X"
    assert mask_phone("13800138000") == "138****8000"


@pytest.mark.parametrize(
    "name, masked",
    [
        ("张三", "张*"),
        ("张三丰", "张*丰"),
        ("欧阳娜娜", "欧**娜"),
        ("李", "李*"),
        ("阿卜杜热合曼·买买提", "阿********提"),
        ("X" * 50, "X" + "*" * 28 + "X"),
    ],
)
def test_names_keep_the_first_and_for_three_or_more_the_last_character(name, masked):
    assert mask_name(name) == masked


def test_notice_ends_after_its_days_and_blocks_confirmation_until_then():
    end = rules.notice_end(date(2013, 11, 4), 5)
    assert end == date(2013, 11, 9)
    blocked = dict(open_objections=0, consented=True, notice_ends_on=end)
    assert rules.confirmation_blockers(today=date(2013, 11, 8), **blocked) == [
        "The public notice runs until 2013-11-09."
    ]
    assert rules.confirmation_blockers(today=end, **blocked) == []


def test_open_objection_and_missing_consent_block_confirmation():
    blockers = rules.confirmation_blockers(today=TODAY, notice_ends_on=TODAY, open_objections=2, consented=False)
    assert blockers == [
        "2 objection(s) still without an outcome.",
        "The employee's consent (voluntary participation) is not recorded.",
    ]


def test_federation_skills_share_uses_the_trade_override_and_rounds_half_up():
    assert rules.federation_rate(Decimal("0.40"), {"电工": "0.50"}, "电工") == Decimal("0.50")
    assert rules.federation_rate(Decimal("0.40"), {"电工": "0.50"}, "焊工") == Decimal("0.40")
    assert rules.federation_skills_share(Decimal("2350.00"), Decimal("0.40")) == Decimal("940.00")
    assert rules.federation_skills_share(Decimal("1234.55"), Decimal("0.40")) == Decimal("493.82")
    assert rules.federation_skills_share(Decimal("1234.55"), Decimal("0.3333")) == Decimal("411.48")


def test_registration_window_includes_both_ends():
    assert rules.in_window(date(2013, 11, 1), date(2013, 11, 1), date(2014, 1, 15))
    assert rules.in_window(date(2014, 1, 15), date(2013, 11, 1), date(2014, 1, 15))
    assert not rules.in_window(date(2014, 1, 16), date(2013, 11, 1), date(2014, 1, 15))


def test_roster_deadline_counts_back_over_spring_festival_and_a_make_up_saturday():
    calendar = WorkCalendar({})
    # 2014: Spring Festival off 31 Jan - 6 Feb; Sunday 26 Jan and Saturday 8 Feb were working days.
    assert roster_deadline(date(2014, 2, 10), 5, calendar.is_workday) == date(2014, 1, 28)
    assert roster_deadline(date(2014, 2, 10), 2, calendar.is_workday) == date(2014, 2, 7)
    assert roster_deadline(date(2014, 2, 10), 1, calendar.is_workday) == date(2014, 2, 8)  # the make-up Saturday
    assert roster_deadline(date(2014, 1, 28), 2, calendar.is_workday) == date(2014, 1, 26)  # the make-up Sunday
    assert roster_deadline(date(2014, 3, 10), 5, calendar.is_workday) == date(2014, 3, 3)  # an ordinary week
    assert roster_deadline(date(2014, 3, 10), 0, calendar.is_workday) == date(2014, 3, 10)


def test_a_loaded_year_overrides_and_a_year_without_data_is_an_error():
    calendar = WorkCalendar({2030: {date(2030, 1, 1): False, date(2030, 1, 5): True}})
    assert not calendar.is_workday(date(2030, 1, 1))  # 元旦, a Tuesday
    assert calendar.is_workday(date(2030, 1, 5))  # a make-up Saturday
    assert calendar.is_workday(date(2030, 1, 7)) and not calendar.is_workday(date(2030, 1, 6))  # plain week
    assert roster_deadline(date(2030, 1, 7), 3, calendar.is_workday) == date(2030, 1, 3)
    with pytest.raises(CalendarMissing, match="2029"):
        roster_deadline(date(2030, 1, 2), 2, calendar.is_workday)  # reaches back into 2029
    with pytest.raises(CalendarMissing, match="2031"):
        calendar.is_workday(date(2031, 6, 1))


def test_more_than_the_threshold_make_a_dedicated_class():
    assert classes.arrangement(30, 30) == classes.PUBLIC
    assert classes.arrangement(31, 30) == classes.DEDICATED


def test_a_dedicated_class_needs_both_staff_a_joined_one_none():
    assert classes.staffing_gaps(True, None, "李助理") == ["head_teacher"]
    assert classes.staffing_gaps(True, "王老师", "") == ["learning_assistant"]
    assert classes.staffing_gaps(True, "王老师", "李助理") == []
    assert classes.staffing_gaps(False, None, None) == []


@pytest.mark.parametrize(
    "kind, failed, passed_before, opened, retakes",
    [
        ("skills", True, False, True, True),
        ("academic", True, False, True, False),  # academic retakes follow national rules, outside the system
        ("skills", False, False, True, False),
        ("skills", True, True, True, False),  # an older failure arriving after a pass
        ("skills", True, False, False, False),
    ],
)
def test_only_a_failed_skills_student_of_an_opened_class_retakes(kind, failed, passed_before, opened, retakes):
    assert classes.retakes_after(kind, failed, passed_before, opened) is retakes


def test_the_unit_approves_withdrawals_and_agrees_to_moves_the_federation_reviews_moves():
    assert changes.next_step(changes.WITHDRAWAL, changes.REQUESTED_CHANGE, "unit_officer") == changes.APPROVED
    assert changes.next_step(changes.TRANSFER, changes.REQUESTED_CHANGE, "unit_officer") == changes.UNIT_AGREED
    assert changes.next_step(changes.TRANSFER, changes.REQUESTED_CHANGE, "federation_admin") is None
    assert changes.next_step(changes.MAJOR_CHANGE, changes.UNIT_AGREED, "federation_admin") == changes.APPROVED
    assert changes.next_step(changes.TRANSFER, changes.UNIT_AGREED, "unit_officer") is None
    assert changes.next_step(changes.WITHDRAWAL, changes.APPROVED, "unit_officer") is None


@pytest.mark.parametrize(
    "kind, to_institution, to_kind, same, fits",
    [
        (changes.TRANSFER, "GZ-SYG", "skills", False, True),
        (changes.TRANSFER, "GZ-ZGJS", "skills", False, False),  # same institution: not a transfer
        (changes.TRANSFER, "GZ-SYG", "academic", False, False),
        (changes.TRANSFER, "GZ-SYG", "skills", True, False),
        (changes.MAJOR_CHANGE, "GZ-ZGJS", "skills", False, False),  # a major is academic
    ],
)
def test_the_target_of_a_move_must_fit(kind, to_institution, to_kind, same, fits):
    assert (changes.move_problem(kind, "GZ-ZGJS", to_institution, "skills", to_kind, same) is None) is fits


def test_a_change_of_major_stays_at_the_institution():
    assert changes.move_problem(changes.MAJOR_CHANGE, "GZ-GCJS", "GZ-GCJS", "academic", "academic", False) is None
    assert changes.move_problem(changes.MAJOR_CHANGE, "GZ-GCJS", "GZ-ZGJY", "academic", "academic", False)
