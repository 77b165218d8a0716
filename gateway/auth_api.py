"""/auth/*: log in, refresh, log out, who am I (users: users_api; machine clients: clients_api)."""

from __future__ import annotations

from contextlib import contextmanager

from flask import request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from servicekit.errors import VALIDATION_FAILED, Problem
from servicekit.i18n import _

from . import accounts
from .guard import caller, current_guard
from .incoming import client_address
from .schemas import IdentityOut, LoginIn, OwnPasswordIn, RefreshIn, TokenOut

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Log in and manage accounts (登录与账号)")


@blp.route("/token", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, TokenOut)
@blp.alt_response(401, description="Wrong username or password (the same answer for an unknown user)")
@blp.doc(security=[])
@blp.alt_response(
    429, description="Too many failed logins from this address, or for this username from it (Retry-After)"
)
def token(body):
    """Log in with a password: a short-lived access token and a refresh token."""
    guard = current_guard()
    address = client_address(
        request.remote_addr or "", request.headers.get("X-Forwarded-For"), guard.settings.trusted_proxies
    )
    return guard.login(body["username"], body["password"], address).as_json()


@blp.route("/refresh", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(200, TokenOut)
@blp.alt_response(401, description="Unknown, expired, revoked or already used refresh token")
@blp.doc(security=[])
def refresh(body):
    """A new token pair for a refresh token; each refresh token works once (reuse revokes the login)."""
    return current_guard().refresh(body["refresh_token"]).as_json()


@blp.route("/logout", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(204)
@blp.doc(security=[])
def logout(body):
    """Revoke the login the refresh token belongs to (its access tokens expire on their own)."""
    current_guard().logout(body["refresh_token"])


@blp.route("/me", methods=["GET"])
@blp.response(200, IdentityOut)
@blp.alt_response(401, description="No valid token")
def me():
    """The caller's identity, as the services will see it."""
    return caller()


@blp.route("/me/password", methods=["PUT"])
@blp.arguments(OwnPasswordIn)
@blp.response(204)
@blp.alt_response(401, description="No valid token")
@blp.alt_response(422, description="Not the current password, or the new one too short")
@blp.alt_response(429, description="Too many attempts for this username (Retry-After)")
def change_own_password(body):
    """Change one's own password, giving the current one; every login of the account is revoked (log in anew)."""
    guard, me = current_guard(), caller()
    with account_problems("The password cannot be changed as given."):
        user_id = guard.change_own_password(me.subject, body["current_password"], body["password"])
    accounts.audit_log.info("password changed", extra={"user_id": user_id, "by_user_id": user_id})


@contextmanager
def account_problems(detail: str):
    """Input an account cannot take, as a 422 problem naming the fields."""
    try:
        yield
    except accounts.AccountError as exc:
        raise Problem(VALIDATION_FAILED, detail, errors=exc.errors) from None
    except IntegrityError:  # a racing duplicate, caught by the unique username
        raise Problem(VALIDATION_FAILED, detail, errors={"username": _("already taken")}) from None
