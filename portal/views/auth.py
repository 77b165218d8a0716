"""Login (the gateway's rate-limit and lockout messages shown as it words them, in Chinese), logout (revokes the
login at the gateway), the person's account, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .. import gateway
from ..app import requires, role_names
from ..forms import render_form
from ..gateway import Problem
from ..i18n import LANGUAGES

blueprint = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码"))])
    password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请输入新密码")), Length(min=10, message=_l("至少 10 个字符"))]
    )
    repeat = PasswordField(_l("再次输入新密码"), validators=[EqualTo("password", _l("两次输入的新密码不一致"))])


def safe_next(target: str | None) -> str:
    """Only a path of this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            gateway.login(form.username.data.strip(), form.password.data)
        except Problem as error:
            if error.status == 401:
                error.detail = _("用户名或密码不正确。")
            return render_form("login.html", form, error)
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", form=form, form_error=None)


@blueprint.route("/logout", methods=["POST"])
def logout():
    gateway.logout()
    return redirect(url_for("auth.login"))


@blueprint.route("/account", methods=["GET", "POST"])
@requires()
def account():
    form = PasswordForm()
    done = False
    if form.validate_on_submit():
        try:
            gateway.call(
                "PUT",
                "/auth/me/password",
                json={"current_password": form.current_password.data, "password": form.password.data},
            )
        except Problem as error:
            return render_form("account.html", form, error, roles=role_names())
        gateway.logout()  # the gateway revoked every login of the account: log in with the new password
        return redirect(url_for("auth.login", changed=1))
    return render_template("account.html", form=form, form_error=None, done=done)


@blueprint.route("/language", methods=["POST"])
def language():
    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")))
