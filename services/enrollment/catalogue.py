"""Use cases of the catalogue: institutions, programmes and their fee standards, units' plans."""

from __future__ import annotations

from sqlalchemy import Select, delete, or_, select

from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Conflict, Forbidden, NotFound

from .access import INSTITUTION_ROLES
from .models import (
    FEE_LINES,
    Campaign,
    Enrolment,
    Institution,
    InstitutionNotice,
    InstitutionStanding,
    PlanProgramme,
    Programme,
    audit_entries,
)
from .problems import (
    ALREADY_EXISTS,
    INSTITUTION_DISQUALIFIED,
    PROGRAMME_PUBLISHED,
    UNKNOWN_REFERENCE,
    flush_or_conflict,
)

DRAFT, PUBLISHED, RETURNED = "draft", "published", "returned"  # returned: an audited decision, not a status


def refuse_if_disqualified(session, institution_id: str) -> None:
    """A disqualified institution takes nothing new at once: no nomination to it, registration, class or plan
    (students already training finish, or transfer as the federation decides); reinstatement reopens it."""
    refuse_standing(session.get(InstitutionStanding, institution_id))


def refuse_standing(standing: InstitutionStanding | None) -> None:
    if standing is not None and standing.disqualified:
        raise INSTITUTION_DISQUALIFIED(standing.reason)


def institution_view(institution: Institution, standing: InstitutionStanding | None) -> dict:
    disqualified = bool(standing and standing.disqualified)
    return {
        "institution_id": institution.institution_id,
        "name": institution.name,
        "revision": institution.revision,
        "disqualified": disqualified,
        "disqualification_reason": standing.reason if disqualified else None,
    }


def institutions_query() -> Select:
    """The contracted institutions with their standing (rows of (Institution, InstitutionStanding or None))."""
    return select(Institution, InstitutionStanding).outerjoin(
        InstitutionStanding, InstitutionStanding.institution_id == Institution.institution_id
    )


def notice_view(notice: InstitutionNotice) -> dict:
    return {column.key: getattr(notice, column.key) for column in InstitutionNotice.__table__.columns}


def notices_query(identity: Identity) -> Select:
    """Notices (通报) the federation gave institutions: an institution sees its own, the federation all."""
    query = select(InstitutionNotice)
    if not identity.is_federation:
        if identity.institution_id is None:
            raise Forbidden("Notices are for the institution concerned and the federation.")
        query = query.where(InstitutionNotice.institution_id == identity.institution_id)
    return query


def _name_taken(session, name: str, other_than: str | None = None) -> None:
    holder = session.scalar(select(Institution.institution_id).where(Institution.name == name))
    if holder is not None and holder != other_than:
        raise ALREADY_EXISTS(_("Institution {holder} already has the name {name}.").format(holder=holder, name=name))


def register_institution(uow, body: dict) -> dict:
    session = uow.session
    if session.get(Institution, body["institution_id"]) is not None:
        raise ALREADY_EXISTS(_("Institution {institution_id} exists.").format(institution_id=body["institution_id"]))
    _name_taken(session, body["name"])
    institution = Institution(revision=1, **body)
    session.add(institution)
    _announce_institution(uow, institution)
    return institution_view(institution, None)


def rename_institution(uow, institution_id: str, name: str) -> dict:
    session = uow.session
    institution = session.get(Institution, institution_id, with_for_update=True)
    if institution is None:
        raise NotFound(_("No institution {institution_id}.").format(institution_id=institution_id))
    _name_taken(session, name, other_than=institution_id)
    institution.name, institution.revision = name, institution.revision + 1
    _announce_institution(uow, institution)
    return institution_view(institution, session.get(InstitutionStanding, institution_id))


def _announce_institution(uow, institution: Institution) -> None:
    uow.session.flush()
    uow.publish(
        "institution.registered",
        {"institution_id": institution.institution_id, "revision": institution.revision, "name": institution.name},
    )


def programme_view(programme: Programme, returned: dict | None = None) -> dict:
    return {
        "programme_id": programme.programme_id,
        "institution_id": programme.institution_id,
        "name": programme.name,
        "kind": programme.kind,
        "level": programme.level,
        "major": programme.major,
        "trade": programme.trade,
        "teaching_sites": programme.teaching_sites,
        "start_date": programme.start_date,
        "on_site_teaching": programme.on_site_teaching,
        "fee_standard": programme.fees(),
        "status": programme.status,
        "revision": programme.revision,
        "returned": returned,
    }


