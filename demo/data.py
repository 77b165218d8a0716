"""The shipped demo data, the demo's people and the campaign's calendar moved to the day the demo runs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from servicekit.resident_id import check_digit

DATA = Path(__file__).parent / "data"


@cache
def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def campaign_body(today: date) -> dict:
    """The plan's campaign, its windows moved so that registration is open on `today`.

    The plan's dates lie in 2013-14, and every service checks its windows against the real day of the
    request: the demo keeps the plan's numbers and rules and moves the calendar instead of the clock.
    Registration and study keep their lengths and start as long before `today` as the plan's did before
    2013-11-25; exams open with registration, so one sitting can walk a student to the certificate."""
    plan = load("campaign")
    windows = {name: date.fromisoformat(day) for name, day in plan["plan_windows"].items()}
    shift = today - date(plan["plan_year"], 11, 25)
    moved = {name: day + shift for name, day in windows.items()}
    moved["exams_from"] = moved["registration_start"]
    return {
        "name": f"{plan['name']}（演示：日程移至{moved['registration_start'].year}年）",
        "year": moved["registration_start"].year,
        **{
            key: plan[key]
            for key in (
                "fund_pools",
                "academic_subsidy_per_student",
                "skills_federation_rate",
                "key_industry_weight",
                "dedicated_class_threshold",
                "public_notice_days",
                "roster_lead_working_days",
            )
        },
        "windows": {name: day.isoformat() for name, day in moved.items()},
    }, shift


def programmes(shift: timedelta) -> list[dict]:
    """The catalogue, each start date moved like the campaign's windows."""
    return [
        {**p, "start_date": (date.fromisoformat(p["start_date"]) + shift).isoformat()}
        for p in load("programmes")["programmes"]
    ]


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韩唐冯"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "建国",
    "志强",
    "丽",
    "海燕",
    "国平",
    "春梅",
    "文斌",
    "晓东",
    "永红",
    "家豪",
    "嘉欣",
    "子轩",
    "俊杰",
]


def person(number: int, education: str = "高中") -> dict:
    """The demo's worker number `number`: a name, a valid resident ID number of Tianhe, a mobile."""
    born = date(1972, 3, 1) + timedelta(days=173 * number)
    first17 = f"440106{born:%Y%m%d}{number % 1000:03d}"
    return {
        "name": SURNAMES[number % len(SURNAMES)] + GIVEN[(number * 7) % len(GIVEN)],
        "resident_id": first17 + check_digit(first17),
        "phone": f"139{20130000 + number:08d}",
        "education": education,
    }


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def illustrative_calendar(year: int) -> dict:
    """For a year with no official calendar loaded: New Year's Day only, labelled as not official.

    The demo needs some calendar to count working days; the federation replaces it with the State
    Council's arrangement for that year (PUT /api/enrollment/calendar/{year}) as soon as it is published.
    """
    return {"days": [{"day": f"{year}-01-01", "workday": False, "name": "元旦（演示用，非官方安排）"}]}
