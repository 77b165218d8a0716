"""Use cases on the shares paid back to students by their unit's union.

The federation's share becomes owed when the certificate is issued: it waits as
`awaiting_payment` until the employee's recorded payments cover the whole fee
(the employee pays up front in full), then is set aside from the unit's earmarked
account into `payable` (or waits as `awaiting_funds` while the earmarked balance is short), and leaves to
`paid_out` when the unit officer records the payment. The unit's own share is
owed when the unit's policy says (on enrolment or on certification) and is
paid from the unit's own money, outside the earmarked ledger.

A share paid before its certificate was revoked is to be recovered: the unit
officer records the money the student paid back; a federation share goes from
`paid_out` back into the unit's earmarked account (free to spend again or to
return), the unit's own share back to the unit outside the ledger.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.db import UnitOfWork, among, rows_by_key, utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Conflict, Invalid, NotFound, refusal

from . import ledger
from .fees import unit_policies, unit_policy
from .funds import BALANCE_SHORT
from .models import Breakdown, Certificate, Enrolment, Recovery, Reimbursement

log = logging.getLogger(__name__)
SAGA = "certificate_facts"  # a certificate waiting for its enrolment's facts
OWED = ("awaiting_payment", "awaiting_funds", "payable")
NOT_PAYABLE = refusal(
    Conflict,
    "finance_reimbursement_not_payable",
    "This reimbursement is not payable (already paid or cancelled)",
    "该报销款项不可支付（已支付或已取消）",
)
NOT_PAID_IN_FULL = refusal(
    Conflict,
    "finance_reimbursement_awaits_full_payment",
    "The federation's share is paid only once the employee has paid the whole fee up front",
    "学员尚未全额缴费，市总补助暂不能发放",
)
NOT_RECOVERABLE = refusal(
    Conflict,
    "finance_recovery_not_due",
    "Nothing is to be recovered: the share was not paid, its certificate stands, or its recovery is recorded already",
    "该款项无需追回（未发放、证书仍有效或已登记追回）",
)
RECOVERY_NOT_THE_SHARE = refusal(
    Invalid,
    "finance_recovery_amount_mismatch",
    "The amount recovered must be the share that was paid",
    "追回金额须等于已发放的补助金额",
)


def accounts(enrolment: Enrolment) -> tuple[str, str, str]:
    args = (enrolment.campaign_id, enrolment.kind, enrolment.unit_id)
    return ledger.code("earmarked", *args), ledger.code("payable", *args), ledger.code("paid_out", *args)


def _owe(session: Session, enrolment: Enrolment, share: str, amount, certificate_id: str | None):
    """The one reimbursement of this share for this enrolment, created or revived; None if nothing is owed."""
    return _owe_all(session, [(enrolment, share, amount, certificate_id)])[0]


def _owe_all(session: Session, wanted: list[tuple[Enrolment, str, Decimal, str | None]]) -> list:
    """`_owe` for each (enrolment, share, amount, certificate id) in order: the enrolments' reimbursements read
    (locked) in one statement, the new ones inserted in one (the database's one row per enrolment and share
    refuses a second)."""
    ids = sorted({enrolment.enrolment_id for enrolment, _, amount, _ in wanted if amount})
    held = {
        (row.enrolment_id, row.share): row
        for row in session.scalars(
            select(Reimbursement)
            .where(among(session, Reimbursement.enrolment_id, ids))
            .order_by(Reimbursement.enrolment_id, Reimbursement.share)
            .with_for_update()
        )
    }
    owed: list[Reimbursement | None] = []
    for enrolment, share, amount, certificate_id in wanted:
        row = held.get((enrolment.enrolment_id, share))
        if not amount or (row is not None and row.status not in ("cancelled", "recovered")):
            owed.append(row if amount else None)  # owed already: a repeated certificate owes nothing more
            continue
        if row is None:
            row = held[(enrolment.enrolment_id, share)] = Reimbursement(
                reimbursement_id=str(uuid.uuid4()),
                enrolment_id=enrolment.enrolment_id,
                share=share,
                created_at=utcnow(),
            )
            session.add(row)
        row.amount, row.certificate_id, row.certificate_revoked = amount, certificate_id, False
        row.status = "awaiting_funds" if share == "federation" else "payable"
        owed.append(row)
    session.flush()
    return owed


def _reserve(session: Session, enrolment: Enrolment, row: Reimbursement, cause: str) -> bool:
    """Set the federation's share aside from the earmarked account, if it holds enough."""
    return _reserve_all(session, [(enrolment, row, cause)])[0]