# The decisions on a programme, in its audit trail; a draft whose latest is a return was sent back and not edited.
PROGRAMME_DECISIONS = tuple(f"programme.{action}" for action in ("created", "updated", "published", RETURNED))


def programme_views(session, programmes: list[Programme]) -> list[dict]:
    """The programmes' views, each draft sent back with the return's reason (one query for the page)."""
    drafts = [p.programme_id for p in programmes if p.status == DRAFT]
    latest: dict[str, dict] = {}
    if drafts:
        trail = session.execute(
            select(
                audit_entries.c.entity_id,
                audit_entries.c.action,
                audit_entries.c.reason,
                audit_entries.c.actor_id,
                audit_entries.c.at,
            )
            .where(
                audit_entries.c.entity_type == "programme",
                audit_entries.c.entity_id.in_(drafts),
                audit_entries.c.action.in_(PROGRAMME_DECISIONS),
            )
            .order_by(audit_entries.c.at.desc(), audit_entries.c.id.desc())
        )
        for row in trail:
            latest.setdefault(row.entity_id, row)
    return [programme_view(p, _returned(latest.get(p.programme_id)) if p.status == DRAFT else None) for p in programmes]


def _returned(decision) -> dict | None:
    if decision is None or decision.action != f"programme.{RETURNED}":
        return None
    return {"reason": decision.reason, "returned_by": decision.actor_id, "returned_at": decision.at}


def return_programme(uow, programme_id: str) -> Programme:
    """Send a draft back to its institution (the API audits it with the reason): only a draft goes back."""
    programme = uow.session.get(Programme, programme_id, with_for_update=True)
    if programme is None:
        raise NotFound(_("No programme {programme_id}.").format(programme_id=programme_id))
    if programme.status != DRAFT:
        raise PROGRAMME_PUBLISHED()
    return programme


def programme_event(programme: Programme) -> dict:
    data = {
        "programme_id": programme.programme_id,
        "revision": programme.revision,
        "institution_id": programme.institution_id,
        "kind": programme.kind,
        "level": programme.level,
        "teaching_sites": programme.teaching_sites,
        "start_date": programme.start_date.isoformat(),
        "on_site_teaching": programme.on_site_teaching,
        "fee_standard": {line: show(amount) for line, amount in programme.fees().items()},
    }
    data |= {"major": programme.major} if programme.kind == "academic" else {"trade": programme.trade}
    return data


def _apply(programme: Programme, body: dict) -> None:
    fees = body["fee_standard"]
    for key in (
        "institution_id",
        "name",
        "kind",
        "level",
        "major",
        "trade",
        "teaching_sites",
        "start_date",
        "on_site_teaching",
    ):
        setattr(programme, key, body[key])
    for line in FEE_LINES:
        setattr(programme, f"fee_{line}", fees[line])


def _known_institution(session, institution_id: str) -> None:
    if session.get(Institution, institution_id) is None:
        raise UNKNOWN_REFERENCE(
            _("No institution {institution_id}.").format(institution_id=institution_id),
            errors={"institution_id": [_("Unknown institution.")]},
        )


def save_programme(uow, programme_id: str, body: dict, editor: Identity | None = None) -> tuple[Programme, bool]:
    """Create a draft, or replace an existing programme's details (a published one is announced again). An
    institution's operator (`editor`) keeps to its own institution's programmes; the federation publishes."""
    session = uow.session
    programme = session.get(Programme, programme_id, with_for_update=True)
    if editor is not None and not editor.is_federation:
        if editor.institution_id != body["institution_id"]:
            raise Forbidden(_("An institution edits only its own programmes."))
        if programme is not None and programme.institution_id != editor.institution_id:
            raise ALREADY_EXISTS(_("Another institution's programme has this id."))
    _known_institution(session, body["institution_id"])
    created = programme is None
    if created:
        programme = Programme(programme_id=programme_id, status=DRAFT, revision=0)
        session.add(programme)
    elif (programme.kind, programme.institution_id) != (body["kind"], body["institution_id"]) and session.scalar(
        select(Enrolment.enrolment_id).where(Enrolment.programme_id == programme_id).limit(1)
    ):
        raise Conflict("Employees are enrolled in this programme: its kind and institution stay.")
    _apply(programme, body)
    programme.revision += 1
    flush_or_conflict(session, f"Programme {programme_id} was created concurrently.")
    if programme.status == PUBLISHED:
        uow.publish("programme.published", programme_event(programme))
    return programme, created


