import copy
import datetime
import uuid

import pytest

import contracts
from contracts import ContractViolation, validate

CAMPAIGN = "5f1c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e80"
ENROLMENT = "0b6f1e52-3d4c-4a8b-9c1d-2e3f4a5b6c7d"
CERTIFICATE = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
FEES = {
    "tuition_or_training": "2350.00",
    "appraisal_exam": "180.00",
    "textbook": "60.00",
    "registration": "0.00",
    "entrance_test": "0.00",
}

# One valid payload per event of the ARCHITECTURE.md catalogue, plus the events added since:
# certificate.revoked, breakdown.settled, reimbursement.recovered.
EXAMPLES = {
    "campaign.closed": {
        "campaign_id": CAMPAIGN,
        "closed_at": "2015-01-20T10:00:00+08:00",
        "reason": "培训、考试、报销均已完成，结项",
        "unspent_funds": "return_to_pool",
    },
    "campaign.published": {
        "campaign_id": CAMPAIGN,
        "revision": 1,
        "name": "2013-14 百万职工素质提升工程",
        "year": 2013,
        "fund_pools": {"academic": "5000000.00", "skills": "5000000.00"},
        "academic_subsidy_per_student": "1500.00",
        "skills_federation_rate": "0.40",
        "skills_rate_overrides": {"电工": "0.50"},
        "windows": {
            "registration_start": "2013-11-01",
            "registration_end": "2014-01-15",
            "study_start": "2013-12-01",
            "study_end": "2014-06-30",
            "exams_from": "2014-03-01",
        },
        "dedicated_class_threshold": 30,
        "public_notice_days": 5,
        "roster_lead_working_days": 5,
    },
    "unit.upserted": {
        "unit_id": "GZ-GB-0231",
        "revision": 3,
        "name": "广州白云机场股份有限公司工会",
        "level": "grassroots",
        "parent_id": "GZ-BY",
        "category": "grassroots",
        "headcount": 1200,
        "key_industry": False,
    },
    "allocation.published": {
        "campaign_id": CAMPAIGN,
        "allocation_id": "c3d2e1f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
        "revision": 1,
        "unit_id": "GZ-BY",
        "academic_seats": 212,
        "skills_money": "318000.00",
        "reason": "initial",
    },
    "quota.reserved": {
        "enrolment_id": ENROLMENT,
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "kind": "academic",
        "seats": 1,
    },
    "quota.refused": {
        "enrolment_id": ENROLMENT,
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "kind": "skills",
        "amount": "940.00",
        "reason": "no_quota_left",
    },
    "institution.registered": {"institution_id": "GZ-ZGJY", "revision": 1, "name": "广州职工教育网"},
    "programme.published": {
        "programme_id": "ZGJS-DG-2013",
        "revision": 1,
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
        "level": "中级",
        "trade": "电工",
        "teaching_sites": ["越秀区解放南路", "上门办学"],
        "start_date": "2014-02-24",
        "on_site_teaching": True,
        "fee_standard": FEES,
    },
    "enrollment.requested": {
        "enrolment_id": ENROLMENT,
        "revision": 1,
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": "GZ-BY",
        "grassroots_union_id": "GZ-GB-0231",
        "institution_id": "GZ-ZGJS",
        "programme_id": "ZGJS-DG-2013",
        "amount": "940.00",
        "requested_on": "2013-11-20",
    },
    "enrollment.registered": {
        "enrolment_id": ENROLMENT,
        "revision": 2,
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": "GZ-BY",
        "grassroots_union_id": "GZ-GB-0231",
        "institution_id": "GZ-ZGJS",
        "programme_id": "ZGJS-DG-2013",
        "trade": "电工",
        "fees": FEES,
        "employee_id": "emp-7f3a9c",
        "registered_on": "2013-11-20",
    },
    "enrollment.admitted": {
        "enrolment_id": ENROLMENT,
        "revision": 3,
        "campaign_id": CAMPAIGN,
        "kind": "academic",
        "unit_id": "GZ-BY",
        "grassroots_union_id": "GZ-GB-0231",
        "institution_id": "GZ-GCJS",
        "programme_id": "GCJS-JD-ZK",
        "fees": {**FEES, "tuition_or_training": "5600.00", "appraisal_exam": "0.00", "entrance_test": "50.00"},
        "employee_id": "emp-7f3a9c",
        "admitted_on": "2014-01-10",
    },
    "enrollment.withdrawn": {
        "enrolment_id": ENROLMENT,
        "revision": 4,
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": "GZ-BY",
        "institution_id": "GZ-ZGJS",
        "reason": "本人申请退学",
        "withdrawn_on": "2014-03-05",
    },
    "calendar.loaded": {
        "year": 2014,
        "loaded_at": "2013-12-20T09:00:00+08:00",
        "days": [
            {"day": "2014-01-01", "workday": False, "name": "元旦"},
            {"day": "2014-01-26", "workday": True, "name": "春节调休上班"},
        ],
    },
    "enrollment.registration_rejected": {
        "enrolment_id": ENROLMENT,
        "revision": 3,
        "campaign_id": CAMPAIGN,
        "kind": "academic",
        "unit_id": "GZ-BY",
        "institution_id": "GZ-GCJS",
        "reason": "entrance_test_failed",
        "note": "入学测试成绩未达录取线",
        "rejected_on": "2014-01-08",
    },
    "enrollment.transferred": {
        "enrolment_id": ENROLMENT,
        "revision": 4,
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": "GZ-BY",
        "from_institution_id": "GZ-ZGJS",
        "to_institution_id": "GZ-SYG",
        "from_programme_id": "ZGJS-DG-2013",
        "to_programme_id": "SYG-DG-2013",
        "fees": FEES,
        "reason": "人数不足30人，转入市一宫开班",
        "transferred_on": "2014-02-10",
    },
    "employee.corrected": {"employee_id": "emp-7f3a9c", "holder_name_masked": "张*明"},
    "employee.anonymised": {"employee_id": "emp-7f3a9c", "anonymised_id": "anon-3b9d2c4e5f60718293a4b5c6d7e8f901"},
    "class.opened": {
        "class_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
        "campaign_id": CAMPAIGN,
        "institution_id": "GZ-ZGJS",
        "programme_id": "ZGJS-DG-2013",
        "dedicated": True,
        "opens_on": "2014-02-24",
        "student_count": 31,
        "roster_submitted_on": "2014-02-14",
    },
    "payment.recorded": {
        "payment_id": "1e2d3c4b-5a69-4788-8a9b-0c1d2e3f4a5b",
        "enrolment_id": ENROLMENT,
        "amount": "2590.00",
        "paid_on": "2013-11-22",
        "status": "full",
        "reference": "POS-20131122-0042",
        "campaign_id": CAMPAIGN,
        "institution_id": "GZ-ZGJS",
        "paid_total": "2590.00",
        "due": "2590.00",
    },
    "reimbursement.paid": {
        "reimbursement_id": "2f3e4d5c-6b7a-4898-9aab-1c2d3e4f5a6b",
        "enrolment_id": ENROLMENT,
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "kind": "skills",
        "share": "federation",
        "amount": "940.00",
        "paid_on": "2014-05-12",
        "certificate_id": CERTIFICATE,
    },
    "breakdown.settled": {
        "enrolment_id": ENROLMENT,
        "revision": 1,
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
        "status": "settled",
        "lines": [
            {
                "line": "tuition_or_training",
                "amount": "2350.00",
                "federation": "940.00",
                "unit": "940.00",
                "employee": "470.00",
            },
            {"line": "appraisal_exam", "amount": "180.00", "federation": "0.00", "unit": "0.00", "employee": "180.00"},
        ],
        "total": "2530.00",
        "federation": "940.00",
        "unit": "940.00",
        "employee": "650.00",
    },
    "reimbursement.recovered": {
        "reimbursement_id": "2f3e4d5c-6b7a-4898-9aab-1c2d3e4f5a6b",
        "enrolment_id": ENROLMENT,
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "kind": "skills",
        "share": "federation",
        "amount": "940.00",
        "recovered_on": "2014-06-20",
        "certificate_id": CERTIFICATE,
        "reference": "退款-2014-0007",
    },
    "announcement.requested": {"enrolment_id": ENROLMENT, "certificate_id": CERTIFICATE},
    "funds.transferred": {
        "transfer_id": "3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9",
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "kind": "academic",
        "amount": "318000.00",
        "transferred_on": "2013-12-20",
        "reference": "穗工财〔2013〕88号",
    },
    "funds.reclaimed": {
        "transfer_id": "3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8ba",
        "campaign_id": CAMPAIGN,
        "unit_id": "GZ-BY",
        "kind": "academic",
        "amount": "1500.00",
        "reclaimed_on": "2014-02-20",
        "reference": "穗工财〔2014〕12号",
    },
    "exam.result_recorded": {
        "result_id": "4b5c6d7e-8f90-41a2-b3c4-d5e6f7a8b9c0",
        "enrolment_id": ENROLMENT,
        "institution_id": "GZ-ZGJS",
        "exam": "电工中级职业技能鉴定",
        "held_on": "2014-04-19",
        "score": "78.5",
        "passed": False,
        "attempt": 1,
        "campaign_id": CAMPAIGN,
        "retake": "free_later_class",
    },
    "certificate.issued": {
        "certificate_id": CERTIFICATE,
        "revision": 1,
        "number": "ZGJS-2014-000123",
        "enrolment_id": ENROLMENT,
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
        "campaign_id": CAMPAIGN,
        "issued_on": "2014-05-06",
    },
    "certificate.revoked": {
        "certificate_id": CERTIFICATE,
        "revision": 2,
        "number": "ZGJS-2014-000123",
        "enrolment_id": ENROLMENT,
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
        "reason": "鉴定成绩登记错误",
        "revoked_on": "2014-06-02",
    },
    "institution.notified": {
        "institution_id": "GZ-FCG",
        "revision": 1,
        "campaign_id": CAMPAIGN,
        "reason": "学员满意度低于60分",
        "decided_by": "user-fed-0007",
        "decided_at": "2014-07-01T10:00:00+08:00",
    },
    "institution.disqualified": {
        "institution_id": "GZ-FCG",
        "revision": 2,
        "campaign_id": CAMPAIGN,
        "reason": "通报后仍未整改",
        "decided_by": "user-fed-0007",
        "decided_at": "2014-09-01T09:30:00+08:00",
    },
    "institution.reinstated": {
        "institution_id": "GZ-FCG",
        "revision": 3,
        "reason": "整改验收合格",
        "decided_by": "user-fed-0007",
        "decided_at": "2015-03-01T09:30:00+08:00",
    },
}

