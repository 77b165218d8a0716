"""The first-level unit officer's money: reimbursements due and paid to its students, its academic share policy
and its exports (.xlsx through the portal: the quota report and the fund usage of its unit)."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import gateway
from ..app import UNIT_OFFICER, me, requires
from ..gateway import Problem
from .federation import the_campaign, today, xlsx_download

blueprint = Blueprint("unit_money", __name__, url_prefix="/unit")
TABS = ("payable", "awaiting_funds", "paid")


def academic_rule(policy: dict) -> str:
    """The unit's academic share in words."""
    mode, value = policy.get("academic_mode"), policy.get("academic_value")
    if mode == "match":
        return _("与市总工会补助等额（以剩余学费为限）")
    if mode == "fixed":
        return _("每人固定 %(value)s 元", value=value)
    if mode == "percentage" and value is not None:
        percent = format(Decimal(value) * 100, ".1f").rstrip("0").rstrip(".")
        return _("学费的 %(percent)s%%", percent=percent)
    return str(mode or "")


@blueprint.route("/money")
@requires(UNIT_OFFICER)
def money(failed: dict | None = None, answer_status: int = 200):
    campaign = the_campaign()
    status = request.args.get("status") if request.args.get("status") in TABS else "payable"
    page = gateway.page(
        "/api/finance/reimbursements", campaign_id=campaign["id"], status=status, cursor=request.args.get("cursor")
    )
    policy = None
    try:
        policy = gateway.get(f"/api/finance/units/{me().get('unit_id')}/policy")
    except Problem as error:
        if error.status not in (403, 404):
            raise
    return render_template(
        "officers/unit_money.html",
        campaign=campaign,
        page=page,
        status=status,
        policy=policy,
        academic_rule=academic_rule(policy) if policy else None,
        failed=failed or {},
        today=today().isoformat(),
    ), answer_status


PAYMENT_FIELDS = ("paid_on", "bank_name", "bank_account", "reference")


@blueprint.route("/reimbursements/<reimbursement_id>/payment", methods=["POST"])
@requires(UNIT_OFFICER)
def pay(reimbursement_id):
    """The unit pays a student's reimbursement (its share, or the federation's from the earmarked account): the
    form of its row, the browser asking first; the API's refusals shown in that row, next to their fields."""
    body = {name: (request.form.get(name) or "").strip() for name in PAYMENT_FIELDS}
    body = {name: value for name, value in body.items() if value}
    try:
        done = gateway.post(f"/api/finance/reimbursements/{reimbursement_id}/payment", body)
    except Problem as error:
        if error.status in (401, 403) or error.status >= 500:
            raise
        failed = {
            "id": reimbursement_id,
            "values": body,
            "errors": error.field_errors(),
            "message": error.detail if not error.field_errors() else "",
        }
        return money(failed=failed, answer_status=error.status)
    flash(_("已登记支付 %(amount)s 元。", amount=done["amount"]), "ok")
    return redirect(url_for("unit_money.money", status="paid"))


EXPORTS = {
    "quota": lambda c: (f"/api/quota/campaigns/{c['id']}/report", {}),
    "funds": lambda c: ("/api/finance/reports/funds", {"campaign_id": c["id"], "by": "unit"}),
}


@blueprint.route("/exports/<name>.xlsx")
@requires(UNIT_OFFICER)
def export(name):
    if name not in EXPORTS:
        raise Problem(404, {"detail": _("没有这个导出。")})
    campaign = the_campaign()
    path, params = EXPORTS[name](campaign)
    return xlsx_download(path, f"{name}-{campaign['year']}.xlsx", params)