def _reserve_all(session: Session, reserving: list[tuple[Enrolment, Reimbursement, str]]) -> list[bool]:
    """`_reserve` for each (enrolment, share, cause) in order, the accounts locked once and the postings written
    together (ledger.post_many); each is set aside only if what the ones before it left covers it."""
    if not reserving:
        return []
    held = ledger.locked(session, [code for enrolment, _, _ in reserving for code in accounts(enrolment)[:2]])
    left = {code: account.balance for code, account in held.items()}
    planned, reserved = [], []
    for enrolment, row, cause in reserving:
        earmarked, payable, _paid_out = accounts(enrolment)
        fits = left[earmarked] >= row.amount
        if fits:
            left[earmarked] -= row.amount
            planned.append(
                ledger.Planned(
                    f"{cause}:{row.reimbursement_id}:reserve",
                    "federation share set aside for a certified student",
                    enrolment.campaign_id,
                    [ledger.Move(earmarked, payable, row.amount)],
                    enrolment.enrolment_id,
                )
            )
            row.status = "payable"
        reserved.append(fits)
    ledger.post_many(session, planned)
    return reserved


def _release(session: Session, enrolment: Enrolment, row: Reimbursement, cause: str, memo: str) -> None:
    """A federation share set aside in `payable` goes back to the earmarked account."""
    earmarked, payable, _paid_out = accounts(enrolment)
    ledger.post(
        session,
        f"{cause}:{row.reimbursement_id}:release",
        memo,
        enrolment.campaign_id,
        [ledger.Move(payable, earmarked, row.amount)],
        enrolment.enrolment_id,
    )
    row.status = "awaiting_funds"


def follow_breakdown(session: Session, enrolment: Enrolment, cause: str) -> None:
    follow_breakdowns(session, [(enrolment, cause)])


def follow_breakdowns(session: Session, following: list[tuple[Enrolment, str]]) -> None:
    """Shares owed but not yet paid take the amount of their recomputed breakdown (a transfer, a rate raise),
    for each (enrolment, cause) of distinct enrolments: their shares read (locked) in one statement.

    A federation share already set aside sets aside the difference; if the earmarked
    account cannot cover it, the share is released and awaits funds again (reserved
    when the unit pays it).
    """
    causes = {enrolment.enrolment_id: (enrolment, cause) for enrolment, cause in following}
    for row in session.scalars(
        select(Reimbursement)
        .where(Reimbursement.enrolment_id.in_(sorted(causes)), Reimbursement.status.in_(OWED))
        .order_by(Reimbursement.enrolment_id, Reimbursement.share)
        .with_for_update()
    ):
        enrolment, cause = causes[row.enrolment_id]
        wanted = getattr(session.get(Breakdown, enrolment.enrolment_id), row.share)  # its federation or unit total
        if wanted == row.amount:
            continue
        if row.share == "federation" and row.status == "payable":
            earmarked, payable, _paid_out = accounts(enrolment)
            if wanted and wanted - row.amount <= ledger.locked(session, [earmarked, payable])[earmarked].balance:
                grow = wanted > row.amount
                ledger.post(
                    session,
                    f"{cause}:{row.reimbursement_id}:resize",
                    "federation share set aside follows its recomputed breakdown",
                    enrolment.campaign_id,
                    [
                        ledger.Move(earmarked, payable, wanted - row.amount)
                        if grow
                        else ledger.Move(payable, earmarked, row.amount - wanted)
                    ],
                    enrolment.enrolment_id,
                )
            else:
                _release(session, enrolment, row, cause, "federation share released: its breakdown changed")
        if wanted:
            row.amount = wanted
        else:
            row.status = "cancelled"
    session.flush()


