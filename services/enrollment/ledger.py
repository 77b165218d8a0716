"""The training ledger (工作台账): one line per enrolment, from enrollment's own facts and other services' events."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, case, func, select, tuple_
from sqlalchemy.orm import aliased

from servicekit.db import among
from servicekit.identity import Identity
from servicekit.money import money
from servicekit.tabular import Column

from .access import scoped, sees_personal_data
from .domain.people import mask_phone, mask_resident_id
from .models import (
    AttendanceSummary,
    Breakdown,
    Certificate,
    ClassPlacement,
    Employee,
    Enrolment,
    ExamResult,
    Institution,
    Payment,
    Programme,
    Recovery,
    Reimbursement,
    TrainingClass,
    Unit,
)

COLUMNS = [
    Column("enrolment_id", "报名编号 Enrolment id"),
    Column("campaign_id", "批次 Campaign"),
    Column("unit", "一级单位 Unit"),
    Column("grassroots_union", "基层工会 Grassroots union"),
    Column("name", "姓名 Name"),
    Column("resident_id", "身份证号 Resident ID number"),
    Column("phone", "手机 Phone"),
    Column("education", "文化程度 Education"),
    Column("kind", "类别 Kind"),
    Column("institution", "培训机构 Institution"),
    Column("programme", "培训项目 Programme"),
    Column("status", "状态 Status"),
    Column("registered_on", "建档日期 Registered on"),
    Column("entrance_test_on", "入学测试日期 Entrance test on"),
    Column("entrance_test_score", "入学测试成绩 Entrance test score"),
    Column("entrance_test_passed", "入学测试通过 Entrance test passed"),
    Column("admitted_on", "录取日期 Admitted on"),
    Column("withdrawn_on", "退学日期 Withdrawn on"),
    Column("class_id", "班级 Class"),
    Column("class_opens_on", "开班日期 Class opens on"),
    Column("classes_attended", "参加班级数 Classes attended"),
    Column("hours_planned", "计划学时 Hours planned"),
    Column("hours_attended", "出勤学时 Hours attended"),
    Column("attendance_reported_on", "考勤报告日期 Attendance reported on"),
    Column("fees_total", "应缴费用合计 Fees due"),
    Column("federation_subsidy_requested", "市总补助（技能）Federation subsidy asked"),
    Column("share_status", "费用分担状态 Shares status"),
    Column("share_federation", "市总分担 Federation share"),
    Column("share_unit", "单位分担 Unit share"),
    Column("share_employee", "个人分担 Employee share"),
    Column("total_due", "核定费用合计 Total due (finance)"),
    Column("paid", "已缴费 Paid"),
    Column("payment_status", "缴费状态 Payment status"),
    Column("payments", "缴费明细 Payments (date amount)"),
    Column("exam_attempts", "考试次数 Exam attempts"),
    Column("exam_passed", "考试通过 Exam passed"),
    Column("best_score", "最高成绩 Best score"),
    Column("exam_results", "考试及补考明细 Each exam and retake"),
    Column("certificate_number", "证书编号 Certificate number"),
    Column("certificate_issued_on", "发证日期 Certificate issued on"),
    Column("reimbursed_federation", "已报销市总部分 Federation share reimbursed"),
    Column("reimbursed_unit", "已报销单位部分 Unit share reimbursed"),
    Column("recovered_federation", "已追回市总部分 Federation share recovered"),
    Column("recovered_unit", "已追回单位部分 Unit share recovered"),
]
FILTERS = ("campaign_id", "unit_id", "institution_id", "programme_id", "status")
# The batch's ids, one parameter however often the statement names them: psycopg sends the array once.
IDS = "ledger_ids"


def _by_share(db, model, ids: list[str]):
    """Amounts per share (federation, unit) of one enrolment: reimbursements paid, or recovered."""
    return (
        select(
            model.enrolment_id,
            func.sum(case((model.share == "federation", model.amount))).label("federation"),
            func.sum(case((model.share == "unit", model.amount))).label("unit"),
        )
        .where(among(db, model.enrolment_id, ids, IDS))
        .group_by(model.enrolment_id)
        .subquery()
    )


def _sums(db, ids: list[str]):
    """Per enrolment of `ids` (a batch: the sums read only its rows, through the enrolment_id indexes)."""
    paid = (
        select(Payment.enrolment_id, func.sum(Payment.amount).label("paid"))
        .where(among(db, Payment.enrolment_id, ids, IDS))
        .group_by(Payment.enrolment_id)
    )
    exams = (
        select(
            ExamResult.enrolment_id,
            func.count().label("attempts"),
            func.max(case((ExamResult.passed, 1), else_=0)).label("passed"),
            func.max(ExamResult.score).label("best"),
        )
        .where(among(db, ExamResult.enrolment_id, ids, IDS))
        .group_by(ExamResult.enrolment_id)
    )
    certificates = (
        select(
            Certificate.enrolment_id,
            func.max(Certificate.number).label("number"),
            func.max(Certificate.issued_on).label("issued_on"),
        )
        .where(Certificate.revoked_on.is_(None), among(db, Certificate.enrolment_id, ids, IDS))
        .group_by(Certificate.enrolment_id)
    )
    placements = (
        select(ClassPlacement.enrolment_id, func.count().label("classes"))
        .where(among(db, ClassPlacement.enrolment_id, ids, IDS))
        .group_by(ClassPlacement.enrolment_id)
    )
    return paid.subquery(), exams.subquery(), certificates.subquery(), placements.subquery()


ORDER = (Enrolment.nominated_at, Enrolment.enrolment_id)
FIRST_BATCH = 50
# Columns, not entities: a line is read once and written out, and building ORM objects for it (four a line)
# took a third of the export's time.
ENROLMENT_COLUMNS = (
    Enrolment.enrolment_id,
    Enrolment.campaign_id,
    Enrolment.grassroots_union_id,
    Enrolment.employee_id,
    Enrolment.education,
    Enrolment.kind,
    Enrolment.status,
    Enrolment.registered_on,
    Enrolment.entrance_test_on,
    Enrolment.entrance_test_score,
    Enrolment.entrance_test_passed,
    Enrolment.admitted_on,
    Enrolment.withdrawn_on,
    Enrolment.class_id,
    Enrolment.fees,
    Enrolment.subsidy_requested,
    Enrolment.payment_status,
)
PAYERS = ("federation", "unit", "employee")


def _filtered(statement: Select, identity: Identity, filters: dict) -> Select:
    for key in FILTERS:
        if filters.get(key):
            statement = statement.where(getattr(Enrolment, key) == filters[key])
    return scoped(statement, identity)


def keys(identity: Identity, filters: dict, after: tuple | None, batch: int) -> Select:
    """The next batch of the ledger's enrolments (their sort keys only), after the last one exported."""
    statement = _filtered(select(*ORDER), identity, filters)
    if after is not None:
        statement = statement.where(tuple_(*ORDER) > tuple_(*after))
    return statement.order_by(*ORDER).limit(batch)


