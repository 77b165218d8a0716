"""The portal's Flask application: sessions, CSRF, languages, the pages of each role, and errors as pages.

Every failure is a page in the person's language, never a stack trace: a problem of the gateway shows its
message (field errors next to the fields, in the forms' own templates), 503 says 稍后再试 with the time to wait,
anything unexpected is logged (without personal data) and shown as a plain apology.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from . import gateway
from .config import Settings
from .gateway import LoginRequired, Problem
from .i18n import LANGUAGES, current_language, init_babel
from .sessions import FileSessions

log = logging.getLogger("portal")

FEDERATION_ADMIN, AUDITOR = "federation_admin", "auditor"
UNIT_OFFICER, GRASSROOTS_OFFICER = "unit_officer", "grassroots_officer"
INSTITUTION_OPERATOR, EMPLOYEE = "institution_operator", "employee"
FEDERATION = (FEDERATION_ADMIN, AUDITOR)
CHINA = ZoneInfo("Asia/Shanghai")


def role_names() -> dict[str, str]:
    return {
        FEDERATION_ADMIN: _("市总工会管理员"),
        AUDITOR: _("审计人员"),
        UNIT_OFFICER: _("一级单位经办人"),
        GRASSROOTS_OFFICER: _("基层工会经办人"),
        INSTITUTION_OPERATOR: _("培训机构经办人"),
        EMPLOYEE: _("职工"),
    }


def navigation(role: str) -> list[tuple[str, str]]:
    """(endpoint, label) of the menu of a role."""
    home = [("home.index", _("工作台"))]
    if role in FEDERATION:
        items = [
            ("oversight.dashboard", _("数据看板")),
            ("federation.campaigns", _("计划管理")),
            ("federation.units", _("单位管理")),
            ("federation.allocation", _("指标分配")),
            ("federation.transfers", _("专款拨付")),
            ("federation.reviews", _("推荐审核")),
            ("oversight.institutions", _("培训机构")),
            ("oversight.programmes", _("培训项目")),
            ("inspections.overview", _("检查与通报")),
            ("survey_results.results", _("满意度调查结果")),
            ("federation.calendar", _("工作日历")),
            ("oversight.audit", _("审计日志")),
            ("federation.operations", _("运行监控")),
            ("oversight.clients", _("接口客户端")),
        ]
        if role == FEDERATION_ADMIN:
            items += [("federation.users", _("用户管理"))]
        return home + items
    if role == UNIT_OFFICER:
        return home + [
            ("officers.unit_allocation", _("本单位指标")),
            ("officers.unit_unions", _("基层工会")),
            ("officers.unit_lists", _("推荐名单")),
            ("officers.results", _("成绩与证书")),
            ("unit_money.money", _("报销与政策")),
        ]
    if role == GRASSROOTS_OFFICER:
        return home + [
            ("officers.nominations", _("人选推荐")),
            ("officers.notice", _("公示与异议")),
            ("officers.studies", _("职工学习情况")),
            ("officers.results", _("成绩与证书")),
        ]
    if role == INSTITUTION_OPERATOR:
        return home + [
            ("institution.programmes", _("培训项目")),
            ("institution.students", _("学员报名")),
            ("institution.classes", _("开班与花名册")),
            ("institution.records", _("评分与通报")),
            ("survey_results.results", _("满意度调查结果")),
            ("institution.imports", _("批量导入")),
            ("institution.it", _("接口对接")),
        ]
    if role == EMPLOYEE:
        return home + [
            ("employee.studies", _("我的学习")),
            ("employee.classes", _("我的班级")),
            ("employee.surveys", _("满意度调查")),
            ("employee.data", _("我的个人信息")),
            ("public.verify", _("证书查验")),
        ]
    return home


def public_navigation() -> list[tuple[str, str]]:
    """The menu of a visitor without a login: the public pages."""
    return [
        ("auth.login", _("登录")),
        ("activation.activate", _("账号激活")),
        ("public.about", _("计划介绍")),
        ("public.verify", _("证书查验")),
    ]


def me() -> dict:
    return session.get("identity") or {}


def requires(*roles: str):
    """A page for these roles only (anyone logged in when none are given)."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not session.get("identity"):
                raise LoginRequired
            if roles and me().get("role") not in roles:
                return render_template("error.html", status=403, message=_("您的角色无权查看此页面。")), 403
            return view(*args, **kwargs)

        return guarded

    return decorate