def publish_programme(uow, programme_id: str) -> Programme:
    programme = uow.session.get(Programme, programme_id, with_for_update=True)
    if programme is None:
        raise NotFound(_("No programme {programme_id}.").format(programme_id=programme_id))
    if programme.status != PUBLISHED:
        programme.status, programme.revision = PUBLISHED, programme.revision + 1
        uow.session.flush()
        uow.publish("programme.published", programme_event(programme))
    return programme


def import_programmes(uow, rows: list[dict], publish: bool) -> dict:
    """Every row created or updated in one transaction (rows were all validated before)."""
    report = {"created": [], "updated": [], "published": []}
    for row in rows:
        programme_id = row.pop("programme_id")
        programme, created = save_programme(uow, programme_id, row)
        report["created" if created else "updated"].append(programme_id)
        if publish and programme.status != PUBLISHED:
            publish_programme(uow, programme_id)
            report["published"].append(programme_id)
    return report


def _own_draft(identity: Identity, programme: Programme) -> bool:
    return identity.role in INSTITUTION_ROLES and programme.institution_id == identity.institution_id


def visible_programme(session, identity: Identity, programme_id: str) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None or not (
        programme.status == PUBLISHED or identity.is_federation or _own_draft(identity, programme)
    ):
        raise NotFound(_("No programme {programme_id}.").format(programme_id=programme_id))
    return programme


def programmes_query(identity: Identity) -> Select:
    """The catalogue: published programmes (the federation also sees drafts, an institution its own)."""
    query = select(Programme)
    if identity.is_federation:
        return query
    if identity.role in INSTITUTION_ROLES:
        return query.where(or_(Programme.status == PUBLISHED, Programme.institution_id == identity.institution_id))
    return query.where(Programme.status == PUBLISHED)


def _may_see_plan(identity: Identity, unit_id: str, write: bool) -> None:
    own_unit = identity.role in ("unit_officer", "grassroots_officer") and identity.unit_id == unit_id
    if write and not (identity.role == "unit_officer" and own_unit):
        raise Forbidden("Only the unit's own officer records its plan.")
    if not (write or own_unit or identity.is_federation):
        raise Forbidden("Another unit's plan.")


def plan_view(session, unit_id: str, campaign_id: str) -> dict:
    programmes = list(
        session.scalars(
            select(Programme)
            .join(PlanProgramme, PlanProgramme.programme_id == Programme.programme_id)
            .where(PlanProgramme.unit_id == unit_id, PlanProgramme.campaign_id == campaign_id)
            .order_by(Programme.programme_id)
        )
    )
    return {
        "unit_id": unit_id,
        "campaign_id": campaign_id,
        "programmes": [programme_view(p) for p in programmes],
        "institution_ids": sorted({p.institution_id for p in programmes}),
    }


def get_plan(session, identity: Identity, unit_id: str, campaign_id: str) -> dict:
    _may_see_plan(identity, unit_id, write=False)
    return plan_view(session, unit_id, campaign_id)


def record_plan(uow, identity: Identity, unit_id: str, campaign_id: str, programme_ids: list[str]) -> dict:
    """Replace the unit's chosen programmes for the campaign (published programmes only)."""
    _may_see_plan(identity, unit_id, write=True)
    session = uow.session
    if session.get(Campaign, campaign_id) is None:
        raise UNKNOWN_REFERENCE(_("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
    wanted = sorted(set(programme_ids))
    published = set(
        session.scalars(
            select(Programme.programme_id).where(Programme.programme_id.in_(wanted), Programme.status == PUBLISHED)
        )
    )
    missing = [p for p in wanted if p not in published]
    if missing:
        raise UNKNOWN_REFERENCE(
            "Only published programmes can be planned.",
            errors={
                "programme_ids": [
                    _("Not a published programme: {programme_id}").format(programme_id=p) for p in missing
                ]
            },
        )
    planned = set(
        session.scalars(
            select(PlanProgramme.programme_id).where(
                PlanProgramme.unit_id == unit_id, PlanProgramme.campaign_id == campaign_id
            )
        )
    )
    for programme in session.scalars(select(Programme).where(Programme.programme_id.in_(set(wanted) - planned))):
        refuse_if_disqualified(session, programme.institution_id)  # kept ones stay: their students finish
    session.execute(
        delete(PlanProgramme).where(PlanProgramme.unit_id == unit_id, PlanProgramme.campaign_id == campaign_id)
    )
    session.add_all(PlanProgramme(unit_id=unit_id, campaign_id=campaign_id, programme_id=p) for p in wanted)
    flush_or_conflict(session, "The plan was changed concurrently; try again.")
    return plan_view(session, unit_id, campaign_id)
