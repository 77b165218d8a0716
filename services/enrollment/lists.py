"""The lists a first-level unit sends to the institutions (one dated send per grassroots union's list), and the
public notice (公示) of a grassroots union's nominees, readable without login."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, exists, select

from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Forbidden

from .access import INSTITUTION_ROLES, recommendation_view
from .domain import enrolment as rules
from .domain import lifecycle
from .domain.people import mask_resident_id
from .models import Campaign, Employee, Enrolment, NominationList, Programme, Unit
from .nominations import bump
from .problems import NOTHING_TO_SEND, UNKNOWN_REFERENCE


def send_list(uow, identity: Identity, body: dict, today: date) -> NominationList:
    """The first-level unit sends one of its grassroots unions' confirmed nominees to the institutions, as one
    list dated today: the institutions see them from now on (and nothing the unit has not sent)."""
    session = uow.session
    union = session.get(Unit, body["grassroots_union_id"])
    if union is None or union.level != "grassroots" or union.parent_id != identity.unit_id:
        raise Forbidden(
            _("Grassroots union {grassroots_union_id} is not one of your unit's.").format(
                grassroots_union_id=body["grassroots_union_id"]
            ),
        )
    if session.get(Campaign, body["campaign_id"]) is None:
        raise UNKNOWN_REFERENCE(errors={"campaign_id": [_("Unknown campaign.")]})
    confirmed = list(
        session.scalars(
            select(Enrolment)
            .where(
                Enrolment.campaign_id == body["campaign_id"],
                Enrolment.grassroots_union_id == union.unit_id,
                Enrolment.status == rules.CONFIRMED,
            )
            .order_by(Enrolment.enrolment_id)
            .with_for_update()
        )
    )
    if not confirmed:
        raise NOTHING_TO_SEND(
            _("{union} has no confirmed nominee waiting to be sent in this campaign.").format(union=union.name),
        )
    sent = NominationList(
        list_id=str(uuid.uuid4()),
        campaign_id=body["campaign_id"],
        unit_id=identity.unit_id,
        grassroots_union_id=union.unit_id,
        sent_on=today,
        sent_by=identity.subject,
        sent_at=utcnow(),
        nominees=len(confirmed),
    )
    session.add(sent)
    session.flush()
    for enrolment in confirmed:
        step = lifecycle.transition(enrolment.status, lifecycle.SEND_LIST)
        enrolment.status, enrolment.sent_on, enrolment.list_id = step.target, today, sent.list_id
        bump(enrolment)
    return sent


def scoped_lists(query: Select, identity: Identity) -> Select:
    """The sent lists the caller may see: an institution those with its nominees on them."""
    if identity.is_federation:
        return query
    if identity.role == "unit_officer":
        return query.where(NominationList.unit_id == identity.unit_id)
    if identity.role == "grassroots_officer":
        return query.where(NominationList.grassroots_union_id == identity.grassroots_union_id)
    if identity.role in INSTITUTION_ROLES:
        return query.where(
            exists().where(
                Enrolment.list_id == NominationList.list_id, Enrolment.institution_id == identity.institution_id
            )
        )
    raise Forbidden(_("The role {role} sees no nomination lists.").format(role=identity.role))


def list_views(session, lists: list[NominationList]) -> list[dict]:
    names = {
        unit.unit_id: unit.name
        for unit in session.scalars(
            select(Unit).where(Unit.unit_id.in_({n.grassroots_union_id for n in lists} | {n.unit_id for n in lists}))
        )
    }
    return [
        {
            **{
                key: getattr(sent, key)
                for key in (
                    "list_id",
                    "campaign_id",
                    "unit_id",
                    "grassroots_union_id",
                    "sent_on",
                    "sent_by",
                    "sent_at",
                    "nominees",
                )
            },
            "unit_name": names.get(sent.unit_id),
            "grassroots_union_name": names.get(sent.grassroots_union_id),
        }
        for sent in lists
    ]


def notice_query(campaign_id: str, grassroots_union_id: str, today: date) -> Select:
    """One grassroots union's nominees whose public notice runs today, in one campaign."""
    return (
        select(Enrolment, Employee.name, Employee.resident_id, Programme.name, Unit.name)
        .join(Employee, Employee.employee_id == Enrolment.employee_id)
        .join(Programme, Programme.programme_id == Enrolment.programme_id)
        .join(Unit, Unit.unit_id == Enrolment.grassroots_union_id)
        .where(
            Enrolment.campaign_id == campaign_id,
            Enrolment.grassroots_union_id == grassroots_union_id,
            Enrolment.status == rules.NOMINATED,
            Enrolment.notice_start <= today,
            Enrolment.notice_end > today,
        )
    )


def notice_views(rows) -> list[dict]:
    """Names with masked ID numbers, the programme and how the union recommended them; never phones."""
    return [
        {
            "enrolment_id": enrolment.enrolment_id,
            "campaign_id": enrolment.campaign_id,
            "grassroots_union_id": enrolment.grassroots_union_id,
            "grassroots_union_name": union,
            "name": name,
            "resident_id": mask_resident_id(resident_id),
            "kind": enrolment.kind,
            "programme_id": enrolment.programme_id,
            "programme_name": programme,
            "institution_id": enrolment.institution_id,
            "notice_start": enrolment.notice_start,
            "notice_end": enrolment.notice_end,
            "recommendation": recommendation_view(enrolment),
        }
        for enrolment, name, resident_id, programme, union in rows
    ]
