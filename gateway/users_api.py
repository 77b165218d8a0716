"""/auth/users: the federation admin makes, lists, disables and enables users, resets passwords, changes roles.

Every change is audited in the log by the user's id and role and the acting admin's
user id: never a username, name or resident ID number; and in the gateway's audit trail
(`audit_entries`, in the change's own transaction: old and new role, scope and state).
"""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from servicekit.audit import actor_of
from servicekit.errors import CONFLICT, NOT_FOUND, Problem
from servicekit.identity import FEDERATION_ADMIN, Identity
from servicekit.paging import Listing

from . import accounts
from .auth_api import account_problems
from .guard import current_guard, require
from .models import User
from .schemas import PasswordIn, RoleIn, UserIn, UserOut, UserQuery

USERS = Listing(
    "Users",
    id=User.id,
    sorts={"username": User.username, "created_at": User.created_at},
    default_sort="username",
    filters={
        "role": User.role,
        "unit_id": User.unit_id,
        "grassroots_union_id": User.grassroots_union_id,
        "institution_id": User.institution_id,
        "employee_id": User.employee_id,
        "active": User.active,
    },
    ranges={"created_at": User.created_at},
    search=lambda q: User.username.contains(q.lower(), autoescape=True),
    search_help="the username",
    base=UserQuery,
)

blp = Blueprint(
    "users", __name__, url_prefix="/auth/users", description="The federation admin manages user accounts (账号管理)"
)
FORBIDDEN_ANSWER = {"description": "Only a federation admin manages accounts"}


@blp.route("", methods=["POST"])
@blp.arguments(UserIn)
@blp.response(201, UserOut)
@blp.alt_response(403, **FORBIDDEN_ANSWER)
@blp.alt_response(422, description="Bad username, password, role or scope (a resident ID number failing its checks)")
def create_user(body):
    """Make a user account; an employee's from their resident ID number, which is not kept."""
    guard = current_guard()
    admin = require(FEDERATION_ADMIN)
    with account_problems("The account cannot be made as given."), guard.transaction() as session:
        user = accounts.create_user(session, created_by=admin.subject, employee_key=guard.employee_key, **body)
        session.flush()
        accounts.record(session, "user created", user, None, actor_of(admin))
        by = _actor(session, admin)
    accounts.audit("user created", user, by=by)
    return user


@blp.route("", methods=["GET"])
@blp.arguments(USERS.query, location="query")
@blp.response(200, UserOut(many=True))
@blp.alt_response(403, **FORBIDDEN_ANSWER)
def list_users(query):
    """Users by username, filtered by role, scope or active, paged like every list."""
    guard = current_guard()
    require(FEDERATION_ADMIN)
    with guard.transaction() as session:
        users, headers = USERS.page(session, select(User), query)
        session.expunge_all()  # shown after the transaction
        return users, headers


def _on_a_user(method: str, path: str = "", schema=None, answers: dict[int, str] | None = None):
    """A route on one user (/auth/users/<user_id><path>) answering with the user, its refusals documented."""

    def decorate(view):
        for status, why in (answers or {}).items():
            view = blp.alt_response(status, description=why)(view)
        view = blp.alt_response(404, description="No such user")(blp.alt_response(403, **FORBIDDEN_ANSWER)(view))
        view = blp.response(200, UserOut)(view)
        if schema is not None:
            view = blp.arguments(schema)(view)
        return blp.route(f"/<user_id>{path}", methods=[method])(view)

    return decorate


@_on_a_user("GET")
def show_user(user_id):
    """One user."""
    guard = current_guard()
    require(FEDERATION_ADMIN)
    with guard.transaction() as session:
        return _user(session, user_id)


@_on_a_user("POST", "/disable", answers={409: "Admins cannot disable themselves"})
def disable_user(user_id):
    """Disable: no more logins, every refresh token revoked, access tokens already issued refused within
    GATEWAY_REVOCATION_REFRESH_SECONDS."""
    return _change(
        user_id,
        "user disabled",
        lambda session, user: accounts.set_active(session, user, False),
        own_refused="You cannot disable your own account.",
    )


@_on_a_user("POST", "/enable")
def enable_user(user_id):
    """Enable a disabled user again (they log in anew)."""
    return _change(user_id, "user enabled", lambda session, user: accounts.set_active(session, user, True))


@_on_a_user("PUT", "/password", PasswordIn, answers={422: "Password too short"})
def reset_password(body, user_id):
    """Set a new password; every refresh and access token of the user is revoked."""
    return _change(
        user_id, "password reset", lambda session, user: accounts.reset_password(session, user, body["password"])
    )


@_on_a_user(
    "PUT",
    "/role",
    RoleIn,
    answers={409: "Admins cannot change their own role", 422: "Role or scope as wrong as they would be at creation"},
)
def change_role(body, user_id):
    """Replace role and scope together, checked as at creation; the user's next refresh carries them and the
    access tokens with the old ones are refused."""
    employee_key = current_guard().employee_key
    return _change(
        user_id,
        "role changed",
        lambda session, user: accounts.change_role(session, user, employee_key=employee_key, **body),
        own_refused="You cannot change your own role.",
    )


def _change(user_id: str, action: str, change, own_refused: str | None = None) -> User:
    """Apply `change` to the locked user in one transaction, then audit it once committed."""
    guard = current_guard()
    admin = require(FEDERATION_ADMIN)
    with account_problems("The account cannot be changed as given."), guard.transaction() as session:
        user = _user(session, user_id, lock=True)
        if own_refused and user.username == admin.subject:
            raise Problem(CONFLICT, own_refused)  # no admin locks themself out
        before = accounts.user_state(user)
        change(session, user)
        accounts.record(session, action, user, before, actor_of(admin))
        by = _actor(session, admin)
    accounts.audit(action, user, by=by)
    return user


def _user(session, user_id: str, *, lock: bool = False) -> User:
    user = session.get(User, user_id, with_for_update=lock)
    if user is None:
        raise Problem(NOT_FOUND, "No user has this id.")
    return user


def _actor(session, admin: Identity) -> str:
    """The acting admin's user id for the audit line ("external": one of the external identity provider)."""
    actor = accounts.find_user(session, admin.subject)
    return actor.id if actor else "external"