def query(db, identity: Identity, filters: dict, ids: list[str]) -> Select:
    """The ledger's rows of the enrolments `ids`, with everything they join."""
    paid, exams, certificates, placements = _sums(db, ids)
    reimbursed, recovered = _by_share(db, Reimbursement, ids), _by_share(db, Recovery, ids)
    unit, union = aliased(Unit), aliased(Unit)
    statement = (
        select(
            *ENROLMENT_COLUMNS,
            Employee.name,
            Employee.resident_id,
            Employee.phone,
            Breakdown.status.label("share_status"),
            Breakdown.total.label("share_total"),
            *(getattr(Breakdown, payer).label(f"share_{payer}") for payer in PAYERS),
            unit.name.label("unit"),
            union.name.label("union"),
            Institution.name.label("institution"),
            Programme.name.label("programme"),
            TrainingClass.opens_on,
            AttendanceSummary.hours_planned,
            AttendanceSummary.hours_attended,
            AttendanceSummary.reported_on.label("attendance_reported_on"),
            placements.c.classes,
            paid.c.paid,
            exams.c.attempts,
            exams.c.passed,
            exams.c.best,
            certificates.c.number,
            certificates.c.issued_on,
            reimbursed.c.federation.label("reimbursed_federation"),
            reimbursed.c.unit.label("reimbursed_unit"),
            recovered.c.federation.label("recovered_federation"),
            recovered.c.unit.label("recovered_unit"),
        )
        .join(Employee, Employee.employee_id == Enrolment.employee_id)
        .join(Institution, Institution.institution_id == Enrolment.institution_id)
        .join(Programme, Programme.programme_id == Enrolment.programme_id)
        .outerjoin(unit, unit.unit_id == Enrolment.unit_id)
        .outerjoin(union, union.unit_id == Enrolment.grassroots_union_id)
        .outerjoin(TrainingClass, TrainingClass.class_id == Enrolment.class_id)
        .outerjoin(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(AttendanceSummary, AttendanceSummary.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(placements, placements.c.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(paid, paid.c.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(exams, exams.c.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(certificates, certificates.c.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(reimbursed, reimbursed.c.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(recovered, recovered.c.enrolment_id == Enrolment.enrolment_id)
        .where(among(db, Enrolment.enrolment_id, ids, IDS))
        .order_by(*ORDER)
    )
    return _filtered(statement, identity, filters)


def _shares(row) -> dict:
    """Finance's shares as they now stand; a cancelled breakdown (a withdrawal) leaves nothing payable."""
    if row.share_status is None:
        return {"share_status": None, "total_due": None, **{f"share_{payer}": None for payer in PAYERS}}
    cancelled = row.share_status == "cancelled"
    return {
        "share_status": row.share_status,
        "total_due": money("0") if cancelled else row.share_total,
        **{f"share_{payer}": money("0") if cancelled else getattr(row, f"share_{payer}") for payer in PAYERS},
    }


def lines(session, identity: Identity, filters: dict, batch: int = 1000) -> Iterator[dict]:
    """The ledger's lines, batch after batch of enrolments in the ledger's order (keyset), each batch's sums
    read for its enrolments only: the first line leaves after one batch's queries, and a 100,000-line
    export never sits in memory at once."""
    after, size = None, min(FIRST_BATCH, batch)  # a small first batch: the first line leaves soon
    db = session.connection()  # columns only, read through Core: the ORM's loading of each row is not needed
    while True:
        batch_keys = db.execute(keys(identity, filters, after, size)).all()
        if not batch_keys:
            return
        ids = [key.enrolment_id for key in batch_keys]
        details = _details(db, ids)
        for row in db.execute(query(db, identity, filters, ids)):
            yield _line(identity, row) | {name: found.get(row.enrolment_id) for name, found in details.items()}
        if len(batch_keys) < size:
            return
        after, size = tuple(batch_keys[-1]), min(size * 4, batch)


def _details(db, ids: list[str]) -> dict[str, dict[str, str]]:
    """Each payment and each exam attempt (retakes included) of the batch's enrolments, one text per enrolment."""
    payments: dict[str, list[str]] = {}
    for enrolment_id, paid_on, amount in db.execute(
        select(Payment.enrolment_id, Payment.paid_on, Payment.amount)
        .where(among(db, Payment.enrolment_id, ids, IDS))
        .order_by(Payment.paid_on, Payment.recorded_at)
    ):
        payments.setdefault(enrolment_id, []).append(f"{paid_on.isoformat()} {amount:.2f}")
    exams: dict[str, list[str]] = {}
    for r in db.execute(
        select(
            ExamResult.enrolment_id,
            ExamResult.exam,
            ExamResult.attempt,
            ExamResult.held_on,
            ExamResult.score,
            ExamResult.passed,
        )
        .where(among(db, ExamResult.enrolment_id, ids, IDS))
        .order_by(ExamResult.held_on, ExamResult.attempt)
    ):
        outcome = "通过 passed" if r.passed else "未通过 failed"
        exams.setdefault(r.enrolment_id, []).append(
            f"{r.exam} #{r.attempt} {r.held_on.isoformat()} {r.score:.2f} {outcome}"
        )
    return {
        "payments": {key: "; ".join(items) for key, items in payments.items()},
        "exam_results": {key: "; ".join(items) for key, items in exams.items()},
    }


def _line(identity: Identity, row) -> dict:
    full = sees_personal_data(identity, row)
    fees, attempts = row.fees or {}, row.attempts
    return {
        "enrolment_id": row.enrolment_id,
        "campaign_id": row.campaign_id,
        "unit": row.unit,
        "grassroots_union": row.union,
        "name": row.name,
        "resident_id": row.resident_id if full else mask_resident_id(row.resident_id),
        "phone": row.phone if full else mask_phone(row.phone),
        "education": row.education,
        "kind": row.kind,
        "institution": row.institution,
        "programme": row.programme,
        "status": row.status,
        "registered_on": row.registered_on,
        "entrance_test_on": row.entrance_test_on,
        "entrance_test_score": row.entrance_test_score,
        "entrance_test_passed": row.entrance_test_passed,
        "admitted_on": row.admitted_on,
        "withdrawn_on": row.withdrawn_on,
        "class_id": row.class_id,
        "class_opens_on": row.opens_on,
        "classes_attended": row.classes or 0,
        "hours_planned": row.hours_planned,
        "hours_attended": row.hours_attended,
        "attendance_reported_on": row.attendance_reported_on,
        "fees_total": sum((money(v) for v in fees.values()), money("0")) if fees else None,
        "federation_subsidy_requested": row.subsidy_requested,
        **_shares(row),
        "paid": row.paid,
        "payment_status": row.payment_status,
        "exam_attempts": attempts or 0,
        "exam_passed": None if attempts is None else bool(row.passed),
        "best_score": row.best,
        "certificate_number": row.number,
        "certificate_issued_on": row.issued_on,
        "reimbursed_federation": row.reimbursed_federation,
        "reimbursed_unit": row.reimbursed_unit,
        "recovered_federation": row.recovered_federation,
        "recovered_unit": row.recovered_unit,
    }
