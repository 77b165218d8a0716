"""Employees' accounts without a clerk: the grassroots officer makes a one-time activation code for a nominee
(shown once, to print or hand over; the gateway also sends it by SMS), and the employee activates an account with
the resident ID number, the code and a password of their own; a forgotten password is set again the same way with
a new code from the union (never by the ID number alone)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from .. import gateway
from ..app import GRASSROOTS_OFFICER, requires
from ..forms import render_form
from ..gateway import Problem

blueprint = Blueprint("activation", __name__)


@blueprint.route("/nominations/<enrolment_id>/activation-code", methods=["POST"])
@requires(GRASSROOTS_OFFICER)
def code(enrolment_id):
    """A new code for the nominee: shown on this page only (it is not kept anywhere the portal could show it
    again); an earlier code stops working."""
    row = gateway.get(f"/api/enrollment/enrolments/{enrolment_id}")
    issued = gateway.post("/auth/activation-codes", {"enrolment_id": enrolment_id})
    return render_template("activation/code.html", row=row, issued=issued)


class ActivationForm(FlaskForm):
    resident_id = StringField(
        _l("身份证号"),
        validators=[DataRequired(_l("请填写身份证号")), Length(min=18, max=18, message=_l("身份证号应为 18 位"))],
    )
    code = StringField(_l("激活码"), validators=[DataRequired(_l("请填写激活码")), Length(max=40)])
    username = StringField(_l("用户名"), validators=[Optional(), Length(max=100)])
    password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请输入新密码")), Length(min=10, message=_l("至少 10 个字符"))]
    )
    repeat = PasswordField(_l("再次输入新密码"), validators=[EqualTo("password", _l("两次输入的新密码不一致"))])


@blueprint.route("/activate", methods=["GET", "POST"])
def activate():
    """No login: the gateway's public /auth/activation checks the code (single use, expiring, rate-limited)."""
    form = ActivationForm()
    if form.validate_on_submit():
        try:
            done = gateway.call(
                "POST",
                "/auth/activation",
                anonymous=True,
                json={
                    "resident_id": form.resident_id.data.strip().upper(),
                    "code": form.code.data,
                    "username": (form.username.data or "").strip() or None,
                    "password": form.password.data,
                },
            ).json()
        except Problem as error:
            if error.status >= 500 and error.status != 503:
                raise
            return render_form("activation/activate.html", form, error)
        flash(
            _("账号 %(username)s 已激活，请登录。", username=done["username"])
            if done["created"]
            else _("账号 %(username)s 的密码已重新设置，请用新密码登录。", username=done["username"]),
            "ok",
        )
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("activation/activate.html", form=form, form_error=None), status
