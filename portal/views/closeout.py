"""A campaign's close-out (结项): the checklist before closing, the close itself, the report after.

The gateway merges every service's part (GET /api/campaigns/{id}/closeout): the checklist (classes finished,
results in, reimbursements paid, funds transferred, objections decided: each with its counts and the first
ones missing) and the figures per first-level unit and per institution. Closing is quota's (POST
/api/quota/campaigns/{id}/close, a reason required, what becomes of the units' unspent earmarked funds chosen);
it is irreversible: the page asks to confirm, and warns when the checklist is not done (the API lets the
federation close anyway: its decision, audited with its reason).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import gateway
from ..app import FEDERATION, FEDERATION_ADMIN, forget_campaigns, requires
from ..forms import options, show_problem
from ..gateway import Problem
from .federation import xlsx_download
from .oversight import institution_names

blueprint = Blueprint("closeout", __name__, url_prefix="/federation/campaigns")

UNSPENT_CHOICES = [
    ("return_to_pool", _l("各单位未使用的专款退回市总工会资金池")),
    ("keep_with_units", _l("各单位未使用的专款留在本单位（列入报告）")),
]
COUNTS = ("nominated", "registered", "trained", "withdrawn", "passed", "certified")
UNIT_MONEY = ("fees", "federation", "unit", "employee", "federation_reimbursed", "unit_reimbursed")
UNSPENT = ("transferred", "unspent", "returned_at_close")


def checklist_items() -> dict[str, tuple[str, str]]:
    """Each checklist item's name and the page where what is missing is dealt with."""
    return {
        "classes_finished": (_("开班已全部结业"), url_for("federation.reviews", tab="rosters")),
        "results_in": (_("考核结果已全部录入"), url_for("oversight.institutions")),
        "reimbursements_paid": (_("补助已全部支付"), url_for("oversight.audit", entity_type="reimbursement")),
        "funds_transferred": (_("专款已全部拨付"), url_for("federation.transfers")),
        "objections_decided": (_("异议已全部处理"), url_for("federation.reviews", status="nominated")),
    }


def figure_names() -> dict[str, str]:
    return {
        "nominated": _("推荐"),
        "registered": _("报名"),
        "trained": _("参训"),
        "withdrawn": _("退学"),
        "passed": _("考试通过"),
        "certified": _("取得证书"),
        "fees": _("费用合计（元）"),
        "federation": _("市总承担（元）"),
        "unit": _("单位承担（元）"),
        "employee": _("个人承担（元）"),
        "federation_reimbursed": _("市总补助已支付（元）"),
        "unit_reimbursed": _("单位补助已支付（元）"),
        "transferred": _("已拨付专款（元）"),
        "unspent": _("结余未用（元）"),
        "returned_at_close": _("结项退回（元）"),
        "satisfaction": _("满意度"),
    }


class CloseForm(FlaskForm):
    reason = TextAreaField(_l("结项说明"), validators=[DataRequired(_l("请填写结项说明")), Length(max=2000)])
    unspent_funds = SelectField(_l("未使用专款的处理"), choices=options(UNSPENT_CHOICES))


@blueprint.route("/<campaign_id>/closeout")
@requires(*FEDERATION)
def closeout(campaign_id):
    return _page(campaign_id, CloseForm(formdata=None))


def _page(campaign_id: str, form: CloseForm, form_error: str | None = None, status: int = 200):
    found, lines, institutions = gateway.concurrently(
        lambda: gateway.get(f"/api/campaigns/{campaign_id}/closeout"),
        lambda: gateway.maybe(lambda: gateway.get(f"/api/quota/campaigns/{campaign_id}/allocation"), {}),
        institution_names,
    )
    unit_names = {line["unit_id"]: line["unit_name"] for line in lines.get("lines", [])}
    return render_template(
        "federation/closeout.html",
        closeout=found,
        items=checklist_items(),
        names=figure_names(),
        counts=COUNTS,
        unit_money=UNIT_MONEY,
        unspent=UNSPENT,
        unit_names=unit_names,
        institution_names=institutions,
        unspent_choices=dict(UNSPENT_CHOICES),
        form=form,
        form_error=form_error,
    ), status


@blueprint.route("/<campaign_id>/close", methods=["POST"])
@requires(FEDERATION_ADMIN)
def close(campaign_id):
    form = CloseForm()
    if not form.validate():
        return _page(campaign_id, form, status=422)
    try:
        closed = gateway.post(
            f"/api/quota/campaigns/{campaign_id}/close",
            {"reason": form.reason.data.strip(), "unspent_funds": form.unspent_funds.data},
        )
    except Problem as error:
        return _page(campaign_id, form, show_problem(form, error), error.status)
    forget_campaigns()
    flash(_("计划“%(name)s”已结项：各项数据只可查看，不可修改。", name=closed["name"]), "ok")
    return redirect(url_for("closeout.closeout", campaign_id=campaign_id))


@blueprint.route("/<campaign_id>/closeout.xlsx")
@requires(*FEDERATION)
def export(campaign_id):
    return xlsx_download(f"/api/campaigns/{campaign_id}/closeout", f"closeout-{campaign_id}.xlsx")