def owe_unit_shares(session: Session, enrolments: list[Enrolment], moment: str) -> None:
    """The unit's own share of each enrolment (distinct) whose unit owes it at this `moment`."""
    policies = unit_policies(session, {enrolment.unit_id for enrolment in enrolments})
    owing = []
    for enrolment in enrolments:
        breakdown = session.get(Breakdown, enrolment.enrolment_id)
        if (
            breakdown is not None
            and breakdown.status == "active"
            and policies[enrolment.unit_id].unit_share_timing == moment
        ):
            owing.append((enrolment, "unit", breakdown.unit, None))
    if owing:
        _owe_all(session, owing)


def certificates_issued(uow: UnitOfWork, issued: list[tuple[Certificate, str]]) -> None:
    """Each (certificate, cause) owes the shares once finance knows its enrolment; until then it waits for the
    facts (enrollment.registered or admitted), asked for again when they are late (servicekit.sagas)."""
    session = uow.session
    ids = {certificate.enrolment_id for certificate, _ in issued}
    # held by these names while on_certificates runs, so its rows_by_key finds the enrolments in the session
    enrolments, breakdowns = rows_by_key(session, Enrolment, ids), rows_by_key(session, Breakdown, ids)
    known = []
    for certificate, cause in issued:
        if _facts_known(enrolments.get(certificate.enrolment_id), breakdowns.get(certificate.enrolment_id)):
            known.append((certificate, cause))
            continue
        log.info(
            "certificate waits for its enrolment's facts",
            extra={"certificate_id": certificate.certificate_id, "enrolment_id": certificate.enrolment_id},
        )
        uow.await_answer(SAGA, certificate.certificate_id)
    on_certificates(session, known)


def facts_arrived(uow: UnitOfWork, arrived: list[tuple[Enrolment, str]]) -> None:
    """Each (enrolment, cause) is known now: the certificates that waited for it owe their shares, in the order
    of their enrolments."""
    order = {enrolment.enrolment_id: (index, cause) for index, (enrolment, cause) in enumerate(arrived)}
    certificates = uow.session.scalars(
        select(Certificate).where(
            among(uow.session, Certificate.enrolment_id, list(order)), Certificate.status == "issued"
        )
    ).all()
    waited = uow.answered_all(SAGA, [certificate.certificate_id for certificate in certificates])
    on_certificates(
        uow.session,
        [
            (certificate, order[certificate.enrolment_id][1])
            for certificate in sorted(certificates, key=lambda certificate: order[certificate.enrolment_id][0])
            if certificate.certificate_id in waited
        ],
    )


def ask_again(uow: UnitOfWork, certificate_id: str) -> bool:
    """The sweeper: ask enrollment to announce the enrolment again (it answers with its current event)."""
    session = uow.session
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.status != "issued":
        return False  # revoked meanwhile: nothing is owed
    enrolment_id = certificate.enrolment_id
    # known by now (a withdrawal, say): owe and stop waiting
    if _facts_known(session.get(Enrolment, enrolment_id), session.get(Breakdown, enrolment_id)):
        on_certificate(session, certificate, f"saga:{certificate_id}")
        return False
    uow.publish("announcement.requested", {"enrolment_id": certificate.enrolment_id, "certificate_id": certificate_id})
    return True


def _facts_known(enrolment: Enrolment | None, breakdown: Breakdown | None) -> bool:
    return enrolment is not None and (enrolment.status == "withdrawn" or breakdown is not None)


def on_certificate(session: Session, certificate: Certificate, cause: str) -> None:
    on_certificates(session, [(certificate, cause)])