CATALOGUE = [
    "campaign.published",
    "campaign.closed",
    "unit.upserted",
    "allocation.published",
    "quota.reserved",
    "quota.refused",
    "programme.published",
    "institution.registered",
    "enrollment.requested",
    "enrollment.registered",
    "enrollment.admitted",
    "enrollment.withdrawn",
    "enrollment.registration_rejected",
    "calendar.loaded",
    "enrollment.transferred",
    "class.opened",
    "employee.corrected",
    "employee.anonymised",
    "payment.recorded",
    "breakdown.settled",
    "reimbursement.paid",
    "reimbursement.recovered",
    "announcement.requested",
    "funds.transferred",
    "funds.reclaimed",
    "exam.result_recorded",
    "certificate.issued",
    "certificate.revoked",
    "institution.notified",
    "institution.disqualified",
    "institution.reinstated",
]

PRODUCERS = {
    "quota": {"campaign", "unit", "allocation", "quota"},
    "enrollment": {"programme", "institution.registered", "enrollment", "class", "calendar", "employee"},
    "finance": {"payment", "breakdown", "reimbursement", "funds", "announcement"},
    "evaluation": {"exam", "certificate", "institution.notified", "institution.disqualified", "institution.reinstated"},
}

# Money fields, one per example that has one, as a path into the payload.
MONEY_FIELDS = [
    ("campaign.published", ("fund_pools", "academic")),
    ("campaign.published", ("academic_subsidy_per_student",)),
    ("allocation.published", ("skills_money",)),
    ("quota.refused", ("amount",)),
    ("programme.published", ("fee_standard", "textbook")),
    ("enrollment.requested", ("amount",)),
    ("enrollment.registered", ("fees", "tuition_or_training")),
    ("payment.recorded", ("amount",)),
    ("reimbursement.paid", ("amount",)),
    ("reimbursement.recovered", ("amount",)),
    ("breakdown.settled", ("total",)),
    ("funds.transferred", ("amount",)),
    ("funds.reclaimed", ("amount",)),
]

