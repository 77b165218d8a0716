"""Institutions, programmes (the catalogue and its import), units' plans."""

from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.audit import Changes, audit_changes
from servicekit.identity import ROLES, current_identity, requires
from servicekit.tabular import Column, read_rows, validate_rows

from .. import catalogue
from ..listings import INSTITUTIONS, NOTICES, PROGRAMMES
from ..schemas import (
    CatalogueImportForm,
    ImportOut,
    InstitutionIn,
    InstitutionOut,
    InstitutionRename,
    NoticeOut,
    PlanIn,
    PlanOut,
    ProgrammeBody,
    ProgrammeOut,
    ProgrammeReturnIn,
    ProgrammeRow,
    UploadFile,
)
from . import documents

blp = Blueprint(
    "catalogue", __name__, description="Institutions, the training catalogue and units' plans (培训学习目录)"
)


CATALOGUE_COLUMNS = [
    Column("programme_id", "项目编号 Programme id"),
    Column("institution_id", "机构编号 Institution id"),
    Column("name", "项目名称 Name"),
    Column("kind", "类别 Kind (academic/skills)"),
    Column("level", "层次/等级 Level"),
    Column("major", "专业 Major"),
    Column("trade", "工种 Trade"),
    Column("teaching_sites", "教学点 Teaching sites"),
    Column("start_date", "开课日期 Start date"),
    Column("on_site_teaching", "上门办学 On-site teaching"),
    Column("fee_tuition_or_training", "学费/培训费 Tuition or training fee"),
    Column("fee_appraisal_exam", "鉴定考试费 Appraisal exam fee"),
    Column("fee_textbook", "教材费 Textbook fee"),
    Column("fee_registration", "报名费 Registration fee"),
    Column("fee_entrance_test", "入学测试费 Entrance-test fee"),
]


@blp.route("/institutions", methods=["GET"])
@blp.arguments(INSTITUTIONS.query, location="query")
@blp.response(200, InstitutionOut(many=True))
@requires(*ROLES)
def list_institutions(args):
    """The contracted institutions and their standing."""
    with unit_of_work() as uow:
        return INSTITUTIONS.page(
            uow.session,
            catalogue.institutions_query(),
            args,
            view=lambda rows: [catalogue.institution_view(i, s) for i, s in rows],
        )


@blp.route("/institution-notices", methods=["GET"])
@blp.arguments(NOTICES.query, location="query")
@blp.response(200, NoticeOut(many=True))
@requires("federation_admin", "auditor", "institution_operator", "institution_system")
def list_notices(filters):
    """Notices (通报) given to institutions after their evaluation: an institution sees its own."""
    with unit_of_work() as uow:
        query = catalogue.notices_query(current_identity())
        return NOTICES.page(uow.session, query, filters, view=lambda rows: [catalogue.notice_view(n) for n in rows])


@blp.route("/institutions", methods=["POST"])
@blp.arguments(InstitutionIn)
@blp.response(201, InstitutionOut)
@documents(blp, 409)
@requires("federation_admin")
def register_institution(body):
    """Register an institution (announces institution.registered)."""
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        view = catalogue.register_institution(uow, body)
        audit_changes(uow, changes, "registered", entity_type="institution", entity_id=body["institution_id"])
        uow.commit()
    return view


@blp.route("/institutions/<institution_id>", methods=["PATCH"])
@blp.arguments(InstitutionRename)
@blp.response(200, InstitutionOut)
@documents(blp, 404, 409)
@requires("federation_admin")
def rename_institution(body, institution_id):
    """Rename an institution (announces institution.registered with a higher revision)."""
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        view = catalogue.rename_institution(uow, institution_id, body["name"])
        audit_changes(uow, changes, "renamed", entity_type="institution", entity_id=institution_id)
        uow.commit()
    return view


@blp.route("/programmes", methods=["GET"])
@blp.arguments(PROGRAMMES.query, location="query")
@blp.response(200, ProgrammeOut(many=True))
@requires(*ROLES)
def list_programmes(filters):
    """The catalogue: published programmes (the federation also sees drafts)."""
    with unit_of_work() as uow:
        query = catalogue.programmes_query(current_identity())
        return PROGRAMMES.page(
            uow.session, query, filters, view=lambda rows: catalogue.programme_views(uow.session, rows)
        )