def on_certificates(session: Session, issued: list[tuple[Certificate, str]]) -> None:
    """The shares each (certificate, cause) owes, with one statement per table for them all."""
    if not issued:
        return
    ids = sorted({certificate.enrolment_id for certificate, _ in issued})
    enrolments = rows_by_key(session, Enrolment, ids)
    # locked: a rate raise recomputing these breakdowns waits, and sees the shares these certificates owe
    breakdowns = {
        row.enrolment_id: row
        for row in session.scalars(
            select(Breakdown)
            .where(among(session, Breakdown.enrolment_id, ids))
            .order_by(Breakdown.enrolment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    policies: dict[str, str] = {}
    owing = []
    for certificate, cause in issued:
        enrolment, breakdown = enrolments.get(certificate.enrolment_id), breakdowns.get(certificate.enrolment_id)
        if enrolment is None or (breakdown is None and enrolment.status != "withdrawn"):
            raise LookupError(f"enrolment {certificate.enrolment_id} not registered yet")  # retried until it is
        if enrolment.status == "withdrawn" or breakdown.status != "active":
            log.warning(
                "certificate for a withdrawn enrolment: no share is owed",
                extra={"enrolment_id": enrolment.enrolment_id},
            )
            continue
        owing.append((enrolment, "federation", breakdown.federation, certificate, cause))
        if enrolment.unit_id not in policies:
            policies[enrolment.unit_id] = unit_policy(session, enrolment.unit_id).unit_share_timing
        if policies[enrolment.unit_id] == "on_certification":
            owing.append((enrolment, "unit", breakdown.unit, certificate, cause))
    owed = _owe_all(session, [(e, share, amount, c.certificate_id) for e, share, amount, c, _cause in owing])
    reserving, seen = [], set()
    for (enrolment, share, _amount, _certificate, cause), row in zip(owing, owed, strict=True):
        if share != "federation" or row is None or row.status != "awaiting_funds" or row.reimbursement_id in seen:
            continue
        seen.add(row.reimbursement_id)  # the same share twice in the batch is set aside once
        breakdown = breakdowns[enrolment.enrolment_id]
        if breakdown.paid < breakdown.total:
            row.status = "awaiting_payment"  # set aside once the recorded payments cover the whole fee
        else:
            reserving.append((enrolment, row, cause))
    _reserve_all(session, reserving)


def payment_recorded(session: Session, enrolment: Enrolment, cause: str) -> None:
    """The employee's payments now cover the whole fee: a federation share waiting for them is set aside
    (or awaits funds, if the earmarked account is short)."""
    breakdown = session.get(Breakdown, enrolment.enrolment_id)
    if breakdown is None or breakdown.paid < breakdown.total:
        return
    row = session.scalar(
        select(Reimbursement)
        .where(
            Reimbursement.enrolment_id == enrolment.enrolment_id,
            Reimbursement.share == "federation",
            Reimbursement.status == "awaiting_payment",
        )
        .with_for_update()
    )
    if row is not None:
        row.status = "awaiting_funds"
        _reserve(session, enrolment, row, cause)
        session.flush()


def on_revoked(session: Session, certificate: Certificate, cause: str) -> None:
    """No certificate, no federation share: unpaid shares are cancelled, paid ones flagged for recovery."""
    enrolment = session.get(Enrolment, certificate.enrolment_id)
    rows = session.scalars(
        select(Reimbursement)
        .where(
            Reimbursement.enrolment_id == certificate.enrolment_id,
            Reimbursement.certificate_id == certificate.certificate_id,
        )
        .with_for_update()
    ).all()
    for row in rows:
        if row.status == "paid":
            row.certificate_revoked = True
            continue
        if row.status == "payable" and row.share == "federation":
            _release(session, enrolment, row, cause, "certificate revoked: federation share released")
        row.status = "cancelled"


def visible(session: Session, identity: Identity, reimbursement_id: str) -> tuple[Reimbursement, Enrolment]:
    row = session.get(Reimbursement, reimbursement_id, with_for_update=True)
    enrolment = row and session.get(Enrolment, row.enrolment_id)
    if row is None or (not identity.is_federation and enrolment.unit_id != identity.unit_id):
        raise NotFound(
            _("No reimbursement {reimbursement_id} visible to you.").format(reimbursement_id=reimbursement_id),
        )
    return row, enrolment


def pay(
    uow: UnitOfWork, identity: Identity, reimbursement_id: str, body: dict, cause: str
) -> tuple[Reimbursement, Enrolment]:
    """The unit officer records paying a share to the student (date, reference, bank details)."""
    session = uow.session
    row, enrolment = visible(session, identity, reimbursement_id)
    if row.status not in OWED:
        raise NOT_PAYABLE(_("The reimbursement is {status}.").format(status=row.status))
    if row.status == "awaiting_payment":
        breakdown = session.get(Breakdown, enrolment.enrolment_id)
        raise NOT_PAID_IN_FULL(
            _("The employee has paid {paid} of {total}.").format(
                paid=show(breakdown.paid), total=show(breakdown.total)
            ),
        )
    if row.share == "federation":
        ledger.locked(session, list(accounts(enrolment)))  # all three at once, in order: no deadlock
        if row.status == "awaiting_funds" and not _reserve(session, enrolment, row, cause):
            earmarked = accounts(enrolment)[0]
            raise BALANCE_SHORT(
                _(
                    "The earmarked account holds {balance}, {amount} is needed: ask the federation for a transfer first."
                ).format(balance=show(ledger.balance(session, earmarked)), amount=show(row.amount)),
            )
        _earmarked, payable, paid_out = accounts(enrolment)
        ledger.post(
            session,
            f"{cause}:{row.reimbursement_id}:paid",
            "federation share paid to the student",
            enrolment.campaign_id,
            [ledger.Move(payable, paid_out, row.amount)],
            enrolment.enrolment_id,
        )
    row.status, row.payment_cause, row.paid_by = "paid", cause, identity.subject
    row.paid_on, row.reference = body["paid_on"], body.get("reference")
    row.bank_name, row.bank_account = body["bank_name"], body["bank_account"]
    session.flush()
    uow.publish(
        "reimbursement.paid",
        {
            "reimbursement_id": row.reimbursement_id,
            "enrolment_id": row.enrolment_id,
            "campaign_id": enrolment.campaign_id,
            "unit_id": enrolment.unit_id,
            "kind": enrolment.kind,
            "share": row.share,
            "amount": show(row.amount),
            "paid_on": row.paid_on.isoformat(),
            **({"certificate_id": row.certificate_id} if row.certificate_id else {}),
            **({"reference": row.reference} if row.reference else {}),
        },
    )
    return row, enrolment


def recover(
    uow: UnitOfWork, identity: Identity, reimbursement_id: str, body: dict
) -> tuple[Recovery, Reimbursement, Enrolment]:
    """The unit officer records the share a student paid back after the certificate was revoked.

    Recorded once per share and certificate: the same record again answers what was recorded.
    """
    session = uow.session
    row, enrolment = visible(session, identity, reimbursement_id)
    earlier = session.scalar(
        select(Recovery).where(
            Recovery.reimbursement_id == row.reimbursement_id, Recovery.certificate_id == row.certificate_id
        )
    )
    if earlier is not None:
        if (earlier.amount, earlier.recovered_on, earlier.reference) != (
            body["amount"],
            body["recovered_on"],
            body["reference"],
        ):
            raise NOT_RECOVERABLE(
                _("Recovered already on {recovered_on} ({reference}).").format(
                    recovered_on=earlier.recovered_on.isoformat(), reference=earlier.reference
                ),
            )
        return earlier, row, enrolment
    if row.status != "paid":
        raise NOT_RECOVERABLE(_("The reimbursement is {status}.").format(status=row.status))
    if not row.certificate_revoked:
        raise NOT_RECOVERABLE(_("The reimbursement is paid and its certificate stands."))
    if body["amount"] != row.amount:
        raise RECOVERY_NOT_THE_SHARE(
            errors={"amount": [_("Must be {amount}, the share paid.").format(amount=show(row.amount))]},
        )
    recovery = Recovery(
        recovery_id=str(uuid.uuid4()),
        reimbursement_id=row.reimbursement_id,
        certificate_id=row.certificate_id,
        amount=row.amount,
        recovered_on=body["recovered_on"],
        reference=body["reference"],
        recorded_by=identity.subject,
        recorded_at=utcnow(),
    )
    session.add(recovery)
    session.flush()
    if row.share == "federation":
        earmarked, _payable, paid_out = accounts(enrolment)
        ledger.post(
            session,
            f"recovery:{recovery.recovery_id}",
            "certificate revoked: federation share recovered from the student",
            enrolment.campaign_id,
            [ledger.Move(paid_out, earmarked, row.amount)],
            enrolment.enrolment_id,
        )
    row.status = "recovered"
    session.flush()
    uow.publish(
        "reimbursement.recovered",
        {
            "reimbursement_id": row.reimbursement_id,
            "enrolment_id": row.enrolment_id,
            "campaign_id": enrolment.campaign_id,
            "unit_id": enrolment.unit_id,
            "kind": enrolment.kind,
            "share": row.share,
            "amount": show(row.amount),
            "recovered_on": recovery.recovered_on.isoformat(),
            "reference": recovery.reference,
            **({"certificate_id": row.certificate_id} if row.certificate_id else {}),
        },
    )
    return recovery, row, enrolment