PERSONAL = {"employee_name", "student_name", "resident_id", "id_number", "phone", "mobile", "bank_account"}
DROP = object()


def example(event_type: str) -> dict:
    return copy.deepcopy(EXAMPLES[event_type])


def put(data: dict, path: tuple[str, ...], value) -> dict:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def fails(event_type: str, data: dict, *, strict: bool = True) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        validate(event_type, 1, data, strict=strict)
    return caught.value


def test_every_catalogue_event_is_registered_and_nothing_else():
    # Test scaffolding (the kit's probe service) may register its own events.
    services = {"quota", "enrollment", "finance", "evaluation"}
    registered = {c.type for c in contracts.contracts() if c.producer in services}
    assert registered == set(CATALOGUE)
    assert set(EXAMPLES) == set(CATALOGUE)


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_registered_under_its_producer_at_version_1(event_type):
    found = contracts.contract(event_type, 1)
    assert contracts.latest_version(event_type) == 1
    owned = PRODUCERS[found.producer]
    assert event_type.split(".")[0] in owned or event_type in owned


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_example_passes_strict_and_lenient_validation(event_type):
    validate(event_type, 1, example(event_type), strict=True)
    validate(event_type, 1, example(event_type), strict=False)


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_unknown_field_fails_strict_but_passes_lenient(event_type):
    data = {**example(event_type), "added_by_a_newer_producer": "x"}
    error = fails(event_type, data)
    assert "added_by_a_newer_producer" in str(error)
    validate(event_type, 1, data, strict=False)