def china_time(value: str | None) -> str:
    """An API's ISO 8601 instant as Guangzhou's wall-clock time, to the minute ("" when none)."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(value)


def weekday(value: str | None) -> str:
    """An ISO day's weekday in the user's language (周六): lessons are often at weekends."""
    try:
        index = datetime.fromisoformat(str(value)).weekday()
    except (TypeError, ValueError):
        return ""
    return (_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日"))[index]


def can_write() -> bool:
    """Write controls are rendered for the federation admin only on federation pages (the auditor reads)."""
    return me().get("role") == FEDERATION_ADMIN


CAMPAIGNS_KEPT_SECONDS = 30  # the header's switcher: campaigns change seldom, pages are many


def campaigns() -> list[dict]:
    """The campaigns of the header's switcher, kept in the session for a short while (forget_campaigns() after a
    change), so a page costs no extra call to the gateway for them."""
    if "campaigns" not in g:
        kept = session.get("campaigns_kept")
        if kept and time.time() - kept["at"] < CAMPAIGNS_KEPT_SECONDS:
            g.campaigns = kept["list"]
        else:
            try:
                g.campaigns = gateway.every("/api/quota/campaigns")  # one or two a year: read whole
                session["campaigns_kept"] = {"at": time.time(), "list": g.campaigns}
            except Problem:
                g.campaigns = []
    return g.campaigns


def first_page_args(key: str = "cursor") -> dict:
    """The request's query without its cursor `key`: the first page of the same list (the pager's link)."""
    return {k: v for k, v in request.args.items() if k != key}


def forget_campaigns() -> None:
    session.pop("campaigns_kept", None)
    g.pop("campaigns", None)


def current_campaign() -> dict | None:
    """The campaign chosen in the header's switcher (by default the latest published one)."""
    listed = campaigns()
    chosen = session.get("campaign_id")
    for campaign in listed:
        if campaign["id"] == chosen:
            return campaign
    published = [c for c in listed if c["status"] == "published"]
    today = datetime.now(CHINA).date().isoformat()
    running = [
        c
        for c in published
        if (c.get("windows") or {}).get("registration_start", "9999") <= today <= c["windows"].get("study_end", "")
    ]
    return (running or published or listed or [None])[0]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("portal", static_folder="static", template_folder="templates")
    app.config.update(
        PORTAL=settings,
        SECRET_KEY=settings.secret_key,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,  # an .xlsx upload
        SEND_FILE_MAX_AGE_DEFAULT=86400,
    )

    app.session_interface = FileSessions(settings.session_dir, settings.session_hours * 3600, settings.secure_cookies)
    CSRFProtect(app)
    init_babel(app)

    from .views import (
        activation,
        auth,
        closeout,
        employee,
        federation,
        home,
        inspections,
        institution,
        officers,
        oversight,
        public,
        survey_results,
        unit_money,
    )

    for module in (
        auth,
        home,
        federation,
        officers,
        oversight,
        inspections,
        closeout,
        unit_money,
        institution,
        public,
        employee,
        activation,
        survey_results,
    ):
        app.register_blueprint(module.blueprint)

    app.jinja_env.filters["china_time"] = china_time
    app.jinja_env.filters["weekday"] = weekday
    # a global, not a context value: the pager macro is imported without the template's context
    app.jinja_env.globals["first_page_args"] = first_page_args

    @app.context_processor
    def shell():
        identity = me()
        role = identity.get("role", "")
        return {
            "identity": identity,
            "username": session.get("username", ""),
            "role": role,
            "role_name": role_names().get(role, role),
            "role_names": role_names(),
            "nav": navigation(role) if identity else public_navigation(),
            "campaigns": campaigns if identity else list,
            "current_campaign": current_campaign if identity else (lambda: None),
            "can_write": can_write(),
            "language": current_language(),
            "languages": LANGUAGES,
        }

    @app.after_request
    def headers(response):
        # Nothing from elsewhere: every script, style and image is the portal's own.
        # The one exception: the survey's anonymous answer goes from the browser to the gateway itself.
        gateway_origin = "{0.scheme}://{0.netloc}".format(urlsplit(app.config["PORTAL"].browser_gateway_url))
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
            f"connect-src 'self' {gateway_origin}",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz")
    def healthz():
        """Alive (the gateway's own readiness is the gateway's /readyz)."""
        return {"status": "ok"}

    @app.errorhandler(LoginRequired)
    def login_required(_error):
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.headers.get("HX-Request"):
            response = app.make_response(("", 204))
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)

    @app.errorhandler(Problem)
    def problem(error: Problem):
        return problem_page(error), error.status if error.status >= 400 else 502

    @app.errorhandler(CSRFError)
    def csrf(_error):
        return render_template("error.html", status=400, message=_("页面已过期，请返回后刷新页面再试。")), 400

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("error.html", status=404, message=_("没有这个页面。")), 404

    @app.errorhandler(Exception)
    def unexpected(error):
        code = getattr(error, "code", None)
        if isinstance(code, int) and 400 <= code < 500:
            return render_template("error.html", status=code, message=_("请求有误。")), code
        log.exception("page failed", extra={"path": request.path})
        return render_template("error.html", status=500, message=_("系统出现问题，请稍后再试。")), 500

    return app


def problem_page(error: Problem):
    """A problem of the gateway as a page (forms show theirs inline instead)."""
    return render_template("error.html", status=error.status, problem=error, message=problem_message(error))


def problem_message(error: Problem) -> str:
    if error.status == 503 or error.status == 502 or error.status == 504:
        return _("系统繁忙，请稍后再试（约 %(seconds)s 秒后）。", seconds=error.retry_after or 30)
    if error.status == 429:
        return _("操作过于频繁，请 %(seconds)s 秒后再试。", seconds=error.retry_after or 60)
    if error.status == 403:
        return error.detail or _("您无权进行此操作。")
    if error.status == 404:
        return error.detail or _("没有找到。")
    return error.detail or _("操作未能完成。")
