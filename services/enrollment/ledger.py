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


def _by_share(session, model, ids: list[str]):
    """Amounts per share (federation, unit) of one enrolment: reimbursements paid, or recovered."""
    return (
        select(
            model.enrolment_id,
            func.sum(case((model.share == "federation", model.amount))).label("federation"),
            func.sum(case((model.share == "unit", model.amount))).label("unit"),
        )
        .where(among(session, model.enrolment_id, ids))
        .group_by(model.enrolment_id)
        .subquery()
    )


def _sums(session, ids: list[str]):
    """Per enrolment of `ids` (a batch: the sums read only its rows, through the enrolment_id indexes)."""
    paid = (
        select(Payment.enrolment_id, func.sum(Payment.amount).label("paid"))
        .where(among(session, Payment.enrolment_id, ids))
        .group_by(Payment.enrolment_id)
    )
    exams = (
        select(
            ExamResult.enrolment_id,
            func.count().label("attempts"),
            func.max(case((ExamResult.passed, 1), else_=0)).label("passed"),
            func.max(ExamResult.score).label("best"),
        )
        .where(among(session, ExamResult.enrolment_id, ids))
        .group_by(ExamResult.enrolment_id)
    )
    certificates = (
        select(
            Certificate.enrolment_id,
            func.max(Certificate.number).label("number"),
            func.max(Certificate.issued_on).label("issued_on"),
        )
        .where(Certificate.revoked_on.is_(None), among(session, Certificate.enrolment_id, ids))
        .group_by(Certificate.enrolment_id)
    )
    placements = (
        select(ClassPlacement.enrolment_id, func.count().label("classes"))
        .where(among(session, ClassPlacement.enrolment_id, ids))
        .group_by(ClassPlacement.enrolment_id)
    )
    return paid.subquery(), exams.subquery(), certificates.subquery(), placements.subquery()


ORDER = (Enrolment.nominated_at, Enrolment.enrolment_id)
FIRST_BATCH = 50


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


def query(session, identity: Identity, filters: dict, ids: list[str]) -> Select:
    """The ledger's rows of the enrolments `ids`, with everything they join."""
    paid, exams, certificates, placements = _sums(session, ids)
    reimbursed, recovered = _by_share(session, Reimbursement, ids), _by_share(session, Recovery, ids)
    unit, union = aliased(Unit), aliased(Unit)
    statement = (
        select(
            Enrolment,
            Employee,
            Breakdown,
            unit.name.label("unit"),
            union.name.label("union"),
            Institution.name.label("institution"),
            Programme.name.label("programme"),
            TrainingClass.opens_on,
            AttendanceSummary,
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
        .where(among(session, Enrolment.enrolment_id, ids))
        .order_by(*ORDER)
    )
    return _filtered(statement, identity, filters)


def _shares(breakdown: Breakdown | None) -> dict:
    """Finance's shares as they now stand; a cancelled breakdown (a withdrawal) leaves nothing payable."""
    if breakdown is None:
        return {
            "share_status": None,
            "share_federation": None,
            "share_unit": None,
            "share_employee": None,
            "total_due": None,
        }
    cancelled = breakdown.status == "cancelled"
    return {
        "share_status": breakdown.status,
        "total_due": money("0") if cancelled else breakdown.total,
        **{
            f"share_{payer}": money("0") if cancelled else getattr(breakdown, payer)
            for payer in ("federation", "unit", "employee")
        },
    }


def lines(session, identity: Identity, filters: dict, batch: int = 1000) -> Iterator[dict]:
    """The ledger's lines, batch after batch of enrolments in the ledger's order (keyset), each batch's sums
    read for its enrolments only: the first line leaves after one batch's queries, and a 100,000-line
    export never sits in memory at once."""
    after, size = None, min(FIRST_BATCH, batch)  # a small first batch: the first line leaves soon
    while True:
        batch_keys = session.execute(keys(identity, filters, after, size)).all()
        if not batch_keys:
            return
        ids = [key.enrolment_id for key in batch_keys]
        details = _details(session, ids)
        for row in session.execute(query(session, identity, filters, ids)):
            yield _line(identity, row) | {
                name: found.get(row.Enrolment.enrolment_id) for name, found in details.items()
            }
        if len(batch_keys) < size:
            return
        after, size = tuple(batch_keys[-1]), min(size * 4, batch)


def _details(session, ids: list[str]) -> dict[str, dict[str, str]]:
    """Each payment and each exam attempt (retakes included) of the batch's enrolments, one text per enrolment."""
    payments: dict[str, list[str]] = {}
    for p in session.scalars(
        select(Payment).where(among(session, Payment.enrolment_id, ids)).order_by(Payment.paid_on, Payment.recorded_at)
    ):
        payments.setdefault(p.enrolment_id, []).append(f"{p.paid_on.isoformat()} {p.amount:.2f}")
    exams: dict[str, list[str]] = {}
    for r in session.scalars(
        select(ExamResult)
        .where(among(session, ExamResult.enrolment_id, ids))
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
    enrolment, employee, attempts = row.Enrolment, row.Employee, row.attempts
    full = sees_personal_data(identity, enrolment)
    fees = enrolment.fees or {}
    return {
        "enrolment_id": enrolment.enrolment_id,
        "campaign_id": enrolment.campaign_id,
        "unit": row.unit,
        "grassroots_union": row.union,
        "name": employee.name,
        "resident_id": employee.resident_id if full else mask_resident_id(employee.resident_id),
        "phone": employee.phone if full else mask_phone(employee.phone),
        "education": enrolment.education,
        "kind": enrolment.kind,
        "institution": row.institution,
        "programme": row.programme,
        "status": enrolment.status,
        "registered_on": enrolment.registered_on,
        "entrance_test_on": enrolment.entrance_test_on,
        "entrance_test_score": enrolment.entrance_test_score,
        "entrance_test_passed": enrolment.entrance_test_passed,
        "admitted_on": enrolment.admitted_on,
        "withdrawn_on": enrolment.withdrawn_on,
        "class_id": enrolment.class_id,
        "class_opens_on": row.opens_on,
        "classes_attended": row.classes or 0,
        "hours_planned": row.AttendanceSummary.hours_planned if row.AttendanceSummary else None,
        "hours_attended": row.AttendanceSummary.hours_attended if row.AttendanceSummary else None,
        "attendance_reported_on": row.AttendanceSummary.reported_on if row.AttendanceSummary else None,
        "fees_total": sum((money(v) for v in fees.values()), money("0")) if fees else None,
        "federation_subsidy_requested": enrolment.subsidy_requested,
        **_shares(row.Breakdown),
        "paid": row.paid,
        "payment_status": enrolment.payment_status,
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