def test_unknown_field_inside_a_part_follows_the_top_level_strictness():
    data = put(example("campaign.published"), ("windows", "surveys_from"), "2014-05-01")
    assert "surveys_from" in str(fails("campaign.published", data))
    validate("campaign.published", 1, data, strict=False)


@pytest.mark.parametrize(("event_type", "path"), MONEY_FIELDS)
@pytest.mark.parametrize("bad", [1500.0, 1500, "1500", "1500.5", "1500.000", "1,500.00", "01500.00", None])
def test_money_must_be_a_string_with_two_decimals(event_type, path, bad):
    error = fails(event_type, put(example(event_type), path, bad), strict=False)
    assert path[-1] in str(error)


def test_negative_money_fails():
    assert "skills_money" in str(
        fails("allocation.published", put(example("allocation.published"), ("skills_money",), "-1.00"))
    )
    assert "amount" in str(fails("payment.recorded", put(example("payment.recorded"), ("amount",), "0.00")))


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_missing_required_field_fails_naming_the_field(event_type):
    schema = contracts.contract(event_type, 1).schema()
    required = [name for name, field in schema.fields.items() if field.required]
    assert required
    for name in required:
        data = example(event_type)
        del data[name]
        error = fails(event_type, data, strict=False)
        assert f"data.{name}:" in str(error)
        assert error.errors == {name: ["Missing data for required field."]}


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_no_personal_data_in_any_contract(event_type):
    assert not PERSONAL & set(contracts.contract(event_type, 1).schema().fields)


@pytest.mark.parametrize(
    ("event_type", "version"),
    [("campaign.published", 2), ("campaign.archived", 1), ("enrollment.rejected", 1)],
)
def test_unknown_type_or_version_raises(event_type, version):
    with pytest.raises(ContractViolation, match="no such event type and version"):
        validate(event_type, version, {}, strict=False)


def test_latest_version_of_an_unknown_type_raises():
    with pytest.raises(ContractViolation):
        contracts.latest_version("campaign.archived")


def test_payload_must_be_an_object():
    assert "JSON object" in str(fails("quota.reserved", [example("quota.reserved")]))


@pytest.mark.parametrize(
    ("event_type", "path", "bad"),
    [
        ("campaign.published", ("year",), "2013"),
        ("campaign.published", ("dedicated_class_threshold",), 30.0),
        ("campaign.published", ("skills_federation_rate",), 0.4),
        ("campaign.published", ("skills_federation_rate",), "1.20"),
        ("campaign.published", ("skills_rate_overrides",), {"电工": "50%"}),
        ("campaign.published", ("windows", "registration_end"), "2013-10-31"),
        ("campaign.published", ("windows", "exams_from"), "2014-03"),
        ("unit.upserted", ("level",), "district"),
        ("unit.upserted", ("key_industry",), "false"),
        ("unit.upserted", ("headcount",), -1),
        ("unit.upserted", ("unit_id",), " "),
        ("allocation.published", ("academic_seats",), True),
        ("allocation.published", ("reason",), "moved"),
        ("allocation.published", ("campaign_id",), "campaign-2013"),
        ("quota.refused", ("reason",), "quota_exhausted"),
        ("programme.published", ("teaching_sites",), []),
        ("enrollment.registered", ("kind",), "degree"),
        ("class.opened", ("student_count",), 0),
        ("payment.recorded", ("status",), "paid"),
        ("exam.result_recorded", ("score",), 78.5),
        ("exam.result_recorded", ("attempt",), 0),
        ("institution.notified", ("decided_at",), "2014-07-01T10:00:00"),
        # JSON shapes only: a producer that forgot to serialise must not pass
        ("enrollment.withdrawn", ("withdrawn_on",), datetime.date(2014, 3, 5)),
        ("enrollment.withdrawn", ("withdrawn_on",), "20140305"),
        ("enrollment.withdrawn", ("enrolment_id",), uuid.UUID(ENROLMENT)),
    ],
)
def test_malformed_values_fail(event_type, path, bad):
    fails(event_type, put(example(event_type), path, bad), strict=False)