@blp.route("/programmes/<programme_id>", methods=["GET"])
@blp.response(200, ProgrammeOut)
@documents(blp, 404)
@requires(*ROLES)
def get_programme(programme_id):
    with unit_of_work() as uow:
        programme = catalogue.visible_programme(uow.session, current_identity(), programme_id)
        return catalogue.programme_views(uow.session, [programme])[0]


@blp.route("/programmes/<programme_id>", methods=["PUT"])
@blp.arguments(ProgrammeBody)
@blp.response(200, ProgrammeOut)
@blp.alt_response(201, schema=ProgrammeOut, success=True, description="Created as a draft")
@documents(blp, 403, 409)
@requires("federation_admin", "institution_operator")
def put_programme(body, programme_id):
    """Create a draft programme or replace its details; a published one is announced again. An institution's
    operator edits its own institution's programmes only; the federation publishes them."""
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        programme, created = catalogue.save_programme(uow, programme_id, body, current_identity())
        audit_changes(uow, changes, "created" if created else "updated", programme)
        view = catalogue.programme_view(programme)
        uow.commit()
    return view, 201 if created else 200


@blp.route("/programmes/<programme_id>/publish", methods=["POST"])
@blp.response(200, ProgrammeOut)
@documents(blp, 404)
@requires("federation_admin")
def publish_programme(programme_id):
    """Publish a programme in the catalogue (announces programme.published)."""
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        programme = catalogue.publish_programme(uow, programme_id)
        audit_changes(uow, changes, "published", programme)
        view = catalogue.programme_view(programme)
        uow.commit()
    return view


@blp.route("/programmes/<programme_id>/return", methods=["POST"])
@blp.arguments(ProgrammeReturnIn)
@blp.response(200, ProgrammeOut)
@documents(blp, 404, 409)
@requires("federation_admin")
def return_programme(body, programme_id):
    """Send a draft back to its institution with the reason (what to change): it stays a draft, shown as returned
    (with the reason) until the institution edits it. Audited as `programme.returned`."""
    reason = body["reason"].strip()
    with unit_of_work() as uow:
        programme = catalogue.return_programme(uow, programme_id)
        before = catalogue.programme_view(programme)
        uow.audit(f"programme.{catalogue.RETURNED}", "programme", programme_id, before=before, reason=reason)
        view = catalogue.programme_views(uow.session, [programme])[0]  # the return just recorded
        uow.commit()
    return view


@blp.route("/programmes/import", methods=["POST"])
@blp.arguments(UploadFile, location="files")
@blp.arguments(CatalogueImportForm, location="form", content_type="multipart/form-data")
@blp.response(201, ImportOut)
@documents(blp, 400, 409)
@requires("federation_admin")
def import_programmes(files, form):
    """Import the catalogue from .xlsx or .csv: every row is valid or nothing is written."""
    upload = files["file"]
    rows = validate_rows(read_rows(upload.read(), upload.filename or "", CATALOGUE_COLUMNS), ProgrammeRow())
    with unit_of_work() as uow:
        changes = Changes(uow.session)
        report = catalogue.import_programmes(uow, rows, form["publish"])
        audit_changes(uow, changes, "imported", entity_type="programme")
        uow.commit()
    return report


@blp.route("/units/<unit_id>/plans/<campaign_id>", methods=["GET"])
@blp.response(200, PlanOut)
@documents(blp, 403)
@requires("federation_admin", "auditor", "unit_officer", "grassroots_officer")
def get_plan(unit_id, campaign_id):
    """A unit's plan for a campaign: its chosen programmes and institutions."""
    with unit_of_work() as uow:
        return catalogue.get_plan(uow.session, current_identity(), unit_id, campaign_id)


@blp.route("/units/<unit_id>/plans/<campaign_id>", methods=["PUT"])
@blp.arguments(PlanIn)
@blp.response(200, PlanOut)
@documents(blp, 403)
@requires("unit_officer")
def record_plan(body, unit_id, campaign_id):
    """Record (replace) the unit's chosen programmes for the campaign."""
    with unit_of_work() as uow:
        before = catalogue.plan_view(uow.session, unit_id, campaign_id)
        view = catalogue.record_plan(uow, current_identity(), unit_id, campaign_id, body["programme_ids"])
        uow.audit("plan.recorded", "plan", f"{unit_id}/{campaign_id}", before=before, after=view, only_changes=True)
        uow.commit()
    return view