@pytest.mark.parametrize(
    ("event_type", "change", "field"),
    [
        # the fields a kind uses are required for it and absent for the other
        ("quota.reserved", {"kind": "skills"}, "amount"),
        ("quota.refused", {"seats": 1}, "seats"),
        ("enrollment.requested", {"kind": "academic"}, "amount"),
        ("enrollment.registered", {"kind": "academic"}, "trade"),
        ("programme.published", {"kind": "academic"}, "major"),
        ("programme.published", {"kind": "academic", "major": "机电一体化", "level": "大专"}, "trade"),
        ("unit.upserted", {"level": "first_level", "category": "district"}, "parent_id"),
        ("unit.upserted", {"category": "district"}, "category"),
        (
            "enrollment.transferred",
            {"to_institution_id": "GZ-ZGJS", "to_programme_id": "ZGJS-DG-2013"},
            "to_programme_id",
        ),
        ("institution.notified", {"campaign_id": DROP}, "campaign_id"),
    ],
)
def test_cross_field_rules(event_type, change, field):
    data = {k: v for k, v in {**example(event_type), **change}.items() if v is not DROP}
    assert f"data.{field}:" in str(fails(event_type, data))


def test_academic_programme_level_is_dazhuan_or_benke():
    data = {**example("programme.published"), "kind": "academic", "major": "机电一体化"}
    del data["trade"]
    assert "data.level:" in str(fails("programme.published", data))
    validate("programme.published", 1, {**data, "level": "本科"}, strict=True)


def test_a_retake_follows_only_a_failed_attempt():
    passed = {**example("exam.result_recorded"), "passed": True}
    assert "retake" in str(fails("exam.result_recorded", passed, strict=False))
    del passed["retake"]
    validate("exam.result_recorded", 1, passed, strict=True)


@pytest.mark.parametrize("masked", ["张*明", "李*", "欧阳**", "A*n"])
def test_a_masked_holder_name_is_accepted(masked):
    validate(
        "enrollment.registered", 1, {**example("enrollment.registered"), "holder_name_masked": masked}, strict=True
    )


@pytest.mark.parametrize("unmasked", ["张三明", "*明", "张 *", "", "张" + "*" * 30])
def test_an_unmasked_holder_name_fails(unmasked):
    data = {**example("enrollment.registered"), "holder_name_masked": unmasked}
    assert "holder_name_masked" in str(fails("enrollment.registered", data))


def test_breakdown_shares_must_make_each_line_and_the_totals():
    line = put(
        example("breakdown.settled"),
        ("lines",),
        [
            {
                "line": "tuition_or_training",
                "amount": "2350.00",
                "federation": "940.00",
                "unit": "940.00",
                "employee": "470.01",
            }
        ],
    )
    assert "lines" in str(fails("breakdown.settled", line))
    totals = put(example("breakdown.settled"), ("employee",), "649.99")
    assert "data.employee" in str(fails("breakdown.settled", totals))


def test_a_quota_answer_may_name_the_request_revision_it_answers():
    validate("quota.reserved", 1, {**example("quota.reserved"), "revision": 2}, strict=True)
    assert "revision" in str(fails("quota.reserved", {**example("quota.reserved"), "revision": 0}))


def test_a_transfer_may_carry_the_subsidy_quota_now_holds():
    validate("enrollment.transferred", 1, {**example("enrollment.transferred"), "amount": "1008.00"}, strict=True)


def test_a_rejected_registration_names_one_of_the_institutions_reasons():
    wrong = {**example("enrollment.registration_rejected"), "reason": "no_seat"}
    assert "data.reason:" in str(fails("enrollment.registration_rejected", wrong))
    missing = {**example("enrollment.registration_rejected"), "kind": "skills", "reason": "documents_missing"}
    validate("enrollment.registration_rejected", 1, missing, strict=True)


def test_a_loaded_calendar_lists_days_of_its_own_year():
    other = copy.deepcopy(example("calendar.loaded"))
    other["days"].append({"day": "2015-01-01", "workday": False, "name": "元旦"})
    assert "data.days:" in str(fails("calendar.loaded", other))
